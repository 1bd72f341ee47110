// generation.sampler "gflownet" in the loop (selfplay/gflownet-sampler.ts) on the tiny fixture model:
// a 2-iteration run fits no sampler at t = 1 (the mixture is π_base) and one at t = 2, stores it
// with its record, and draws the losers from it — the rows equal an independent redraw from the
// stored adapter with the same stream, and differ from π_base's draws; a run killed during the fit
// (event handler, AbortSignal, SIGKILL of a child process) or after it resumes to the uninterrupted run's generations,
// adapters and metrics, and a finished fit is not run again.
// An explicit generation.sampler "resample" runs exactly what geometricSampling.enabled ran.
import * as tf from "@tensorflow/tfjs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { assert, test } from "./harness.ts";
import { runChildUntilKilled } from "./selfplay.child-kill.ts";
import { forkRng, rngFromSeed } from "../core/rng.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { folderFingerprint } from "../selfplay/fingerprint.ts";
import type { GenerationRow } from "../selfplay/generation.ts";
import type { GFlowNetFitRecord } from "../selfplay/gflownet-sampler.ts";
import { runSelfPlay } from "../selfplay/loop.ts";
import { prepareRun } from "../selfplay/setup.ts";
import type { SelfPlayEvent } from "../selfplay/events.ts";
import { loadIterateSnapshot, policyFromSnapshot } from "../train/params.ts";
import { setupFixture, smallConfig } from "./selfplay.support.ts";

const fixture = await setupFixture();
const gflownet = { steps: 4, batchSize: 4, lr: 0.05, lora: { r: 2, alpha: 4 } };
const configFor = (name: string): Record<string, unknown> =>
  smallConfig(fixture, { name, alpha: 0.5, generation: { maxNewTokens: 6, batchSize: 2, sampler: "gflownet", gflownet } });

// deno-lint-ignore no-explicit-any
const readJson = async (path: string): Promise<any> => JSON.parse(await readFile(path, "utf8"));
const readRows = async (path: string): Promise<GenerationRow[]> =>
  (await readFile(path, "utf8")).split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));

const outcome = async (runDir: string): Promise<Record<string, string>> => {
  const files = ["metrics.jsonl", "iter-1/generations.jsonl", "iter-2/generations.jsonl", "iter-2/adapter/adapter_model.safetensors",
    "iter-2/sampler/iter-1/adapter_model.safetensors"];
  return Object.fromEntries(await Promise.all(files.map(async (f) => [f, Buffer.from(await readFile(join(runDir, f))).toString("base64")])));
};

const baselineEvents: SelfPlayEvent[] = [];
const baseline = await runSelfPlay({ config: configFor("baseline"), onEvent: (e) => void baselineEvents.push(e) });
const expected = await outcome(baseline.runDir);

test("t = 1 fits nothing (the mixture is π_base); t = 2 fits q_θ, stores it with its record, and its fingerprint is in the rows", async () => {
  const key = "gflownet(alpha=0.5,steps=4,batch=4,lr=0.05,lambda=1,temperature=1.5,replay=0.5x32,lora=2/4)";
  const first = await readRows(join(baseline.runDir, "iter-1", "generations.jsonl"));
  assert.ok(first.every((r) => r.sampler === key && r.iterateId === "base" && r.samplerFingerprint === undefined));
  const fits = baselineEvents.filter((e) => e.type === "phase-start" && e.phase === "sampler");
  assert.deepEqual(fits.map((e) => (e.type === "phase-start" ? e.iteration : 0)), [2], "one fit, at iteration 2");
  const dir = join(baseline.runDir, "iter-2", "sampler", "iter-1");
  const record: GFlowNetFitRecord = await readJson(join(baseline.runDir, "iter-2", "sampler", "iter-1.fit.json"));
  assert.equal(record.losses.length, 4);
  assert.ok(record.losses.every(Number.isFinite));
  assert.equal(record.alpha, 0.5);
  assert.equal(record.fingerprint, await folderFingerprint(dir));
  const second = await readRows(join(baseline.runDir, "iter-2", "generations.jsonl"));
  assert.equal(second.length, 4);
  assert.ok(second.every((r) => r.sampler === key && r.iterateId === "iter-1" && r.samplerFingerprint === record.fingerprint));
  assert.ok((await readJson(join(baseline.runDir, "iter-2", "COMPLETE.json"))).files.includes("sampler"));
  assert.ok(!(await readJson(join(baseline.runDir, "iter-1", "COMPLETE.json"))).files.includes("sampler"));
  const progress = baselineEvents.filter((e) => e.type === "progress" && e.phase === "sampler");
  assert.deepEqual(progress.map((e) => e.type === "progress" ? e.done : 0), [1, 2, 3, 4]);
});

test("the losers of t = 2 are the stored sampler's draws (an independent redraw), not π_base's", async () => {
  const ready = await prepareRun({ config: configFor("baseline"), backend: "current" });
  const { base, examples } = ready;
  const spec = { finetune: "lora" as const, lora: { r: 2, alpha: 4, dropout: 0 } };
  const q = policyFromSnapshot(base, spec, await loadIterateSnapshot(join(baseline.runDir, "iter-2", "sampler", "iter-1"), base, spec));
  try {
    const rows = await readRows(join(baseline.runDir, "iter-2", "generations.jsonl"));
    // generation.ts's streams: root → "generate-2" → "<iterate>/<batch>" → "sample"; batches of 2 in row order.
    const stream = forkRng(rngFromSeed(7), "generate-2");
    let differsFromBase = false;
    for (let b = 0; b < 2; b++) {
      const rng = forkRng(forkRng(stream, `iter-1/${b}`), "sample");
      const options = { temperature: 1, topK: Infinity, topP: 1, minP: 0, maxNewTokens: 6, eosTokenIds: base.config.eosTokenIds, rng };
      const batch = rows.slice(2 * b, 2 * b + 2).map((r) => examples[r.exampleIndex].promptIds);
      const fromQ = await q.policy.generate(batch, options);
      const fromBase = await new TransformerPolicy(base).generate(batch, options);
      for (let i = 0; i < 2; i++) {
        assert.deepEqual([...rows[2 * b + i].ids], [...fromQ.completions[i]], `row ${2 * b + i}`);
        if (fromBase.completions[i].join() !== fromQ.completions[i].join()) differsFromBase = true;
      }
    }
    assert.ok(differsFromBase, "the fitted sampler moved away from π_base");
  } finally {
    q.dispose();
    if (ready.ownsBase) base.dispose();
  }
});

class Killed extends Error {}

/** Run until `when` says stop (by throwing from the event handler), call `between`, resume; compare. */
const killAndResume = async (
  name: string,
  when: (e: SelfPlayEvent) => boolean,
  between: () => Promise<void> = async () => {},
): Promise<SelfPlayEvent[]> => {
  const config = configFor(name);
  let killed = false;
  await assert.rejects(
    runSelfPlay({
      config,
      onEvent: (e) => {
        if (!killed && when(e)) {
          killed = true;
          throw new Killed(JSON.stringify(e));
        }
      },
    }),
    Killed,
  );
  await between();
  const events: SelfPlayEvent[] = [];
  const resumed = await runSelfPlay({ config, resume: true, onEvent: (e) => void events.push(e) });
  assert.equal(resumed.startedAt, 2);
  assert.deepEqual(await outcome(String(config.outputDir)), expected);
  return events;
};

test("killed during the fit, resumed: refitted from scratch to the same sampler, losers and iterates", async () => {
  const events = await killAndResume("kill-fit", (e) => e.type === "progress" && e.phase === "sampler" && e.done === 2);
  const steps = events.flatMap((e) => (e.type === "progress" && e.phase === "sampler" ? [e.done] : []));
  assert.deepEqual(steps, [1, 2, 3, 4]);
});

test("killed after the fit, resumed: the stored sampler is used, not fitted again", async () => {
  const record = join(String(configFor("kill-after-fit").outputDir), "iter-2", "sampler", "iter-1.fit.json");
  let before = "";
  const events = await killAndResume(
    "kill-after-fit",
    (e) => e.type === "phase-start" && e.phase === "generate" && e.iteration === 2,
    async () => void (before = await readFile(record, "utf8")),
  );
  assert.ok(!events.some((e) => e.type === "progress" && e.phase === "sampler"), "no fit step on resume");
  const end = events.find((e) => e.type === "phase-end" && e.phase === "sampler");
  assert.ok(end?.type === "phase-end" && end.note?.includes("iter-1: fitted sampler on disk"));
  assert.equal(await readFile(record, "utf8"), before, "the record (with its timing) is the first fit's");
});

test("an AbortSignal stops the fit; resuming gives the same results", async () => {
  const config = configFor("abort-fit");
  const controller = new AbortController();
  await assert.rejects(
    runSelfPlay({
      config,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === "progress" && e.phase === "sampler" && e.done === 1) controller.abort(new Error("stop requested"));
      },
    }),
    /stop requested/,
  );
  await runSelfPlay({ config, resume: true });
  assert.deepEqual(await outcome(String(config.outputDir)), expected);
});

test("a child process killed with SIGKILL mid-fit resumes to the same results", async () => {
  const config = configFor("sigkill-fit");
  const configPath = join(fixture.dir, "sigkill-fit.json");
  await writeFile(configPath, JSON.stringify(config));
  const output = await runChildUntilKilled(configPath, "fit:2:2", "FIT 2 2");
  assert.ok(!output.includes("DONE"));
  const left = await readdir(join(String(config.outputDir), "iter-2"));
  assert.ok(!left.includes("COMPLETE.json") && !left.includes("generations.jsonl"));
  const resumed = await runSelfPlay({ config, resume: true });
  assert.equal(resumed.startedAt, 2);
  assert.deepEqual(await outcome(String(config.outputDir)), expected);
}, { timeout: 120_000 });

test("h = 2, full fine-tuning, 3 iterations: π_base plays itself, the others their fitted samplers; losers are reused under the same sampler; no tensor leaks", async () => {
  const tensorsBefore = tf.memory().numTensors;
  const config = smallConfig(fixture, {
    name: "window",
    h: 2,
    iterations: 3,
    alpha: 0.5,
    finetune: "full",
    training: { epochs: 1, batchSize: 4, lr: 1e-3 },
    generation: { maxNewTokens: 6, batchSize: 4, sampler: "gflownet", gflownet },
  });
  const events: SelfPlayEvent[] = [];
  const run = await runSelfPlay({ config, onEvent: (e) => void events.push(e) });
  assert.equal(tf.memory().numTensors, tensorsBefore, "no tensor leaks");
  const rowsOf = (t: number) => readRows(join(run.runDir, `iter-${t}`, "generations.jsonl"));
  const fingerprintOf = async (t: number, member: string) =>
    (await readJson(join(run.runDir, `iter-${t}`, "sampler", `${member}.fit.json`))).fingerprint as string;
  assert.deepEqual((await readdir(join(run.runDir, "iter-2", "sampler"))).sort(), ["iter-1", "iter-1.fit.json"]);
  const second = await rowsOf(2);
  const fp21 = await fingerprintOf(2, "iter-1");
  assert.ok(second.filter((r) => r.iterateId === "base").every((r) => r.samplerFingerprint === undefined));
  assert.ok(second.filter((r) => r.iterateId === "iter-1").every((r) => r.samplerFingerprint === fp21));
  // t = 3: window {iter-1, iter-2}; iter-1's losers are reused from t = 2 (same sampler key), so
  // only iter-2's sampler is fitted.
  assert.deepEqual((await readdir(join(run.runDir, "iter-3", "sampler"))).sort(), ["iter-2", "iter-2.fit.json"]);
  const third = await rowsOf(3);
  const reused = third.filter((r) => r.iterateId === "iter-1");
  assert.equal(reused.length, 4);
  assert.deepEqual(reused, second.filter((r) => r.iterateId === "iter-1"));
  const fp32 = await fingerprintOf(3, "iter-2");
  assert.ok(third.filter((r) => r.iterateId === "iter-2").every((r) => r.samplerFingerprint === fp32 && r.generatedAt === 3));
  const fits = events.flatMap((e) => (e.type === "phase-start" && e.phase === "sampler" ? [e.iteration] : []));
  assert.deepEqual(fits, [2, 3]);
});

test("without reuse, every member of the window is fitted, one after the other, under one progress count", async () => {
  const config = smallConfig(fixture, {
    name: "no-reuse",
    h: 2,
    iterations: 3,
    alpha: 0.5,
    reuseGenerations: false,
    training: { epochs: 1, batchSize: 4, lr: 1e-2 },
    generation: { maxNewTokens: 6, batchSize: 4, sampler: "gflownet", gflownet },
  });
  const events: SelfPlayEvent[] = [];
  const run = await runSelfPlay({ config, onEvent: (e) => void events.push(e) });
  assert.deepEqual((await readdir(join(run.runDir, "iter-3", "sampler"))).sort(), ["iter-1", "iter-1.fit.json", "iter-2", "iter-2.fit.json"]);
  const done = events.flatMap((e) => (e.type === "progress" && e.phase === "sampler" && e.iteration === 3 ? [`${e.done}/${e.total}`] : []));
  assert.deepEqual(done, [1, 2, 3, 4, 5, 6, 7, 8].map((d) => `${d}/8`));
  // Two fits of iter-1 (at t = 2 and t = 3) draw from their own streams: different adapters.
  const fp = async (t: number) => (await readJson(join(run.runDir, `iter-${t}`, "sampler", "iter-1.fit.json"))).fingerprint;
  assert.notEqual(await fp(2), await fp(3));
  const rows = await readRows(join(run.runDir, "iter-3", "generations.jsonl"));
  assert.ok(rows.every((r) => r.generatedAt === 3 && r.samplerFingerprint !== undefined));
});

test('generation.sampler "resample" runs exactly what geometricSampling.enabled ran', async () => {
  const run = async (name: string, extra: Record<string, unknown>) => {
    const config = smallConfig(fixture, { name, alpha: 0.5, training: { epochs: 1, batchSize: 4, lr: 1e-2 }, ...extra });
    const result = await runSelfPlay({ config });
    return Promise.all(["iter-2/generations.jsonl", "metrics.jsonl"].map((f) => readFile(join(result.runDir, f), "utf8")));
  };
  const old = await run("resample-old", { geometricSampling: { enabled: true, candidates: 3 } });
  const now = await run("resample-new", { geometricSampling: { candidates: 3 }, generation: { maxNewTokens: 6, batchSize: 4, sampler: "resample" } });
  assert.deepEqual(now, old);
  assert.ok(old[0].includes('"sampler":"geometric(alpha=0.5,K=3,systematic)"'));
});

test("cleanup", async () => {
  await fixture.cleanup();
});
