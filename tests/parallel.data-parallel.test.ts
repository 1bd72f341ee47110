/**
 * Data-parallel training (parallel/data-parallel.ts): a 2-worker step (shards of 3 and 2 pairs,
 * each with its own padding) gives the loss, gradient norm and updated weights of a 1-worker step
 * on the whole batch, for full fine-tuning with a frozen reference and for LoRA with pre-computed
 * reference log-probs; the two replicas stay bit-identical; greedy generation split over 2 workers
 * gives the 1-worker completions; workers shut down cleanly, freeing every tensor; errors inside a
 * worker reach the caller.
 */
import { assert, assertClose, test } from "./harness.ts";
import { makeConfig } from "../models/config.ts";
import {
  createDataParallelTrainer,
  type DataParallelOptions,
  shardRanges,
} from "../parallel/data-parallel.ts";
import type { PreferenceBatch } from "../parallel/preference-step.ts";

const modelConfig = makeConfig({
  family: "gpt2",
  vocabSize: 48,
  hiddenSize: 16,
  numLayers: 2,
  numHeads: 2,
  maxPositions: 32,
  tieWordEmbeddings: false,
});

const batch: PreferenceBatch = {
  prompts: [[1, 2, 3], [4, 5], [6], [7, 8, 9, 10], [11, 12]],
  chosen: [[20, 21], [22, 23, 24], [25], [26, 27], [28, 29, 30, 31]],
  rejected: [[40], [41, 42], [43, 44, 45], [46, 47], [33]],
};

const base: Omit<DataParallelOptions, "workers"> = {
  modelConfig,
  seed: 7,
  loss: "sigmoid",
  lossParams: { beta: 0.5 },
  learningRate: 1e-2,
  optimizer: { weightDecay: 0.01, maxGradNorm: 0 },
};

/** Two steps on `workers` workers: step reports, trainable weights of every replica, close report. */
const train = async (
  workers: number,
  options: Omit<DataParallelOptions, "workers">,
  data: PreferenceBatch,
) => {
  const trainer = await createDataParallelTrainer({ ...options, workers });
  try {
    const greedy = await trainer.generate(data.prompts, { maxNewTokens: 4, greedy: true, eosTokenIds: [] });
    const steps = [await trainer.step(data), await trainer.step(data)];
    const replicas = [];
    for (let w = 0; w < workers; w++) replicas.push(await trainer.trainableWeights(w));
    return { greedy, steps, replicas, closed: await trainer.close(), trainer };
  } catch (e) {
    await trainer.close().catch(() => undefined);
    throw e;
  }
};

const compareRuns = (
  one: Awaited<ReturnType<typeof train>>,
  two: Awaited<ReturnType<typeof train>>,
): void => {
  // Greedy decoding before training: both trainers hold the same initial weights.
  assert.deepEqual(two.greedy.completions, one.greedy.completions);
  assert.equal(one.greedy.completions.length, batch.prompts.length);
  for (const c of one.greedy.completions) {
    assert.equal(c.length, 4);
    assert.ok(c.every((id) => Number.isInteger(id) && id >= 0 && id < modelConfig.vocabSize));
  }
  one.steps.forEach((s, i) => {
    assertClose([two.steps[i].loss], [s.loss], { atol: 1e-5, message: `loss of step ${i}` });
    assertClose([two.steps[i].gradNorm], [s.gradNorm], {
      atol: 1e-6,
      rtol: 1e-4,
      message: `grad norm of step ${i}`,
    });
    assertClose([two.steps[i].metrics["rewards/margins"]], [s.metrics["rewards/margins"]], { atol: 1e-5 });
  });
  const names = Object.keys(one.replicas[0]);
  assert.deepEqual(Object.keys(two.replicas[0]), names);
  for (const name of names) {
    assertClose(two.replicas[0][name], one.replicas[0][name], { atol: 5e-5, message: name });
    assert.deepEqual(two.replicas[1][name], two.replicas[0][name], `replicas differ in ${name}`);
  }
};

test("shardRanges splits contiguously, the first shards one larger", () => {
  assert.deepEqual(shardRanges(5, 2), [[0, 3], [3, 5]]);
  assert.deepEqual(shardRanges(4, 2), [[0, 2], [2, 4]]);
  assert.deepEqual(shardRanges(1, 2), [[0, 1], [1, 1]]);
  assert.deepEqual(shardRanges(7, 3), [[0, 3], [3, 5], [5, 7]]);
});

test("data-parallel: full fine-tuning, 2 workers match 1 worker and shut down cleanly", async () => {
  const options = { ...base, reference: "initial" as const };
  const [one, two] = await Promise.all([train(1, options, batch), train(2, options, batch)]);
  // The first step starts from policy = reference: every margin is 0, the loss log 2.
  assertClose([one.steps[0].loss], [Math.log(2)], { atol: 1e-6 });
  assert.ok(one.steps[0].gradNorm > 0);
  compareRuns(one, two);
  assert.deepEqual(one.closed.tensorsLeft, [0]);
  assert.deepEqual(two.closed.tensorsLeft, [0, 0]);
  await assert.rejects(() => two.trainer.step(batch), /after close/);
});

test("data-parallel: LoRA with pre-computed references, 2 workers match 1 worker", async () => {
  const withRefs: PreferenceBatch = {
    ...batch,
    refChosen: [-9.5, -11, -4, -7.5, -15],
    refRejected: [-4, -8, -11.5, -7, -3.9],
  };
  const options = {
    ...base,
    lora: { r: 2, alpha: 4, targetModules: ["c_attn", "attn.c_proj"], seed: 5 },
    reference: "precomputed" as const,
  };
  const [one, two] = await Promise.all([train(1, options, withRefs), train(2, options, withRefs)]);
  assert.deepEqual(Object.keys(one.replicas[0]).slice(0, 2), [
    "transformer.h.0.attn.c_attn.lora_A.weight",
    "transformer.h.0.attn.c_attn.lora_B.weight",
  ]);
  compareRuns(one, two);
  assert.deepEqual(two.closed.tensorsLeft, [0, 0]);
});

test("data-parallel: a replica that cannot be built rejects with the worker's reason", async () => {
  await assert.rejects(
    () => createDataParallelTrainer({ ...base, workers: 1, loss: "no_such_loss" }),
    /unknown loss "no_such_loss"/,
  );
  await assert.rejects(
    () => createDataParallelTrainer({ ...base, workers: 0 }),
    /workers must be an integer >= 1/,
  );
});

test("data-parallel: a batch without references and no reference policy is refused", async () => {
  const trainer = await createDataParallelTrainer({ ...base, workers: 1 });
  try {
    await assert.rejects(() => trainer.step(batch), /no pre-computed reference log-probs/);
  } finally {
    await trainer.close();
  }
});
