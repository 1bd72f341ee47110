// The user's flow: `alpha-spin train --config run.json` on a Hugging Face model folder and an
// UltraChat-format JSONL file gives T iterates, metrics, exports and an event log on disk;
// `alpha-spin generate` samples with an iterate's adapter; argument and config mistakes are
// reported clearly.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { assert, test } from "./harness.ts";
import { main } from "../cli/main.ts";
import { generateCommand } from "../cli/generate.ts";
import { trainCommand } from "../cli/train.ts";
import { readSpinJsonl, readTrlDpoJsonl } from "../data/export.ts";
import { setupFixture, smallConfig, ultrachatRows } from "./selfplay.support.ts";

const fixture = await setupFixture();
// deno-lint-ignore no-explicit-any
const lines = async (path: string): Promise<any[]> =>
  (await readFile(path, "utf8")).split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));

/** Run `fn` with console.log / console.error captured. */
const captured = async (fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> => {
  const [log, error] = [console.log, console.error];
  let out = "", err = "";
  console.log = (...a: unknown[]) => void (out += a.join(" ") + "\n");
  console.error = (...a: unknown[]) => void (err += a.join(" ") + "\n");
  try {
    return { code: await fn(), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
};

test("alpha-spin train --config run.json: T iterates with adapters, metrics, TRL DPO and SPIN exports, an event log", async () => {
  const config = smallConfig(fixture, { name: "cli", iterations: 2 });
  const configPath = join(fixture.dir, "run.json");
  await writeFile(configPath, JSON.stringify(config, null, 2));
  const { code } = await captured(() => main(["train", "--config", configPath, "--quiet", "--backend", "cpu"]));
  assert.equal(code, 0);
  const runDir = String(config.outputDir);
  for (const t of [1, 2]) {
    const dir = join(runDir, `iter-${t}`);
    const files = await readdir(dir);
    for (const f of ["COMPLETE.json", "adapter", "metrics.jsonl", "pairs.dpo.jsonl", "pairs.spin.jsonl", "generations.jsonl", "window.json"]) {
      assert.ok(files.includes(f), `iter-${t}/${f}`);
    }
    const dpo = await readTrlDpoJsonl(join(dir, "pairs.dpo.jsonl"));
    assert.deepEqual(dpo.map((r) => r.chosen), ultrachatRows.map((r) => r.messages[1].content));
    assert.ok(dpo.every((r) => r.refChosenLogp !== null && r.refRejectedLogp !== null));
    assert.equal((await readSpinJsonl(join(dir, "pairs.spin.jsonl"))).length, ultrachatRows.length);
  }
  const metrics = await lines(join(runDir, "metrics.jsonl"));
  assert.equal(metrics.length, 8);
  const events = await lines(join(runDir, "events.jsonl"));
  assert.equal(events[0].type, "run-start");
  assert.equal(events.filter((e) => e.type === "metrics").length, 8);
  assert.equal(events[events.length - 1].type, "run-complete");
  // --resume on the finished run: nothing left to do.
  assert.equal((await captured(() => main(["train", "--config", configPath, "--resume", "--quiet", "--backend", "cpu"]))).code, 0);

  // alpha-spin generate with the second iterate's adapter.
  const prompts = join(fixture.dir, "prompts.jsonl");
  await writeFile(prompts, [JSON.stringify({ prompt: "1+1=" }), JSON.stringify(ultrachatRows[2])].join("\n") + "\n");
  const out = join(fixture.dir, "samples.jsonl");
  const gen = await captured(() =>
    generateCommand([
      "--model", fixture.modelDir, "--adapter", join(runDir, "iter-2", "adapter"), "--data", prompts, "--out", out,
      "--max-new-tokens", "5", "--seed", "3", "--backend", "cpu", "--quiet",
    ])
  );
  assert.equal(gen.code, 0);
  const samples = await lines(out);
  assert.deepEqual(samples.map((s) => s.index), [0, 1]);
  assert.equal(samples[1].prompt_id, "p3");
  assert.ok(samples.every((s) => typeof s.completion === "string" && s.tokens >= 1 && s.tokens <= 5));
});

test("train: --help, a missing --config, a bad backend, a missing or invalid config file, config errors by path", async () => {
  const help = await captured(() => trainCommand(["--help"]));
  assert.equal(help.code, 0);
  assert.match(help.out, /--config <file>/);
  assert.match(help.out, /--resume/);
  const missing = await captured(() => trainCommand([]));
  assert.equal(missing.code, 2);
  assert.match(missing.err, /missing --config/);
  const backend = await captured(() => trainCommand(["--config", "x.json", "--backend", "tpu"]));
  assert.equal(backend.code, 2);
  assert.match(backend.err, /--backend must be one of/);
  await assert.rejects(trainCommand(["--config", join(fixture.dir, "none.json")]), /config file .*none\.json does not exist/);
  const bad = join(fixture.dir, "bad.json");
  await writeFile(bad, "{ name: 1 ");
  await assert.rejects(trainCommand(["--config", bad]), /bad\.json is not valid JSON/);
  await writeFile(bad, JSON.stringify({ ...smallConfig(fixture, { name: "bad" }), alpha: 2, h: 0 }));
  await assert.rejects(trainCommand(["--config", bad, "--quiet"]), (e: Error) => {
    assert.match(e.message, /alpha: must be in \[0, 1\] \(got 2\)/);
    assert.match(e.message, /h: must be an integer >= 1/);
    return true;
  });
  // Through main: the error is printed with the command's name and the exit code is 1.
  const viaMain = await captured(() => main(["train", "--config", bad, "--quiet"]));
  assert.equal(viaMain.code, 1);
  assert.match(viaMain.err, /alpha-spin train: invalid run config/);
});

test("generate: bad rows are reported with file:line and field; bad numbers are usage errors", async () => {
  const prompts = join(fixture.dir, "bad-prompts.jsonl");
  await writeFile(prompts, [JSON.stringify({ prompt: "ok" }), JSON.stringify({ text: "no prompt" })].join("\n") + "\n");
  await assert.rejects(
    generateCommand(["--model", fixture.modelDir, "--data", prompts, "--out", join(fixture.dir, "x.jsonl"), "--backend", "cpu", "--quiet"]),
    /bad-prompts\.jsonl:2: missing field "prompt"/,
  );
  const usage = await captured(() => generateCommand(["--model", "m", "--data", "d", "--out", "o", "--max-new-tokens", "0"]));
  assert.equal(usage.code, 2);
  assert.match(usage.err, /--max-new-tokens must be an integer >= 1 \(got 0\)/);
});

test("cleanup", async () => {
  await fixture.cleanup();
});
