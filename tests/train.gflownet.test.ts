/**
 * train/gflownet.ts and eval/sampler-tv.ts on a tiny random transformer (five tokens, answers of at
 * most three tokens): prefix terms against the policy's own sequence scoring, exact distributions
 * that sum to one, the resampling estimate against an enumeration of its K = 2 draws, and a short
 * SubTB fit that moves the sampler toward the geometric mixture without leaking tensors.
 */
import * as tf from "@tensorflow/tfjs";
import { rngFromSeed } from "../core/rng.ts";
import {
  allAnswers,
  mixtureDistribution,
  policyDistribution,
  resampledDistribution,
  tokenMixturePolicy,
} from "../eval/sampler-tv.ts";
import { totalVariation } from "../eval/metrics.ts";
import { makeConfig } from "../models/config.ts";
import { createLoraAdapter } from "../models/lora.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { createTransformer } from "../models/transformer.ts";
import { fitGFlowNetSampler, prefixTerms } from "../train/gflownet.ts";
import { assert, assertClose, test } from "./harness.ts";

const EOS = 3, BOS = 4, L = 3;
const answers = allAnswers([0, 1, 2, BOS], L);

const setup = async (seed = 1) => {
  await tf.setBackend("cpu");
  const config = makeConfig({ family: "gpt2", vocabSize: 5, hiddenSize: 16, numLayers: 1, numHeads: 2, maxPositions: 16, eosTokenIds: [EOS], bosTokenId: BOS, padTokenId: EOS });
  const model = createTransformer(config, { seed, initStd: 0.5 });
  const adapter = createLoraAdapter(model, { r: 4, targetModules: "all-linear", seed: 2 });
  adapter.variables().forEach((v, i) => v.assign(tf.randomNormal(v.shape, 0, 0.8, "float32", 10 + i)));
  return { model, prev: new TransformerPolicy(model, adapter), base: new TransformerPolicy(model, null) };
};

test("prefixTerms: log π(s_i) + log π(⊤|s_i) is the policy's score of s_i followed by EOS", async () => {
  const { model, prev } = await setup();
  const prompts = [[BOS], [BOS, 0, 1], [BOS, 2]], ys = [[0, 1, 2], [2], []];
  const t = prefixTerms(prev, prompts, ys, EOS, L);
  const prefix = await t.logPrefix.array(), stop = await t.logStop.array(), mask = await t.mask.array();
  for (let row = 0; row < ys.length; row++) {
    for (let i = 0; i <= L; i++) {
      assert.equal(mask[row][i], i <= ys[row].length ? 1 : 0);
      if (i > ys[row].length) continue;
      const scored = i < L ? [...ys[row].slice(0, i), EOS] : ys[row].slice(0, i); // the stop is forced at L
      const expected = (await prev.sequenceLogProbs([prompts[row]], [scored])).logProbs[0];
      assertClose([prefix[row][i] + stop[row][i]], [expected], { atol: 2e-5, message: `row ${row} prefix ${i}` });
    }
  }
  tf.dispose([t.logPrefix, t.logStop, t.mask]);
  model.dispose();
});

test("every enumerated distribution sums to one; the token-level mixture at α = 1 is π_prev", async () => {
  const { model, prev, base } = await setup();
  for (const q of [policyDistribution(base, [BOS], answers, EOS, L), mixtureDistribution(prev, base, 0.3, [BOS], answers, EOS, L)]) {
    assertClose([q.reduce((a, b) => a + b, 0)], [1], { atol: 1e-5 });
  }
  const atOne = policyDistribution(tokenMixturePolicy(prev, base, 1), [BOS], answers, EOS, L);
  assertClose(atOne, policyDistribution(prev, [BOS], answers, EOS, L), { atol: 1e-6 });
  assert.ok(totalVariation(mixtureDistribution(prev, base, 0.5, [BOS], answers, EOS, L), policyDistribution(tokenMixturePolicy(prev, base, 0.5), [BOS], answers, EOS, L)) > 0.01);
  model.dispose();
});

test("resampledDistribution: exact at K = 1, and at K = 2 agrees with the enumeration of both candidates", () => {
  const target = [0.6, 0.3, 0.1], proposal = [0.2, 0.3, 0.5];
  assert.deepEqual(resampledDistribution(rngFromSeed(1), target, proposal, 1, 10).estimate.map((x) => +x.toFixed(12)), proposal);
  const r = target.map((t, i) => t / proposal[i]);
  const exact = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) {
      const p = proposal[a] * proposal[b], z = r[a] + r[b];
      exact[a] += (p * r[a]) / z;
      exact[b] += (p * r[b]) / z;
    }
  }
  assertClose(resampledDistribution(rngFromSeed(2), target, proposal, 2, 40_000).estimate, exact, { atol: 5e-3 });
});

test("a short SubTB fit moves the sampler toward the geometric mixture, with no tensor left behind", async () => {
  const { model, prev, base } = await setup();
  const sampler = new TransformerPolicy(model, createLoraAdapter(model, { r: 4, targetModules: "all-linear", seed: 5 }));
  const prompts = [[BOS], [BOS, 0]];
  const tv = () => prompts.reduce((s, p) => s + totalVariation(mixtureDistribution(prev, base, 0.5, p, answers, EOS, L), policyDistribution(sampler, p, answers, EOS, L)), 0) / 2;
  const before = tv(), tensors = tf.memory().numTensors;
  const report = await fitGFlowNetSampler({ sampler, prev, base, alpha: 0.5, prompts, maxNewTokens: L, steps: 60, lr: 1e-2, seed: 3 });
  assert.equal(tf.memory().numTensors, tensors);
  const after = tv();
  assert.ok(after < 0.6 * before, `TV ${before} → ${after}`);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(mean(report.losses.slice(-10)) < mean(report.losses.slice(0, 10)));
  assert.ok(report.forwardTokens > 0);
  await assert.rejects(fitGFlowNetSampler({ sampler, prev, base, alpha: 2, prompts, maxNewTokens: L, steps: 1 }), /alpha/);
  await assert.rejects(fitGFlowNetSampler({ sampler, prev, base, alpha: 0.5, prompts: [], maxNewTokens: L, steps: 1 }), /no prompts/);
  model.dispose();
}, { timeout: 300_000 });
