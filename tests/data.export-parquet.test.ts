// data/export.ts, the parts for an external trainer: the α-mixed reference log-probs of the TRL DPO
// export, and the Parquet copy of its rows, read back by the project's own Parquet reader
// (data/parquet.ts) column by column and record by record.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, test } from "./harness.ts";
import { DataError } from "../data/jsonl.ts";
import { readParquetRows } from "../data/parquet.ts";
import {
  alphaMixedLogp,
  type PreferenceRecord,
  readTrlDpoJsonl,
  readTrlDpoParquet,
  withAlphaMixedReference,
  writeTrlDpoJsonl,
  writeTrlDpoParquet,
} from "../data/export.ts";

const withDir = async (fn: (dir: string) => Promise<void>): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), "alpha-spin-export-parquet-"));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

const record = (i: number, over: Partial<PreferenceRecord> = {}): PreferenceRecord => ({
  id: `p${i}`,
  prompt: `<|user|>Question ${i}?\n<|assistant|>`,
  promptMessages: null,
  chosen: i === 1 ? 'Quote " and tab\t, 你好 — ok\nsecond line' : `Answer ${i}.`,
  rejected: i === 2 ? "" : `Opponent ${i}.`,
  refChosenLogp: -3.25 - i / 7,
  refRejectedLogp: -17.5 - i * 1e-9,
  ...over,
});

test("alphaMixedLogp is the log of the unnormalized geometric mixture, summed over tokens", () => {
  // Per-token probabilities of one completion under π_prev and π_base.
  const prev = [0.5, 0.125, 0.9], base = [0.25, 0.5, 0.3];
  for (const alpha of [0, 0.3, 0.5, 0.8, 1]) {
    // Independent: the mixture's unnormalized probability, token by token, in Float64.
    const direct = Math.log(prev.reduce((acc, p, k) => acc * p ** alpha * base[k] ** (1 - alpha), 1));
    const lpPrev = prev.reduce((a, p) => a + Math.log(p), 0),
      lpBase = base.reduce((a, p) => a + Math.log(p), 0);
    const got = alphaMixedLogp(alpha, lpPrev, lpBase);
    assert.ok(Math.abs(got - direct) < 1e-12, `α = ${alpha}: ${got} vs ${direct}`);
  }
  assert.equal(alphaMixedLogp(1, -1.1, -7), -1.1); // exact endpoints (SPIN)
  assert.equal(alphaMixedLogp(0, -1.1, -7), -7);
  assert.throws(() => alphaMixedLogp(1.5, -1, -2), /alpha must be in \[0, 1\], got 1.5/);
  assert.throws(() => alphaMixedLogp(0.5, -Infinity, -2), /must be finite/);
});

test("withAlphaMixedReference sets TRL's ref_chosen_logps / ref_rejected_logps from lp_prev and lp_base", () => {
  const r = withAlphaMixedReference(record(3, { refChosenLogp: null, refRejectedLogp: null }), 0.25, {
    lpPrevChosen: -4,
    lpBaseChosen: -8,
    lpPrevRejected: -12,
    lpBaseRejected: -20,
  });
  assert.equal(r.refChosenLogp, 0.25 * -4 + 0.75 * -8);
  assert.equal(r.refRejectedLogp, 0.25 * -12 + 0.75 * -20);
  assert.equal(r.chosen, "Answer 3.");
});

test("Parquet export: TRL's columns, typed, read back exactly by data/parquet.ts", async () => {
  await withDir(async (dir) => {
    const records = [record(1), record(2), record(3, { id: null })];
    const path = join(dir, "pairs.dpo.parquet");
    await writeTrlDpoParquet(path, records);
    assert.equal(readFileSync(path).subarray(0, 4).toString(), "PAR1");
    const rows = await readParquetRows(path);
    assert.deepEqual(Object.keys(rows[0].value), [
      "prompt_id",
      "prompt",
      "chosen",
      "rejected",
      "ref_chosen_logps",
      "ref_rejected_logps",
    ]);
    assert.deepEqual(rows.map((r) => r.value.prompt_id), ["p1", "p2", null]);
    assert.equal(rows[0].value.chosen, records[0].chosen);
    assert.equal(rows[1].value.rejected, "");
    // DOUBLE columns: the exact float64 values, not rounded to float32.
    assert.deepEqual(rows.map((r) => r.value.ref_chosen_logps), records.map((r) => r.refChosenLogp));
    assert.deepEqual(rows.map((r) => r.value.ref_rejected_logps), records.map((r) => r.refRejectedLogp));
    // Record round trip, and the same records as the JSONL export gives.
    const back = await readTrlDpoParquet(path);
    assert.deepEqual(back, records);
    await writeTrlDpoJsonl(join(dir, "pairs.dpo.jsonl"), records);
    assert.deepEqual(await readTrlDpoJsonl(join(dir, "pairs.dpo.jsonl")), back);
  });
});

test("Parquet export without ids or log-probs leaves those columns out", async () => {
  await withDir(async (dir) => {
    const records = [1, 2].map((i) => record(i, { id: null, refChosenLogp: null, refRejectedLogp: null }));
    const path = join(dir, "plain.parquet");
    await writeTrlDpoParquet(path, records);
    const rows = await readParquetRows(path);
    assert.deepEqual(Object.keys(rows[0].value), ["prompt", "chosen", "rejected"]);
    assert.deepEqual(await readTrlDpoParquet(path), records);
  });
});

test("Parquet export refuses a log-prob set on some records only, or not finite, before writing", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "bad.parquet");
    const mixed = [record(1), record(2, { refRejectedLogp: null })];
    await assert.rejects(() => writeTrlDpoParquet(path, mixed), (e: unknown) => {
      assert.ok(e instanceof DataError);
      assert.match(
        e.message,
        /bad\.parquet record 2: field "ref_rejected_logps" is missing here but set at record 1/,
      );
      return true;
    });
    await assert.rejects(
      () => writeTrlDpoParquet(path, [record(1, { refChosenLogp: NaN })]),
      /record 1: field "ref_chosen_logps" must be finite \(got NaN\)/,
    );
    await assert.rejects(() => writeTrlDpoParquet(path, []), /no records to write/);
    assert.equal(existsSync(path), false);
  });
});
