/**
 * The worker pool (train/pool.ts): two optimizer steps with the micro-batch split over 2 threads
 * (shards of 3 and 2 pairs, each with its own padding) give the loss, gradient norm and updated
 * weights of the same steps on 1 thread, for full fine-tuning and for LoRA; greedy generation on a
 * worker gives this thread's completions; workers shut down cleanly, freeing every tensor; errors
 * inside a worker reach the caller.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertClose, test } from "./harness.ts";
import { loadBackend } from "../backends/load.ts";
import { lossRegistry } from "../losses/registry.ts";
import { makeConfig } from "../models/config.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { createTransformer } from "../models/transformer.ts";
import { AdamW, GradientAccumulator } from "../train/optim.ts";
import { buildTrainable, type FinetuneSpec, freshLoraSnapshot, modelSnapshot } from "../train/params.ts";
import { createWorkerPool, shardRanges, type WorkerPool } from "../train/pool.ts";
import { type GradientSource, localGradients, optimizerStep, type StepSpec, type TrainingPair } from "../train/step.ts";

await loadBackend("cpu");

const base = createTransformer(
  makeConfig({ family: "gpt2", vocabSize: 48, hiddenSize: 16, numLayers: 2, numHeads: 2, maxPositions: 32, tieWordEmbeddings: false }),
  { seed: 7, trainable: false },
);

const prompts = [[1, 2, 3], [4, 5], [6], [7, 8, 9, 10], [11, 12]];
const chosen = [[20, 21], [22, 23, 24], [25], [26, 27], [28, 29, 30, 31]];
const rejected = [[40], [41, 42], [43, 44, 45], [46, 47], [33]];
const lpChosen = [-9.5, -11, -4, -7.5, -15], lpRejected = [-4, -8, -11.5, -7, -3.9];
const pairs: TrainingPair[] = prompts.map((promptIds, i) => ({
  promptIds,
  chosenIds: chosen[i],
  rejectedIds: rejected[i],
  lpRefChosen: lpChosen[i],
  lpRefRejected: lpRejected[i],
}));
const step: StepSpec = { loss: lossRegistry.get("sigmoid"), lossParams: { beta: 0.5 } };

/** Two optimizer steps on all pairs, on this thread alone or with the pool; the steps and the weights after. */
const train = async (spec: FinetuneSpec, pool: WorkerPool | null) => {
  const init = spec.finetune === "lora" ? await freshLoraSnapshot(base, spec.lora, 5) : await modelSnapshot(base);
  const trainable = buildTrainable(base, spec, init, 1);
  // Move away from the start (a fresh adapter has B = 0, which hides errors in A's gradient).
  tf.tidy(() => trainable.variables.forEach((v, i) => v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.05, "float32", 10 + i)))));
  // eps well above float32 noise: Adam's first steps move every weight by ±lr whatever its gradient's
  // size, so a gradient at rounding level would turn a summation-order difference into an lr-sized one.
  const optimizer = new AdamW(trainable.variables, { weightDecay: 0.01, maxGradNorm: 0, eps: 1e-3, decay: trainable.decay });
  const accumulator = new GradientAccumulator(trainable.variables);
  await pool?.startSegment(trainable, 9, step);
  const source: GradientSource = pool === null
    ? localGradients(step, trainable)
    : { gradients: (p) => pool.gradients(p, trainable), weightsChanged: () => pool.weightsChanged() };
  const steps = [];
  for (let s = 0; s < 2; s++) steps.push(await optimizerStep(source, [pairs], accumulator, optimizer, 1e-2));
  const weights = (await trainable.snapshot()).values;
  optimizer.dispose();
  trainable.dispose();
  return { steps, weights, names: trainable.names };
};

const compare = (one: Awaited<ReturnType<typeof train>>, two: Awaited<ReturnType<typeof train>>, label: string): void => {
  one.steps.forEach((s, i) => {
    assertClose([two.steps[i].loss], [s.loss], { atol: 1e-5, message: `${label}: loss of step ${i}` });
    assertClose([two.steps[i].gradNorm], [s.gradNorm], { atol: 1e-6, rtol: 1e-4, message: `${label}: grad norm of step ${i}` });
    assertClose([two.steps[i].metrics["rewards/margins"]], [s.metrics["rewards/margins"]], { atol: 1e-5 });
  });
  one.weights.forEach((w, i) => assertClose(two.weights[i], w, { atol: 5e-5, message: `${label}: ${one.names[i]}` }));
};

test("shardRanges splits contiguously, the first shards one larger", () => {
  assert.deepEqual(shardRanges(5, 2), [[0, 3], [3, 5]]);
  assert.deepEqual(shardRanges(4, 2), [[0, 2], [2, 4]]);
  assert.deepEqual(shardRanges(1, 2), [[0, 1], [1, 1]]);
  assert.deepEqual(shardRanges(7, 3), [[0, 3], [3, 5], [5, 7]]);
});

test("worker pool: full fine-tuning and LoRA, 2 threads match 1 thread; generation on a worker; clean shutdown", async () => {
  const specs: FinetuneSpec[] = [
    { finetune: "full", lora: { r: 2, alpha: 4, dropout: 0 } },
    { finetune: "lora", lora: { r: 2, alpha: 4, dropout: 0, targetModules: ["c_attn", "attn.c_proj"] } },
  ];
  for (const spec of specs) {
    const one = await train(spec, null);
    const pool = await createWorkerPool({ threads: 2, base, spec });
    try {
      compare(one, await train(spec, pool), spec.finetune);
      // Greedy decoding with π_base on the worker gives this thread's completions.
      await pool.load(1, null);
      const options = { maxNewTokens: 4, greedy: true, eosTokenIds: [] };
      const there = await pool.generate(1, prompts, options);
      const here = await new TransformerPolicy(base).generate(prompts, options);
      assert.deepEqual(there.completions, here.completions);
      assert.ok(there.completions.every((c) => c.length === 4));
    } finally {
      assert.deepEqual(await pool.close(), [0], "the worker frees every tensor");
    }
    await assert.rejects(() => pool.load(1, null), /exited/);
  }
});

test("worker pool: errors inside a worker reach the caller; bad thread counts are refused", async () => {
  const spec: FinetuneSpec = { finetune: "full", lora: { r: 2, alpha: 4, dropout: 0 } };
  await assert.rejects(() => createWorkerPool({ threads: 1, base, spec }), /threads must be an integer >= 2/);
  const pool = await createWorkerPool({ threads: 2, base, spec });
  const trainable = buildTrainable(base, spec, await modelSnapshot(base), 1);
  try {
    await assert.rejects(() => pool.gradients(pairs, trainable), /startSegment first/);
    const unknown = { ...step, loss: { ...step.loss, name: "no_such_loss" } };
    await assert.rejects(() => pool.startSegment(trainable, 1, unknown), /loss "no_such_loss" is not registered in the gradient worker/);
    await assert.rejects(() => pool.generate(1, [[]], { maxNewTokens: 2 }), /worker 1: /);
  } finally {
    trainable.dispose();
    await pool.close();
  }
});
