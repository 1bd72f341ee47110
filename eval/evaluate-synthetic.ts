/**
 * The synthetic task's evaluation of a model (data/synthetic.ts), in one call:
 *
 * - exact-match accuracy: greedy decoding of every prompt, the content extracted by
 *   `extractAnswer` (the last word before EOS or newline) and compared with the deterministic
 *   content; weighted by the prompt distribution, so it is the expected accuracy on a fresh prompt;
 * - KL(p_data ‖ π) = E_x Σ_y p_data(y|x)·(log p_data(y|x) − log π(y|x)), summed exactly over every
 *   prompt's support (two or three phrasings) and the prompt distribution (366 prompts by default),
 *   with the model's mass on the support;
 * - the token-weighted NLL and perplexity of held-out samples of p_data.
 *
 * Each number is also reported per family (add, rev, up, cap).
 *
 * @example
 * ```ts
 * import { evaluateSynthetic } from "./evaluate-synthetic.ts";
 * import { makeSyntheticTask } from "../data/synthetic.ts";
 * import type { Policy } from "../models/policy.ts";
 * import type { Tokenizer } from "../models/tokenizer.ts";
 * declare const policy: Policy;
 * declare const tokenizer: Tokenizer;
 * const task = makeSyntheticTask({ seed: 1, nTrain: 0, nHeldOut: 200, nTest: 0 });
 * const r = await evaluateSynthetic({ policy, tokenizer }, { heldOut: task.heldOut });
 * console.log(r.exactMatch, r.kl, r.heldOutNll);
 * ```
 *
 * @module
 */
import {
  answerDistribution,
  enumerateSyntheticPrompts,
  isSyntheticCorrect,
  syntheticContent,
  type SyntheticFamilyName,
  type WeightedPrompt,
} from "../data/synthetic.ts";
import {
  type EvalModel,
  exactMatchEval,
  heldOutNll,
  klToKnownDistribution,
  type PromptCompletion,
} from "./evaluate.ts";

/** Options of {@link evaluateSynthetic}. */
export interface SyntheticEvalOptions {
  /** Held-out samples of p_data for the NLL (none: NLL and perplexity are NaN). */
  readonly heldOut?: readonly PromptCompletion[];
  /** The prompts and their weights. Default: every prompt of the task with its probability. */
  readonly prompts?: readonly WeightedPrompt[];
  /** Longest greedy answer. Default 16 (the longest answer has 13 bytes). */
  readonly maxNewTokens?: number;
  /** Rows per scoring pass. Default 64. */
  readonly batchSize?: number;
}

/** Per-family numbers (families with no prompt are left out). */
export type ByFamily = Partial<Record<SyntheticFamilyName, number>>;

/** The synthetic evaluation of one model. */
export interface SyntheticEvaluation {
  /** Expected exact-match accuracy of greedy answers under the prompt distribution. */
  readonly exactMatch: number;
  readonly exactMatchByFamily: ByFamily;
  /** E_x KL(p_data ‖ π), nats, exact over the support. */
  readonly kl: number;
  readonly klByFamily: ByFamily;
  /** E_x Σ_{y in support} π(y | x). */
  readonly massOnSupport: number;
  /** Held-out NLL per token (nats). */
  readonly heldOutNll: number;
  readonly perplexity: number;
  /** Number of prompts evaluated. */
  readonly prompts: number;
  /** A few greedy answers, for a look: prompt, answer, correct. */
  readonly samples: readonly { readonly prompt: string; readonly generated: string; readonly correct: boolean }[];
}

const byFamily = (prompts: readonly WeightedPrompt[], values: readonly number[]): ByFamily => {
  const sums = new Map<SyntheticFamilyName, { w: number; s: number }>();
  prompts.forEach((p, i) => {
    const acc = sums.get(p.family) ?? { w: 0, s: 0 };
    acc.w += p.weight;
    acc.s += p.weight * values[i];
    sums.set(p.family, acc);
  });
  const out: ByFamily = {};
  for (const [family, { w, s }] of sums) out[family] = w > 0 ? s / w : NaN;
  return out;
};

/**
 * Evaluate a model on the synthetic task (see the module doc).
 *
 * @example
 * ```ts
 * import { makeSyntheticTask } from "../data/synthetic.ts";
 * import type { EvalModel } from "./evaluate.ts";
 * declare const model: EvalModel;
 * const task = makeSyntheticTask({ seed: 1, nTrain: 0, nHeldOut: 200, nTest: 0 });
 * const r = await evaluateSynthetic(model, { heldOut: task.heldOut.slice(0, 100) });
 * r.klByFamily.add; // KL on the add prompts
 * ```
 */
export const evaluateSynthetic = async (
  model: EvalModel,
  options: SyntheticEvalOptions = {},
): Promise<SyntheticEvaluation> => {
  const prompts = options.prompts ?? enumerateSyntheticPrompts();
  const em = await exactMatchEval(
    model,
    prompts.map((p) => ({ prompt: p.prompt, answer: syntheticContent(p.prompt), weight: p.weight })),
    { maxNewTokens: options.maxNewTokens ?? 16, isCorrect: (prompt, generated) => isSyntheticCorrect(prompt, generated) },
  );
  const kl = await klToKnownDistribution(
    model,
    prompts.map((p) => ({ prompt: p.prompt, weight: p.weight, support: answerDistribution(p.prompt) })),
    { batchSize: options.batchSize },
  );
  const nll = options.heldOut === undefined || options.heldOut.length === 0
    ? { nllPerToken: NaN, perplexity: NaN }
    : await heldOutNll(model, options.heldOut, { batchSize: options.batchSize });
  const step = Math.max(1, Math.floor(prompts.length / 8));
  return {
    exactMatch: em.accuracy,
    exactMatchByFamily: byFamily(prompts, em.predictions.map((p) => (p.correct ? 1 : 0))),
    kl: kl.kl,
    klByFamily: byFamily(prompts, kl.perPrompt),
    massOnSupport: kl.massOnSupport,
    heldOutNll: nll.nllPerToken,
    perplexity: nll.perplexity,
    prompts: prompts.length,
    samples: em.predictions.filter((_, i) => i % step === 0).slice(0, 8),
  };
};
