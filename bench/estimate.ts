/**
 * What one α-SPIN iteration over P prompts would take at the rates a benchmark measured. An
 * iteration (selfplay/iteration.ts) generates one loser per prompt, scores every winner and loser
 * under the reference models (selfplay/reference.ts: the previous iterate and the base; one model at
 * iteration 1), then trains E epochs of LoRA DPO steps over the P pairs with those log-probs
 * pre-computed. With ctx-token sequences whose first ctx/4 are the prompt, G = ctx − ctx/4 new
 * tokens per loser:
 *
 *   T = P·G / r_gen + R·2·P·ctx / r_logprob + E·2·P·ctx / r_lora
 *
 * r_gen: generation tokens/s (batch 8, KV cache); r_logprob: no-gradient log-prob tokens/s;
 * r_lora: `dpo_step_lora` tokens/s; R = 2 reference models, E = 3 epochs (the config default). The
 * generation rate is measured after a 16-token prompt, so for longer prompts and losers (each
 * decoding step attends to more keys) the generation term is a lower bound.
 *
 * @example
 * ```ts
 * import { iterationEstimate } from "./estimate.ts";
 * iterationEstimate(512, { generate: 100, logprob: 1000, lora: 200 }).total_s; // 3840 + 2048 + 15360
 * ```
 *
 * @module
 */
import type { IterationEstimate } from "./report.ts";

/** The measured rates, tokens per second. */
export interface IterationRates {
  readonly generate: number;
  readonly logprob: number;
  readonly lora: number;
}

/** The iteration's size: prompts P, epochs E, reference models R. */
export interface IterationShape {
  readonly prompts: number;
  readonly epochs: number;
  readonly referenceModels: number;
}

/** P = 1000 prompts, E = 3 epochs (selfplay/config.ts's default), R = 2 (previous iterate and base). */
export const defaultIterationShape: IterationShape = { prompts: 1000, epochs: 3, referenceModels: 2 };

/** The formula of {@link iterationEstimate}, as printed and written to the JSON. */
export const iterationFormula =
  "T = P·G/r_gen + R·2·P·ctx/r_logprob + E·2·P·ctx/r_lora; G = 3·ctx/4 new tokens per loser, " +
  "R reference models, E epochs, r_* the measured tokens/s of generate, logprob and dpo_step_lora";

/**
 * Seconds of each phase of one iteration for sequences of `ctx` tokens at `rates`.
 *
 * @example
 * ```ts
 * iterationEstimate(512, { generate: 100, logprob: 1000, lora: 200 }, { prompts: 10, epochs: 1, referenceModels: 1 });
 * ```
 */
export const iterationEstimate = (
  ctx: number,
  rates: IterationRates,
  shape: IterationShape = defaultIterationShape,
): IterationEstimate => {
  const newTokens = ctx - ctx / 4;
  const sequenceTokens = 2 * shape.prompts * ctx; // winner and loser of every pair
  const generation_s = (shape.prompts * newTokens) / rates.generate;
  const reference_s = (shape.referenceModels * sequenceTokens) / rates.logprob;
  const training_s = (shape.epochs * sequenceTokens) / rates.lora;
  return { generation_s, reference_s, training_s, total_s: generation_s + reference_s + training_s };
};
