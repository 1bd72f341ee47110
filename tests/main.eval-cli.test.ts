/**
 * `alpha-spin eval` reaches every metric: synthetic (default), nll, exact-match (last number or a
 * regex, GSM8K references cut after ####) and mc, on the embedded model, printing JSON with --json;
 * bad options exit with code 2 and bad data with code 1 (the row named).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, test } from "./harness.ts";
import { evalCommand } from "../cli/eval.ts";

/** Run the command with console.log / console.error captured. */
const capture = async (args: string[]): Promise<{ code: number; out: string; err: string }> => {
  const log = console.log, error = console.error;
  let out = "", err = "";
  console.log = (...xs: unknown[]) => (out += xs.join(" ") + "\n");
  console.error = (...xs: unknown[]) => (err += xs.join(" ") + "\n");
  try {
    return { code: await evalCommand(args), out, err };
  } finally {
    console.log = log, console.error = error;
  }
};

const dir = await mkdtemp(join(tmpdir(), "alpha-spin-eval-"));
const file = async (name: string, rows: readonly unknown[]): Promise<string> => {
  const path = join(dir, name);
  await writeFile(path, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return path;
};
const base = ["--model", "embedded", "--backend", "wasm", "--json"];

test("eval: options are checked before any work", async () => {
  assert.equal((await capture(["--task", "nope"])).code, 2);
  assert.equal((await capture(["--task", "mc", "--regex", "("])).code, 2);
  const missing = await capture([...base, "--task", "mc"]);
  assert.equal(missing.code, 2);
  assert.ok(missing.err.includes("--task mc needs --data"), missing.err);
});

test("eval: every task prints its metrics as JSON", async () => {
  try {
    const synthetic = JSON.parse((await capture([...base, "--data", await file("s.jsonl", [
      { prompt: "cap peru\n", completion: "lima" },
      { prompt: "cap peru\n", completion: "it is lima" },
      { prompt: "up abc\n", completion: "ABC" },
    ])])).out);
    assert.equal(synthetic.task, "synthetic");
    assert.equal(synthetic.prompts, 2, "the file's distinct prompts");
    assert.ok(synthetic.kl > 0 && synthetic.exactMatch >= 0 && synthetic.exactMatch <= 1);

    const nll = JSON.parse((await capture([...base, "--task", "nll", "--data", await file("n.jsonl", [
      { prompt: "add 3 4\n", completion: "= 7" },
    ])])).out);
    assert.equal(nll.tokens, 4, "three bytes and the EOS");
    assert.ok(nll.nllPerToken > 0 && Math.abs(nll.perplexity - Math.exp(nll.nllPerToken)) < 1e-9);

    const emPath = await file("e.jsonl", [
      { question: "up abc\n", answer: "reasoning...\n#### 12" },
      { prompt: "cap peru\n", answer: "lima" },
    ]);
    const em = JSON.parse((await capture([...base, "--task", "exact-match", "--data", emPath, "--max-new-tokens", "12"])).out);
    assert.equal(em.n, 2);
    assert.equal(em.accuracy, 0, "no number in either answer of the model");
    const rx = JSON.parse((await capture([...base, "--task", "exact-match", "--data", emPath, "--regex", "(\\w+)$"])).out);
    assert.equal(rx.samples[1].correct, rx.samples[1].generated.endsWith("lima"));

    const mc = JSON.parse((await capture([...base, "--task", "mc", "--data", await file("m.jsonl", [
      { context: "cap peru\n", choices: ["lima", "oslo"], label: 0 },
      { context: "up abc\n", choices: ["ABC", "abc"], label: "ABC" },
    ])])).out);
    assert.equal(mc.n, 2);
    assert.ok([0, 0.5, 1].includes(mc.acc) && [0, 0.5, 1].includes(mc.accNorm));

    const bad = await capture([...base, "--task", "mc", "--data", await file("bad.jsonl", [{ context: "x", choices: [], label: 0 }])]);
    assert.equal(bad.code, 1);
    assert.ok(/bad\.jsonl:1/.test(bad.err), bad.err);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, { timeout: 120_000 });
