/**
 * Exact distributions over an enumerable answer space, to measure how far a sampler of the α-SPIN
 * reference is from the geometric mixture m(y|x) ∝ π_prev(y|x)^α · π_base(y|x)^(1−α).
 *
 * With a small vocabulary and answers of at most L tokens (the stop forced at L), every answer can
 * be listed and scored in one batch, so each sampler's distribution is known exactly: the fitted
 * GFlowNet sampler's (its own log-probs), the token-level mixture's (the log-softmax of
 * α·log p_prev + (1−α)·log p_base at every position), and the target's. Importance resampling
 * with K candidates has no closed form; {@link resampledDistribution} estimates it by drawing.
 *
 * @example
 * ```ts
 * import type { Policy } from "../models/policy.ts";
 * declare const prev: Policy; // π_{t−1}
 * declare const base: Policy; // π_base
 * declare const sampler: Policy; // the sampler under test
 * const answers = allAnswers([0, 1, 2], 3);                       // 40 answers, [] first
 * const target = mixtureDistribution(prev, base, 0.5, [4], answers, 3, 3);
 * const q = policyDistribution(sampler, [4], answers, 3, 3);         // TV: eval/metrics.ts totalVariation(target, q)
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type Rng, sampleCategorical } from "../core/rng.ts";
import type { Policy } from "../models/policy.ts";
import { mixtureRewards, prefixTerms } from "../train/gflownet.ts";

type Logits = Pick<Policy, "logits">;

/**
 * Every answer over `tokens` of length 0 … `maxLength`, shortest first.
 *
 * @example
 * ```ts
 * allAnswers([7, 8], 2).length; // 1 + 2 + 4 = 7
 * ```
 */
export const allAnswers = (tokens: readonly number[], maxLength: number): number[][] => {
  const out: number[][] = [[]];
  for (let i = 0; i < out.length && out[i].length < maxLength; i++) for (const t of tokens) out.push([...out[i], t]);
  return out;
};

/** Normalize log-weights into probabilities (max-shifted). */
const normalize = (logWeights: readonly number[]): number[] => {
  const m = Math.max(...logWeights);
  const w = logWeights.map((x) => Math.exp(x - m));
  const z = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / z);
};

/** log q(y⊤) of each answer after one prompt under a policy, from its prefix terms. */
const terminalLogProbs = (policy: Logits, prompt: readonly number[], answers: readonly number[][], eos: number, maxLength: number): number[] => {
  const t = prefixTerms(policy, answers.map(() => prompt), answers, eos, maxLength);
  const both = tf.add(t.logPrefix, t.logStop);
  const rows = both.arraySync() as number[][];
  tf.dispose([t.logPrefix, t.logStop, t.mask, both]);
  return answers.map((y, k) => rows[k][y.length]);
};

/**
 * A policy's exact distribution over `answers` (which must be all of its answers after `prompt`).
 *
 * @example
 * ```ts
 * import type { Policy } from "../models/policy.ts";
 * declare const sampler: Policy;
 * const q = policyDistribution(sampler, [4], allAnswers([0, 1, 2], 3), 3, 3); // sums to 1
 * ```
 */
export const policyDistribution = (policy: Logits, prompt: readonly number[], answers: readonly number[][], eos: number, maxLength: number): number[] =>
  terminalLogProbs(policy, prompt, answers, eos, maxLength).map(Math.exp);

/**
 * The target m(y) ∝ π_prev(y⊤)^α π_base(y⊤)^(1−α) over `answers`, normalized.
 *
 * @example
 * ```ts
 * import type { Policy } from "../models/policy.ts";
 * declare const prev: Policy; // π_{t−1}
 * declare const base: Policy; // π_base
 * const m = mixtureDistribution(prev, base, 0.5, [4], allAnswers([0, 1, 2], 3), 3, 3);
 * ```
 */
export const mixtureDistribution = (
  prev: Logits,
  base: Logits,
  alpha: number,
  prompt: readonly number[],
  answers: readonly number[][],
  eos: number,
  maxLength: number,
): number[] => {
  const reward = mixtureRewards(prev, base, alpha, answers.map(() => prompt), answers, eos, maxLength);
  const rows = reward.arraySync() as number[][];
  reward.dispose();
  return normalize(answers.map((y, k) => rows[k][y.length]));
};

/**
 * The token-level geometric mixture as a policy: at every position the log-softmax of
 * α·log p_prev + (1−α)·log p_base (samplers/geometric.ts samples from the same distribution).
 *
 * @example
 * ```ts
 * import type { Policy } from "../models/policy.ts";
 * declare const prev: Policy; // π_{t−1}
 * declare const base: Policy; // π_base
 * const answers = allAnswers([0, 1, 2], 3);
 * const q = policyDistribution(tokenMixturePolicy(prev, base, 0.5), [4], answers, 3, 3);
 * ```
 */
export const tokenMixturePolicy = (prev: Logits, base: Logits, alpha: number): Logits => ({
  logits: (ids, mask) =>
    tf.tidy(() =>
      tf.add(
        tf.mul(tf.logSoftmax(prev.logits(ids, mask)), alpha),
        tf.mul(tf.logSoftmax(base.logits(ids, mask)), 1 - alpha),
      ) as tf.Tensor3D
    ),
});

/**
 * The distribution of sampling–importance–resampling: K candidates from `proposal`, weights
 * r = target/proposal, one kept in proportion to its weight. With S the summed weight of the other
 * K − 1 candidates, P(keep y) = K·q(y)·r(y)·E[1/(r(y) + S)]; the expectation is estimated from
 * `draws` draws of S shared by every y (Rao–Blackwellized: no counting noise, exact at K = 1).
 * Returns the estimate and the advanced rng.
 *
 * @example
 * ```ts
 * import { rngFromSeed } from "../core/rng.ts";
 * const rng = rngFromSeed(1);
 * const target = [0.5, 0.3, 0.2];
 * const proposal = [0.2, 0.3, 0.5];
 * const { estimate } = resampledDistribution(rng, target, proposal, 8, 20_000); // ≈ [0.44, 0.32, 0.23]: nearer target as K grows
 * ```
 */
export const resampledDistribution = (
  rng: Rng,
  target: readonly number[],
  proposal: readonly number[],
  k: number,
  draws: number,
): { estimate: number[]; rng: Rng } => {
  const ratio = target.map((t, i) => (proposal[i] > 0 ? t / proposal[i] : 0));
  const others = new Float64Array(k === 1 ? 1 : draws);
  for (let d = 0; d < others.length && k > 1; d++) {
    let sum = 0;
    for (let j = 0; j < k - 1; j++) {
      const [i, next] = sampleCategorical(rng, proposal);
      rng = next;
      sum += ratio[i];
    }
    others[d] = sum;
  }
  const estimate = ratio.map((r, y) => {
    if (r === 0) return 0;
    let mean = 0;
    for (const s of others) mean += 1 / (r + s);
    return k * proposal[y] * r * (mean / others.length);
  });
  return { estimate, rng };
};
