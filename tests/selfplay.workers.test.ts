// Generation on two threads (train/pool.ts) gives exactly the one-thread losers.
// Training on two threads (train/pool.ts): the gradient of a micro-batch split between the
// training thread and a worker equals the one-thread gradient up to float32 rounding, so a run with
// workers: 2 logs the same metrics and ends with the same adapter (LoRA) or model (full) as workers: 1;
// a killed two-thread run resumes to the same results; the workers leave no tensors; a loss the
// worker does not know and a backend it cannot run are refused with errors saying what to do.
import * as tf from "@tensorflow/tfjs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { assert, assertClose, test } from "./harness.ts";
import { runSelfPlay } from "../selfplay/loop.ts";
import { createWorkerPool } from "../train/pool.ts";
import { alphaSpinGradients, type TrainingPair } from "../train/step.ts";
import { buildTrainable, freshLoraSnapshot, modelSnapshot } from "../train/params.ts";
import { lossRegistry } from "../losses/registry.ts";
import { sigmoidLoss } from "../losses/sigmoid.ts";
import { createTransformer } from "../models/transformer.ts";
import { makeConfig } from "../models/config.ts";
import { loadBackend } from "../backends/load.ts";
import { readSafetensors } from "../models/safetensors.ts";
import { setupFixture, smallConfig } from "./selfplay.support.ts";
import "./fixtures/register-loss.ts";

await loadBackend("cpu");
const fixture = await setupFixture();

// deno-lint-ignore no-explicit-any
const readLines = async (path: string): Promise<any[]> =>
  (await readFile(path, "utf8")).split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));

const tensorValues = async (path: string): Promise<Map<string, Float32Array>> => {
  const file = readSafetensors(new Uint8Array(await readFile(path)));
  return new Map([...file].map(([name, t]) => [name, t.data]));
};

const pairsFor = (n: number, seed: number): TrainingPair[] =>
  Array.from({ length: n }, (_, i) => ({
    promptIds: [1 + ((i + seed) % 5), 2],
    chosenIds: [3, 4 + (i % 3), 5],
    rejectedIds: [6 + ((i * seed) % 4), 7],
    lpRefChosen: -3 - 0.1 * i,
    lpRefRejected: -2.5 + 0.05 * i,
  }));

test("a micro-batch gradient split over two threads equals the one-thread gradient (LoRA and full; 1–5 pairs)", async () => {
  const base = createTransformer(makeConfig({ family: "gpt2", vocabSize: 16, hiddenSize: 16, numLayers: 1, numHeads: 2, maxPositions: 32 }), {
    seed: 3,
    trainable: false,
  });
  const step = { loss: sigmoidLoss, lossParams: { beta: 0.5 } };
  for (const spec of [{ finetune: "lora" as const, lora: { r: 2, alpha: 4, dropout: 0 } }, { finetune: "full" as const, lora: { r: 2, alpha: 4, dropout: 0 } }]) {
    const init = spec.finetune === "lora" ? await freshLoraSnapshot(base, spec.lora, 5) : await modelSnapshot(base);
    const trainable = buildTrainable(base, spec, init, 1);
    // Move away from the start (a fresh adapter has B = 0, which hides errors in A's gradient).
    tf.tidy(() => trainable.variables.forEach((v, i) => v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.05, "float32", 10 + i)))));
    const pool = await createWorkerPool({ threads: 2, base, spec, workerImports: [] });
    try {
      await pool.startSegment(trainable, 9, step);
      for (const n of [1, 2, 5]) {
        const pairs = pairsFor(n, n);
        const one = alphaSpinGradients(step, trainable.policy, trainable.variables, pairs);
        const two = await pool.gradients(pairs, trainable);
        assert.deepEqual(two.names, one.names);
        for (let i = 0; i < one.grads.length; i++) {
          assertClose(two.grads[i].dataSync(), one.grads[i].dataSync(), { atol: 1e-6, rtol: 1e-4, message: `${spec.finetune} ${n} pairs, ${trainable.names[i]}` });
        }
        assertClose(two.pack.dataSync(), one.pack.dataSync(), { atol: 1e-5, rtol: 1e-5, message: `${spec.finetune} ${n} pairs, metrics` });
        tf.dispose([...one.grads, one.pack, ...two.grads, two.pack]);
      }
      // The worker follows the weights after an update.
      tf.tidy(() => trainable.variables.forEach((v) => v.assign(tf.mul(v, 1.5))));
      pool.weightsChanged();
      const pairs = pairsFor(4, 2);
      const one = alphaSpinGradients(step, trainable.policy, trainable.variables, pairs);
      const two = await pool.gradients(pairs, trainable);
      one.grads.forEach((g, i) =>
        assertClose(two.grads[i].dataSync(), g.dataSync(), { atol: 1e-6, rtol: 1e-4, message: `after an update, ${trainable.names[i]}` })
      );
      tf.dispose([...one.grads, one.pack, ...two.grads, two.pack]);
    } finally {
      assert.deepEqual(await pool.close(), [0], "the worker frees every tensor");
      trainable.dispose();
    }
  }
  base.dispose();
});

test("a run with workers: 2 logs the metrics and writes the adapter of workers: 1 (float32 rounding), without tensor leaks", async () => {
  const overrides = { h: 2, lora: { r: 2, alpha: 4, dropout: 0 }, training: { epochs: 2, batchSize: 3, lr: 1e-2, warmupRatio: 0 } };
  const one = await runSelfPlay({ config: smallConfig(fixture, { name: "one-thread", ...overrides }) });
  const before = tf.memory().numTensors;
  const two = await runSelfPlay({ config: smallConfig(fixture, { name: "two-threads", workers: 2, ...overrides }) });
  assert.equal(tf.memory().numTensors, before, "no tensors left on the training thread");
  const a = await readLines(join(one.runDir, "metrics.jsonl")), b = await readLines(join(two.runDir, "metrics.jsonl"));
  assert.equal(b.length, a.length);
  for (let i = 0; i < a.length; i++) {
    for (const key of ["loss", "grad_norm", "rewards/margins", "logps/chosen"]) {
      assertClose([b[i][key]], [a[i][key]], { atol: 1e-4, rtol: 1e-3, message: `row ${i} ${key}` });
    }
  }
  for (const t of [1, 2]) {
    const wa = await tensorValues(join(one.runDir, `iter-${t}`, "adapter", "adapter_model.safetensors"));
    const wb = await tensorValues(join(two.runDir, `iter-${t}`, "adapter", "adapter_model.safetensors"));
    for (const [name, values] of wa) assertClose(wb.get(name)!, values, { atol: 1e-4, rtol: 1e-3, message: `iter-${t} ${name}` });
  }
});

test("a two-thread run stopped mid-training resumes to the uninterrupted two-thread run's results", async () => {
  const config = (name: string) => smallConfig(fixture, { name, workers: 2, training: { epochs: 2, batchSize: 2, lr: 1e-2, warmupRatio: 0 } });
  const full = await runSelfPlay({ config: config("two-full") });
  const controller = new AbortController();
  await assert.rejects(
    runSelfPlay({
      config: config("two-killed"),
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === "metrics" && e.iteration === 2 && e.row.step === 3) controller.abort(new Error("stop requested"));
      },
    }),
    /stop requested/,
  );
  const resumed = await runSelfPlay({ config: config("two-killed"), resume: true });
  assert.equal(resumed.startedAt, 2);
  assert.equal(
    await readFile(join(resumed.runDir, "metrics.jsonl"), "utf8"),
    await readFile(join(full.runDir, "metrics.jsonl"), "utf8"),
  );
});

test("workers: 2 refuses a loss registered only on the training thread; workers: 0 is refused by the config codec", async () => {
  lossRegistry.register({ ...sigmoidLoss, name: "main_thread_only" });
  await assert.rejects(
    runSelfPlay({ config: smallConfig(fixture, { name: "custom-loss", workers: 2, loss: { name: "main_thread_only" } }) }),
    /loss "main_thread_only" is not registered in the gradient worker: register it in a module and pass its URL in workerImports/,
  );
  await assert.rejects(
    runSelfPlay({ config: smallConfig(fixture, { name: "bad-workers", workers: 0 }) }),
    /workers/,
  );
});

test("a custom loss reaches the gradient workers through workerImports", async () => {
  const result = await runSelfPlay({
    config: smallConfig(fixture, { name: "custom-imported", iterations: 1, workers: 2, loss: { name: "fixture_sigmoid" } }),
    workerImports: [new URL("./fixtures/register-loss.ts", import.meta.url).href],
  });
  assert.equal(result.metrics.length, 4);
  assert.ok(result.metrics.every((row) => Number.isFinite(row.loss)));
});

test("loser generation on two threads gives exactly the one-thread losers (LoRA with h = 2; full with the geometric sampler)", async () => {
  // Training batches of one pair leave the gradient worker nothing to do, so both runs train
  // identically and iteration 2 decodes with identical iterates; generation batches of one prompt
  // give the generation worker half of the batches.
  const variants = {
    lora: { h: 2, lora: { r: 2, alpha: 4, dropout: 0 } },
    full: { finetune: "full", alpha: 0.5, geometricSampling: { enabled: true, candidates: 2, resample: "systematic" } },
  };
  for (const [name, extra] of Object.entries(variants)) {
    const common = { ...extra, generation: { maxNewTokens: 6, batchSize: 1 }, training: { epochs: 1, batchSize: 1, lr: 1e-3, warmupRatio: 0 } };
    const one = await runSelfPlay({ config: smallConfig(fixture, { name: `gen-one-${name}`, ...common }) });
    const before = tf.memory().numTensors;
    const two = await runSelfPlay({ config: smallConfig(fixture, { name: `gen-two-${name}`, workers: 2, ...common }) });
    assert.equal(tf.memory().numTensors, before, `${name}: no tensors left`);
    for (const t of [1, 2]) {
      const a = await readLines(join(one.runDir, `iter-${t}`, "generations.jsonl"));
      const b = await readLines(join(two.runDir, `iter-${t}`, "generations.jsonl"));
      assert.ok(a.length > 1, `${name} iter-${t}: several losers`);
      assert.deepEqual(b, a, `${name} iter-${t}: the same losers`);
    }
  }
});
