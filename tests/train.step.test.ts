/**
 * The training step (train/step.ts) on a model whose logits are all 0 (every weight matrix 0): each
 * completion token has log-prob −log V, so sequence log-probs, losses and metrics have closed forms;
 * the step leaves no tensor behind; an update from micro-batches of 1 equals an update from the
 * whole batch. The reference phase's lp_ref (selfplay/reference.ts) against float32 arithmetic.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertClose, test } from "./harness.ts";
import { lossRegistry } from "../losses/registry.ts";
import { makeConfig } from "../models/config.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { createTransformer } from "../models/transformer.ts";
import { AdamW, GradientAccumulator } from "../train/optim.ts";
import { geometricReferences } from "../selfplay/reference.ts";
import { alphaSpinGradients, localGradients, optimizerStep, type StepSpec, type TrainingPair } from "../train/step.ts";

await tf.setBackend("cpu");

const vocab = 32;
const config = makeConfig({
  family: "gpt2",
  vocabSize: vocab,
  hiddenSize: 8,
  numLayers: 1,
  numHeads: 2,
  maxPositions: 16,
});
const model = createTransformer(config, { initStd: 0 });
const policy = new TransformerPolicy(model);
const logV = Math.log(vocab);
const softplus = (x: number): number => Math.log1p(Math.exp(x));

const batch = { prompts: [[1, 2], [3]], chosen: [[4, 5, 6], [7]], rejected: [[8], [9, 10]] };

/** The batch as training pairs with the reference log-probs lp_ref of each pair. */
const pairsWith = (ref: { chosen: number[]; rejected: number[] }): TrainingPair[] =>
  batch.prompts.map((promptIds, i) => ({
    promptIds,
    chosenIds: batch.chosen[i],
    rejectedIds: batch.rejected[i],
    lpRefChosen: ref.chosen[i],
    lpRefRejected: ref.rejected[i],
  }));

const metricOf = (out: { pack: tf.Tensor1D; names: readonly string[] }, name: string): number =>
  out.pack.dataSync()[1 + out.names.indexOf(name)];

test("training step: uniform model, reference = policy: log-probs −L·log V and loss log 2", () => {
  const before = tf.memory().numTensors;
  const sigmoid: StepSpec = { loss: lossRegistry.get("sigmoid"), lossParams: { beta: 0.1 }, };
  const own = { chosen: [-3 * logV, -1 * logV], rejected: [-1 * logV, -2 * logV] };
  const out = alphaSpinGradients(sigmoid, policy, policy.trainableVariables(), pairsWith(own));
  assertClose([out.pack.dataSync()[0]], [Math.log(2)], { atol: 1e-6 });
  assert.equal(out.grads.length, policy.trainableVariables().length);
  assertClose([metricOf(out, "logps/chosen"), metricOf(out, "logps/rejected")], [-2 * logV, -1.5 * logV], { atol: 1e-5 });
  assertClose([metricOf(out, "rewards/margins")], [0], { atol: 1e-5 });
  tf.dispose([...out.grads, out.pack]);
  assert.equal(tf.memory().numTensors, before);
});

test("the reference phase's lp_ref is α·lp_prev + (1 − α)·lp_base in float32, exact at α = 0 and 1", () => {
  const rows = [
    { lpPrevChosen: -10.3, lpPrevRejected: -4.1, lpBaseChosen: -6.7, lpBaseRejected: -5.9 },
    { lpPrevChosen: -2.2, lpPrevRejected: -9.05, lpBaseChosen: -3.3, lpBaseRejected: -1.01 },
  ];
  const f = Math.fround;
  for (const alpha of [0, 0.25, 0.9, 1]) {
    const refs = geometricReferences(alpha, rows);
    rows.forEach((r, i) => {
      // float32 arithmetic, one rounding per operation, as the backend computes it.
      const mix = (p: number, b: number) =>
        alpha === 1 ? f(p) : alpha === 0 ? f(b) : f(f(f(p) * f(alpha)) + f(f(b) * f(1 - alpha)));
      assert.equal(refs[i].lpRefChosen, mix(r.lpPrevChosen, r.lpBaseChosen), `alpha ${alpha} chosen ${i}`);
      assert.equal(refs[i].lpRefRejected, mix(r.lpPrevRejected, r.lpBaseRejected), `alpha ${alpha} rejected ${i}`);
    });
  }
  assert.deepEqual(geometricReferences(0.5, []), []);
});

test("training step: the stored references enter the sigmoid loss as softplus(−β·h)", () => {
  const ref = { chosen: [-10, -2], rejected: [-4, -9] };
  const beta = 0.5;
  const out = alphaSpinGradients({ loss: lossRegistry.get("sigmoid"), lossParams: { beta } }, policy, policy.trainableVariables(), pairsWith(ref));
  const chosen = [-3 * logV, -logV], rejected = [-logV, -2 * logV];
  const losses = chosen.map((c, i) => softplus(-beta * ((c - ref.chosen[i]) - (rejected[i] - ref.rejected[i]))));
  assertClose([out.pack.dataSync()[0]], [(losses[0] + losses[1]) / 2], { atol: 1e-5 });
  tf.dispose([...out.grads, out.pack]);
});

test("training step: length-normalized ipo gets the token counts", () => {
  const refs = { chosen: [-10, -2], rejected: [-4, -9] };
  const out = alphaSpinGradients({ loss: lossRegistry.get("ipo"), lossParams: {} }, policy, policy.trainableVariables(), pairsWith(refs));
  // ipo with length normalization: ((h_w/|y_w| − h_l/|y_l|) − 1/(2τ))², τ = 0.1 by default.
  const chosen = [-3 * logV, -logV], rejected = [-logV, -2 * logV];
  const lens = { chosen: [3, 1], rejected: [1, 2] };
  const value = out.pack.dataSync()[0];
  assert.ok(Number.isFinite(value) && value > 0);
  const tau = lossRegistry.get("ipo").defaults.beta as number;
  const expected = chosen.map((c, i) => {
    const h = (c - refs.chosen[i]) / lens.chosen[i] - (rejected[i] - refs.rejected[i]) / lens.rejected[i];
    return (h - 1 / (2 * tau)) ** 2;
  });
  assertClose([value], [(expected[0] + expected[1]) / 2], { atol: 1e-3, rtol: 1e-4 });
  tf.dispose([...out.grads, out.pack]);
});

test("training step: an update from micro-batches of 1 equals the update from the whole batch", async () => {
  const sigmoid: StepSpec = { loss: lossRegistry.get("sigmoid"), lossParams: { beta: 0.7 }, };
  const data = pairsWith({ chosen: [-9, -4], rejected: [-3, -6.5] });
  const update = async (microBatches: TrainingPair[][]) => {
    const random = new TransformerPolicy(createTransformer(config, { seed: 4, initStd: 0.3 }));
    const variables = random.trainableVariables();
    const optimizer = new AdamW(variables, { weightDecay: 0, maxGradNorm: 0 });
    const accumulator = new GradientAccumulator(variables);
    const { logProbs } = await random.sequenceLogProbs([...batch.prompts, ...batch.prompts], [...batch.chosen, ...batch.rejected]);
    const out = await optimizerStep(localGradients(sigmoid, { policy: random, variables }), microBatches, accumulator, optimizer, 1e-2);
    const weights = variables.map((v) => v.dataSync().slice());
    optimizer.dispose();
    random.model.dispose();
    return { out, weights, logProbs };
  };
  const before = tf.memory().numTensors;
  const whole = await update([data]);
  const parts = await update([[data[0]], [data[1]]]);
  assert.equal(tf.memory().numTensors, before, "no tensors left behind");
  // The loss is also checked against its closed form from the policy log-probs.
  const lp = whole.logProbs;
  const expected = [0, 1].map((i) => softplus(-0.7 * ((lp[i] - data[i].lpRefChosen) - (lp[i + 2] - data[i].lpRefRejected))));
  assertClose([whole.out.loss], [(expected[0] + expected[1]) / 2], { atol: 1e-5 });
  assertClose([parts.out.loss], [whole.out.loss], { atol: 1e-6 });
  assertClose([parts.out.gradNorm], [whole.out.gradNorm], { atol: 1e-6, rtol: 1e-4 });
  assertClose([parts.out.metrics["rewards/margins"]], [whole.out.metrics["rewards/margins"]], { atol: 1e-5 });
  whole.weights.forEach((w, i) => assertClose(parts.weights[i], w, { atol: 1e-6, rtol: 1e-4, message: `weight ${i}` }));
  await assert.rejects(
    () => optimizerStep(localGradients(sigmoid, { policy, variables: policy.trainableVariables() }), [], new GradientAccumulator([]), new AdamW([], {}), 1),
    /no micro-batches/,
  );
});
