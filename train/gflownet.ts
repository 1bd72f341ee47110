/**
 * Fitting a GFlowNet sampler q_θ(y|x) ∝ π_prev(y|x)^α · π_base(y|x)^(1−α), the α-SPIN reference,
 * with the sub-trajectory balance objective of samplers/subtb.ts (Hu et al., ICLR 2024; the α-SPIN
 * paper's appendix samples its reference this way).
 *
 * The sampler is a policy on the models' architecture, usually the base model with a LoRA adapter
 * (started at π_prev's adapter or fresh). One step:
 *
 * 1. trajectories: part fresh from q_θ at an exploration temperature (SubTB is off-policy, so any
 *    proposal is allowed), part replayed from a buffer that keeps each prompt's highest-reward
 *    answers seen so far;
 * 2. every prefix's terms from one forward pass per model (prefixTerms): q_θ's with gradient,
 *    π_prev's and π_base's without, giving log R(s_i⊤) = α·log π_prev(s_i⊤) + (1−α)·log π_base(s_i⊤);
 * 3. one Adam step on the SubTB loss.
 *
 * Defaults and where they come from: λ = 1 (every sub-trajectory weighted alike; Hu et al. report λ
 * near 1), exploration temperature 1.5 with half of each batch replayed (Hu et al. explore by
 * tempered sampling and replay high-reward sequences; the exact mix is ours), learning rate 1e-3
 * (a common LoRA rate, ours).
 *
 * @example
 * ```ts
 * import { TransformerPolicy, type Policy } from "../models/policy.ts";
 * import { createLoraAdapter } from "../models/lora.ts";
 * declare const base: TransformerPolicy; // π_base
 * declare const prev: Policy; // π_{t−1}
 * declare const prompts: number[][];
 * const sampler = new TransformerPolicy(base.model, createLoraAdapter(base.model, { r: 4, seed: 1 }));
 * const report = await fitGFlowNetSampler({ sampler, prev, base, alpha: 0.5, prompts, maxNewTokens: 8, steps: 200 });
 * report.losses.at(-1); // the last step's SubTB loss
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { tfjsOps } from "../backends/tfjs.ts";
import { forkRng, nextIndex, type Rng, rngFromSeed } from "../core/rng.ts";
import { generate } from "../models/generate.ts";
import type { Policy } from "../models/policy.ts";
import { geometricTerminalReward, subTrajectoryBalance } from "../samplers/subtb.ts";

/** Every prefix's terms of a batch of answers under one policy, [B, L + 1] each. */
export interface PrefixTerms {
  /** log π(s_i) = Σ_{k≤i} log π(y_k | x, s_{k−1}), 0 at i = 0. */
  readonly logPrefix: tf.Tensor2D;
  /** log π(⊤ | x, s_i), the EOS log-prob after prefix i; 0 at i = L (the stop is forced there). */
  readonly logStop: tf.Tensor2D;
  /** 1 for i ≤ |y|, else 0. */
  readonly mask: tf.Tensor2D;
}

/**
 * The prefix terms of `answers` (without their EOS) after `prompts` under `policy`, from one
 * forward pass: prompts are left-padded so that answer position k sits in one column for every
 * row. `maxLength` L is the longest answer allowed; at length L the stop is forced (log-prob 0).
 * Differentiable in the policy's trainable variables when called inside `tf.variableGrads`.
 *
 * @example
 * ```ts
 * import type { Policy } from "../models/policy.ts";
 * declare const policy: Policy;
 * const { logPrefix, logStop, mask } = prefixTerms(policy, [[1, 2]], [[5, 6]], 2, 8);
 * ```
 */
export const prefixTerms = (
  policy: Pick<Policy, "logits">,
  prompts: readonly (readonly number[])[],
  answers: readonly (readonly number[])[],
  eosId: number,
  maxLength: number,
): PrefixTerms =>
  tf.tidy(() => {
    const b = prompts.length, p = Math.max(...prompts.map((x) => x.length)), n = maxLength + 1;
    const width = p + maxLength;
    const ids = new Int32Array(b * width), attention = new Float32Array(b * width);
    const next = new Int32Array(b * maxLength), mask = new Float32Array(b * n);
    answers.forEach((y, row) => {
      if (y.length > maxLength) throw new RangeError(`prefixTerms: answer ${row} has ${y.length} tokens, more than maxLength ${maxLength}`);
      const prompt = prompts[row];
      prompt.forEach((id, j) => {
        ids[row * width + p - prompt.length + j] = id;
        attention[row * width + p - prompt.length + j] = 1;
      });
      y.forEach((id, k) => {
        ids[row * width + p + k] = id;
        attention[row * width + p + k] = 1;
        next[row * maxLength + k] = id;
      });
      for (let i = 0; i <= y.length; i++) mask[row * n + i] = 1;
    });
    const logits = policy.logits(tf.tensor2d(ids, [b, width], "int32"), tf.tensor2d(attention, [b, width]));
    // Column p − 1 + i holds the next-token distribution after prefix s_i.
    const logp = tf.logSoftmax(tf.slice(logits, [0, p - 1, 0], [b, n, logits.shape[2]]));
    const stopFree = tf.reshape(tf.slice(logp, [0, 0, eosId], [b, n, 1]), [b, n]);
    const forced = tf.concat([tf.ones([b, n - 1]), tf.zeros([b, 1])], 1); // stop forced at i = L
    const logStop = tf.mul(stopFree, forced);
    const steps = tf.slice(logp, [0, 0, 0], [b, maxLength, logits.shape[2]]);
    const tokenLogp = tf.sum(tf.mul(steps, tf.oneHot(tf.tensor2d(next, [b, maxLength], "int32"), logits.shape[2])), 2);
    const maskT = tf.tensor2d(mask, [b, n]);
    const stepMask = tf.slice(maskT, [0, 1], [b, maxLength]); // step k exists when k ≤ |y|
    const logPrefix = tf.concat([tf.zeros([b, 1]), tf.cumsum(tf.mul(tokenLogp, stepMask), 1)], 1);
    return { logPrefix: logPrefix as tf.Tensor2D, logStop: tf.mul(logStop, maskT) as tf.Tensor2D, mask: maskT };
  });

/**
 * log R(s_i⊤) of the geometric mixture for every prefix of the answers, [B, L + 1] (no gradient).
 *
 * @example
 * ```ts
 * import type { Policy } from "../models/policy.ts";
 * declare const prev: Policy;
 * declare const base: Policy;
 * const prompts = [[4], [4]];
 * const answers = [[1, 2], [3]];
 * const eosId = 0;
 * const logReward = mixtureRewards(prev, base, 0.5, prompts, answers, eosId, 8);
 * ```
 */
export const mixtureRewards = (
  prev: Pick<Policy, "logits">,
  base: Pick<Policy, "logits">,
  alpha: number,
  prompts: readonly (readonly number[])[],
  answers: readonly (readonly number[])[],
  eosId: number,
  maxLength: number,
): tf.Tensor2D =>
  tf.tidy(() => {
    const a = prefixTerms(prev, prompts, answers, eosId, maxLength);
    const c = prefixTerms(base, prompts, answers, eosId, maxLength);
    return tf.mul(geometricTerminalReward(tfjsOps)(alpha, a.logPrefix, a.logStop, c.logPrefix, c.logStop), a.mask) as tf.Tensor2D;
  });

/** Options of {@link fitGFlowNetSampler}. */
export interface GFlowNetFitOptions {
  /** The sampler q_θ; its trainable variables (a LoRA adapter's) are fitted. */
  readonly sampler: Policy;
  /** π_prev and π_base (frozen). */
  readonly prev: Policy;
  readonly base: Policy;
  /** Weight α of π_prev in the reference, in [0, 1]. */
  readonly alpha: number;
  /** The prompts (token ids) the sampler is fitted on. */
  readonly prompts: readonly (readonly number[])[];
  /** Longest answer L; longer ones are cut at L with the stop forced. */
  readonly maxNewTokens: number;
  /** Optimizer steps. */
  readonly steps: number;
  /** Trajectories per step (default 16). */
  readonly batchSize?: number;
  /** Adam's learning rate (default 1e-3). */
  readonly lr?: number;
  /** Sub-trajectory weight λ (default 1). */
  readonly lambda?: number;
  /** Temperature of the fresh, exploratory trajectories (default 1.5). */
  readonly explorationTemperature?: number;
  /** Share of each batch replayed from the buffer once it holds answers (default 0.5). */
  readonly replayFraction?: number;
  /** Answers kept per prompt in the replay buffer, the highest-reward ones (default 32). */
  readonly replayPerPrompt?: number;
  /** Seed of prompt choice, generation and replay (default 0). */
  readonly seed?: number;
  /** The EOS id (default: the sampler config's first EOS id). */
  readonly eosTokenId?: number;
  /** Called after every step with its index (from 1), loss and the forward tokens spent so far. */
  readonly onStep?: (step: number, loss: number, forwardTokens: number) => void | Promise<void>;
}

/** What {@link fitGFlowNetSampler} reports. */
export interface GFlowNetFitReport {
  /** The SubTB loss of every step. */
  readonly losses: number[];
  /**
   * Model-token forward passes spent: a fresh trajectory's generation (prompt + L), π_prev's and
   * π_base's scoring (2·(prompt + L)) and q's forward with its backward (counted as 3·(prompt + L)).
   */
  readonly forwardTokens: number;
}

interface Replayed {
  readonly answer: number[];
  readonly logReward: number;
}

/** Keep each prompt's `size` highest-reward distinct answers. */
const remember = (buffer: Map<number, Replayed[]>, prompt: number, entry: Replayed, size: number): void => {
  const kept = buffer.get(prompt) ?? [];
  if (kept.some((e) => e.answer.join() === entry.answer.join())) return;
  kept.push(entry);
  kept.sort((a, b) => b.logReward - a.logReward);
  buffer.set(prompt, kept.slice(0, size));
};

/** Fresh answers from the sampler at the exploration temperature, cut at L, EOS removed. */
const explore = async (options: GFlowNetFitOptions, prompts: number[], eos: number, rng: Rng): Promise<{ answers: number[][]; rng: Rng }> => {
  const out = await generate(options.sampler, prompts.map((i) => options.prompts[i]), {
    maxNewTokens: options.maxNewTokens,
    temperature: options.explorationTemperature ?? 1.5,
    eosTokenIds: eos,
    rng,
  });
  return { answers: out.completions.map((c) => c.filter((t, k) => !(t === eos && k === c.length - 1))), rng: out.rng };
};

/**
 * Fit the sampler's trainable variables by SubTB so that q_θ(y|x) ∝ π_prev^α π_base^(1−α).
 * Deterministic for a given seed on a given backend.
 *
 * @example
 * ```ts
 * import type { Policy } from "../models/policy.ts";
 * declare const sampler: Policy; // trainable (e.g. π_base with a LoRA adapter)
 * declare const prev: Policy;
 * declare const base: Policy;
 * const { losses } = await fitGFlowNetSampler({ sampler, prev, base, alpha: 0.5, prompts: [[4]], maxNewTokens: 3, steps: 100 });
 * ```
 */
export const fitGFlowNetSampler = async (options: GFlowNetFitOptions): Promise<GFlowNetFitReport> => {
  if (!(options.alpha >= 0 && options.alpha <= 1)) throw new RangeError(`fitGFlowNetSampler: alpha must be in [0, 1], got ${options.alpha}`);
  if (options.prompts.length === 0) throw new RangeError("fitGFlowNetSampler: no prompts");
  const eos = options.eosTokenId ?? options.sampler.config.eosTokenIds[0];
  if (eos === undefined) throw new RangeError("fitGFlowNetSampler: the sampler's config has no EOS id; pass eosTokenId");
  const batch = options.batchSize ?? 16, replayShare = options.replayFraction ?? 0.5, perPrompt = options.replayPerPrompt ?? 32;
  const optimizer = tf.train.adam(options.lr ?? 1e-3);
  const variables = options.sampler.trainableVariables();
  const buffer = new Map<number, Replayed[]>();
  const losses: number[] = [];
  let forwardTokens = 0;
  let rng = forkRng(rngFromSeed(options.seed ?? 0), "gflownet");
  for (let step = 0; step < options.steps; step++) {
    const replayCount = buffer.size > 0 ? Math.round(batch * replayShare) : 0;
    const chosen: number[] = [];
    for (let k = 0; k < batch; k++) {
      const [i, next] = nextIndex(rng, options.prompts.length);
      chosen.push(i);
      rng = next;
    }
    const fresh = await explore(options, chosen.slice(replayCount), eos, rng);
    rng = fresh.rng;
    const answers = chosen.map((prompt, k) => {
      if (k >= replayCount) return fresh.answers[k - replayCount];
      const kept = buffer.get(prompt);
      if (kept === undefined || kept.length === 0) return fresh.answers[0] ?? [];
      const [j, next] = nextIndex(rng, kept.length);
      rng = next;
      return kept[j].answer;
    });
    const prompts = chosen.map((i) => options.prompts[i]);
    const logReward = mixtureRewards(options.prev, options.base, options.alpha, prompts, answers, eos, options.maxNewTokens);
    const { value, grads } = tf.variableGrads(() => {
      const q = prefixTerms(options.sampler, prompts, answers, eos, options.maxNewTokens);
      return subTrajectoryBalance(tfjsOps)({ logReward, logStop: q.logStop, logPrefix: q.logPrefix, mask: q.mask }, { lambda: options.lambda }) as tf.Scalar;
    }, variables);
    optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
    losses.push((await value.data())[0]);
    const rewards = await logReward.array();
    answers.forEach((answer, k) => remember(buffer, chosen[k], { answer, logReward: rewards[k][answer.length] }, perPrompt));
    tf.dispose([value, logReward, ...Object.values(grads)]);
    const perRow = prompts.map((p) => p.length + options.maxNewTokens);
    forwardTokens += perRow.slice(replayCount).reduce((a, b) => a + b, 0) + 5 * perRow.reduce((a, b) => a + b, 0);
    await options.onStep?.(step + 1, losses[step], forwardTokens);
  }
  optimizer.dispose();
  return { losses, forwardTokens };
};
