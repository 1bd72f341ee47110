/**
 * The preference gradient step (parallel/preference-step.ts) on a model whose logits are all 0
 * (every weight matrix 0): each completion token has log-prob −log V, so sequence log-probs,
 * losses and metrics have closed forms; the step leaves no tensor behind and refuses bad batches.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertClose, test } from "./harness.ts";
import { lossRegistry } from "../losses/registry.ts";
import { makeConfig } from "../models/config.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { createTransformer } from "../models/transformer.ts";
import {
  disposePreferenceGradients,
  type PreferenceBatch,
  preferenceGradients,
  preferenceStepMetrics,
} from "../parallel/preference-step.ts";

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

const batch: PreferenceBatch = {
  prompts: [[1, 2], [3]],
  chosen: [[4, 5, 6], [7]],
  rejected: [[8], [9, 10]],
};

test("preference step: uniform model, reference = policy: log-probs −L·log V and loss log 2", async () => {
  const before = tf.memory().numTensors;
  const sigmoid = { loss: lossRegistry.get("sigmoid"), lossParams: { beta: 0.1 } };
  const out = preferenceGradients(policy, policy, batch, sigmoid);
  assertClose(await out.policyChosen.data(), [-3 * logV, -1 * logV], { atol: 1e-5 });
  assertClose(await out.policyRejected.data(), [-1 * logV, -2 * logV], { atol: 1e-5 });
  assertClose(await out.refChosen.data(), [-3 * logV, -1 * logV], { atol: 1e-5 });
  assertClose(await out.chosenTokens.data(), [3, 1]);
  assertClose(await out.loss.data(), [Math.log(2)], { atol: 1e-6 });
  assert.equal(out.grads.length, policy.trainableVariables().length);
  const metrics = await preferenceStepMetrics(out, sigmoid);
  assertClose([metrics["logps/chosen"], metrics["rewards/margins"]], [-2 * logV, 0], { atol: 1e-5 });
  disposePreferenceGradients(out);
  assert.equal(tf.memory().numTensors, before);
});

test("preference step: pre-computed references enter the sigmoid loss as softplus(−β·h)", async () => {
  const refChosen = [-10, -2], refRejected = [-4, -9];
  const beta = 0.5;
  const out = preferenceGradients(policy, null, { ...batch, refChosen, refRejected }, {
    loss: lossRegistry.get("sigmoid"),
    lossParams: { beta },
  });
  const chosen = [-3 * logV, -logV], rejected = [-logV, -2 * logV];
  const losses = chosen.map((c, i) =>
    softplus(-beta * ((c - refChosen[i]) - (rejected[i] - refRejected[i])))
  );
  assertClose(await out.loss.data(), [(losses[0] + losses[1]) / 2], { atol: 1e-5 });
  disposePreferenceGradients(out);
});

test("preference step: length-normalized ipo gets the token counts", async () => {
  const refChosen = [-10, -2], refRejected = [-4, -9];
  const out = preferenceGradients(policy, null, { ...batch, refChosen, refRejected }, {
    loss: lossRegistry.get("ipo"),
  });
  const value = (await out.loss.data())[0];
  assert.ok(Number.isFinite(value) && value > 0);
  disposePreferenceGradients(out);
});

test("preference step: malformed batches are refused with the reason", () => {
  const sigmoid = { loss: lossRegistry.get("sigmoid") };
  assert.throws(
    () => preferenceGradients(policy, null, batch, sigmoid),
    /no pre-computed reference log-probs/,
  );
  assert.throws(
    () => preferenceGradients(policy, policy, { ...batch, rejected: [[1]] }, sigmoid),
    /2 prompts, 2 chosen and 1 rejected/,
  );
  assert.throws(
    () => preferenceGradients(policy, null, { ...batch, refChosen: [1, 2] }, sigmoid),
    /both refChosen and refRejected/,
  );
  assert.throws(
    () => preferenceGradients(policy, null, { ...batch, refChosen: [1], refRejected: [1] }, sigmoid),
    /refChosen has 1 values for 2 pairs/,
  );
});

test("preference step: micro-batches of 1 give the loss and gradients of the whole batch", async () => {
  const random = new TransformerPolicy(createTransformer(config, { seed: 4, initStd: 0.3 }));
  const sigmoid = { loss: lossRegistry.get("sigmoid"), lossParams: { beta: 0.7 } };
  const data = { ...batch, refChosen: [-9, -4], refRejected: [-3, -6.5] };
  const whole = preferenceGradients(random, null, data, sigmoid);
  const parts = preferenceGradients(random, null, data, { ...sigmoid, microBatch: 1 });
  // The loss is also checked against its closed form from the policy log-probs.
  const [pc, pr] = [await whole.policyChosen.data(), await whole.policyRejected.data()];
  const expected = [0, 1].map((i) =>
    softplus(-0.7 * ((pc[i] - data.refChosen[i]) - (pr[i] - data.refRejected[i])))
  );
  assertClose(await whole.loss.data(), [(expected[0] + expected[1]) / 2], { atol: 1e-5 });
  assertClose(await parts.loss.data(), await whole.loss.data(), { atol: 1e-6 });
  assertClose(await parts.policyRejected.data(), pr, { atol: 1e-5 });
  for (let i = 0; i < whole.grads.length; i++) {
    assertClose(await parts.grads[i].data(), await whole.grads[i].data(), {
      atol: 1e-6,
      rtol: 1e-4,
      message: `grad ${i}`,
    });
  }
  assert.throws(
    () => preferenceGradients(random, null, data, { ...sigmoid, microBatch: 0 }),
    /microBatch must be a positive integer/,
  );
  disposePreferenceGradients(whole);
  disposePreferenceGradients(parts);
  random.model.dispose();
});
