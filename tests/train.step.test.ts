/**
 * The training step (train/step.ts) on a model whose logits are all 0 (every weight matrix 0): each
 * completion token has log-prob −log V, so sequence log-probs, losses and metrics have closed forms;
 * the step leaves no tensor behind; an update from micro-batches of 1 equals an update from the
 * whole batch.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertClose, test } from "./harness.ts";
import { lossRegistry } from "../losses/registry.ts";
import { makeConfig } from "../models/config.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { createTransformer } from "../models/transformer.ts";
import { AdamW, GradientAccumulator } from "../train/optim.ts";
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

/** The batch as training pairs with reference log-probs lp_prev and lp_base per pair. */
const pairsWith = (
  prev: { chosen: number[]; rejected: number[] },
  base: { chosen: number[]; rejected: number[] } = prev,
): TrainingPair[] =>
  batch.prompts.map((promptIds, i) => ({
    promptIds,
    chosenIds: batch.chosen[i],
    rejectedIds: batch.rejected[i],
    lpPrevChosen: prev.chosen[i],
    lpPrevRejected: prev.rejected[i],
    lpBaseChosen: base.chosen[i],
    lpBaseRejected: base.rejected[i],
  }));

const metricOf = (out: { pack: tf.Tensor1D; names: readonly string[] }, name: string): number =>
  out.pack.dataSync()[1 + out.names.indexOf(name)];

test("training step: uniform model, reference = policy: log-probs −L·log V and loss log 2", () => {
  const before = tf.memory().numTensors;
  const sigmoid: StepSpec = { loss: lossRegistry.get("sigmoid"), lossParams: { beta: 0.1 }, alpha: 1 };
  const own = { chosen: [-3 * logV, -1 * logV], rejected: [-1 * logV, -2 * logV] };
  const out = alphaSpinGradients(sigmoid, policy, policy.trainableVariables(), pairsWith(own));
  assertClose([out.pack.dataSync()[0]], [Math.log(2)], { atol: 1e-6 });
  assert.equal(out.grads.length, policy.trainableVariables().length);
  assertClose([metricOf(out, "logps/chosen"), metricOf(out, "logps/rejected")], [-2 * logV, -1.5 * logV], { atol: 1e-5 });
  assertClose([metricOf(out, "rewards/margins")], [0], { atol: 1e-5 });
  tf.dispose([...out.grads, out.pack]);
  assert.equal(tf.memory().numTensors, before);
});

test("training step: pre-computed references enter the sigmoid loss as softplus(−β·h), with lp_ref = α·lp_prev + (1 − α)·lp_base", () => {
  const prev = { chosen: [-10, -2], rejected: [-4, -9] }, base = { chosen: [-6, -3], rejected: [-5, -1] };
  const beta = 0.5, alpha = 0.25;
  const out = alphaSpinGradients(
    { loss: lossRegistry.get("sigmoid"), lossParams: { beta }, alpha },
    policy,
    policy.trainableVariables(),
    pairsWith(prev, base),
  );
  const ref = (p: number, b: number) => alpha * p + (1 - alpha) * b;
  const chosen = [-3 * logV, -logV], rejected = [-logV, -2 * logV];
  const losses = chosen.map((c, i) =>
    softplus(-beta * ((c - ref(prev.chosen[i], base.chosen[i])) - (rejected[i] - ref(prev.rejected[i], base.rejected[i]))))
  );
  assertClose([out.pack.dataSync()[0]], [(losses[0] + losses[1]) / 2], { atol: 1e-5 });
  tf.dispose([...out.grads, out.pack]);
});

test("training step: length-normalized ipo gets the token counts", () => {
  const refs = { chosen: [-10, -2], rejected: [-4, -9] };
  const out = alphaSpinGradients({ loss: lossRegistry.get("ipo"), lossParams: {}, alpha: 1 }, policy, policy.trainableVariables(), pairsWith(refs));
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
  const sigmoid: StepSpec = { loss: lossRegistry.get("sigmoid"), lossParams: { beta: 0.7 }, alpha: 1 };
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
  const expected = [0, 1].map((i) => softplus(-0.7 * ((lp[i] - data[i].lpPrevChosen) - (lp[i + 2] - data[i].lpPrevRejected))));
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
