// The stored baselines of the report (eval/report-baselines.ts) are docs/results.md's numbers: the
// synthetic sequence task's table is parsed here and compared, so the two cannot drift apart; and
// a stored baseline is drawn only when the run lacks the real one.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { assert, test } from "./harness.ts";
import { storedBaselinesFor, storedSequenceResults } from "../eval/report-baselines.ts";
import type { ReportVariant } from "../eval/report-types.ts";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");

/** docs/results.md's sequence table: variant → its cells (the mean before " ± "), by column header. */
const resultsTable = (): Map<string, Record<string, string>> => {
  const text = readFileSync(join(root, "docs", "results.md"), "utf8");
  const lines = text.split("\n");
  const head = lines.findIndex((l) => l.startsWith("| variant | KL t=0 |"));
  assert.ok(head >= 0, "docs/results.md has the sequence table");
  const columns = lines[head].split("|").slice(1, -1).map((c) => c.trim());
  const rows = new Map<string, Record<string, string>>();
  for (const line of lines.slice(head + 2)) {
    if (!line.startsWith("|")) break;
    const cells = line.split("|").slice(1, -1).map((c) => c.trim().split(" ± ")[0]);
    rows.set(cells[0], Object.fromEntries(columns.map((c, i) => [c, cells[i]])));
  }
  return rows;
};

test("stored SPIN α = 1 and continued-SFT figures are docs/results.md's", () => {
  const table = resultsTable();
  for (const r of [storedSequenceResults.spin, storedSequenceResults.sft]) {
    const row = table.get(r.row);
    assert.ok(row !== undefined, `docs/results.md has a row "${r.row}"`);
    assert.deepEqual(r.kl, [0, 1, 2, 3].map((t) => Number(row[`KL t=${t}`])), `${r.row}: KL`);
    assert.equal(r.exactMatch, Number(row["exact match t=3"]), `${r.row}: exact match`);
    assert.equal(r.heldOutNll, Number(row["held-out NLL t=3"]), `${r.row}: NLL`);
    const acc = row["reward acc t=3"];
    assert.equal(r.rewardAccuracy, acc === "—" ? null : Number(acc), `${r.row}: reward accuracy`);
  }
});

const variant = (name: string, settings: Record<string, number | string>): ReportVariant => ({ name, settings, iterations: [], steps: [] });

test("a stored baseline is drawn only when the run does not have the real one", () => {
  const names = (vs: ReportVariant[]) => storedBaselinesFor(vs).map((b) => b.name.split(" (")[0]);
  assert.deepEqual(names([variant("default", { alpha: 0.9, h: 1, beta: 1 })]), ["SPIN α = 1", "continued SFT"]);
  assert.deepEqual(names([variant("alpha=1", { alpha: 1, h: 1, beta: 1 })]), ["continued SFT"]);
  assert.deepEqual(names([variant("h=2:alpha=1", { alpha: 1, h: 2, beta: 1 })]), ["SPIN α = 1", "continued SFT"], "h = 2 is not vanilla SPIN");
  assert.deepEqual(names([variant("h=1:alpha=1", { alpha: 1, h: 1, beta: 1 }), variant("SFT baseline", {})]), []);
  const [spin] = storedBaselinesFor([variant("default", { alpha: 0.9, h: 1 })]);
  assert.deepEqual(spin.points.kl, [[0, 1.098], [1, 0.8174], [2, 0.7697], [3, 0.7710]]);
  assert.deepEqual(spin.points.rewardAccuracy, [[3, 0.5191]]);
  assert.equal(storedBaselinesFor([variant("default", { alpha: 0.9 })])[1].points.rewardAccuracy, undefined, "SFT has no rewards");
});
