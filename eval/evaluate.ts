/**
 * Model-facing evaluation: the metric functions of metrics.ts and multiple-choice.ts, fed by a
 * {@link Policy} and its {@link Tokenizer}.
 *
 * Sequence convention (the one self-play trains with, selfplay/examples.ts): prompt and completion
 * are tokenized separately; the tokenizer's BOS, when it has one, goes before the prompt; the EOS,
 * when it has one, goes after the completion (except for multiple-choice continuations, which are
 * scored as lm-evaluation-harness scores them: without EOS). log π(y | x) is the sum of the
 * completion tokens' log-probs.
 *
 * - {@link scoreCompletions}: log π(y | x) and token counts for (prompt, completion) pairs, batched;
 * - {@link heldOutNll}: token-weighted NLL, perplexity and bits per byte of held-out completions;
 * - {@link greedyCompletions} / {@link exactMatchEval}: greedy decoding, answer extraction (last
 *   number, a regex, or a function) and exact-match accuracy with its standard error;
 * - {@link klToKnownDistribution}: KL(p_data ‖ π) summed exactly over a known finite support, per
 *   prompt, averaged with prompt weights;
 * - {@link multipleChoiceEval}: acc / acc_norm by log-likelihood of each choice.
 *
 * The synthetic task's bundle of these is in evaluate-synthetic.ts.
 *
 * @example
 * ```ts
 * import { heldOutNll, klToKnownDistribution } from "./evaluate.ts";
 * import { answerDistribution } from "../data/synthetic.ts";
 * import type { Policy } from "../models/policy.ts";
 * import type { Tokenizer } from "../models/tokenizer.ts";
 * declare const policy: Policy;
 * declare const tokenizer: Tokenizer;
 * const model = { policy, tokenizer };
 * (await heldOutNll(model, [{ prompt: "add 3 4\n", completion: "= 7" }])).nllPerToken;
 * (await klToKnownDistribution(model, [{ prompt: "add 3 4\n", weight: 1, support: answerDistribution("add 3 4\n") }])).kl;
 * ```
 *
 * @module
 */
import type { Policy } from "../models/policy.ts";
import { tokenizePair, type Tokenizer } from "../models/tokenizer.ts";
import {
  aggregateNll,
  type AnswerExtractor,
  exactMatch,
  klFromArrays,
  meanSpread,
  type NllSummary,
  type SupportProbability,
} from "./metrics.ts";
import {
  evaluateMultipleChoice,
  type MultipleChoiceOptions,
  type MultipleChoiceRow,
  type MultipleChoiceSummary,
} from "./multiple-choice.ts";

/** A model to evaluate: the policy (base, or base + adapter) and its tokenizer. */
export interface EvalModel {
  readonly policy: Policy;
  readonly tokenizer: Tokenizer;
}

/** How sequences are built and batched. */
export interface ScoringOptions {
  /** Rows per forward pass. Default 64. */
  readonly batchSize?: number;
  /** Put the tokenizer's BOS before the prompt. Default: when the tokenizer has one. */
  readonly addBos?: boolean;
  /** Put the tokenizer's EOS after the completion. Default: when the tokenizer has one. */
  readonly addEos?: boolean;
}

/** A prompt and one completion of it. */
export interface PromptCompletion {
  readonly prompt: string;
  readonly completion: string;
}

/** Per-pair scores. */
export interface CompletionScores {
  /** log π(completion | prompt), summed over the completion's tokens (EOS included when added). */
  readonly logProbs: number[];
  /** Completion tokens scored per pair. */
  readonly tokenCounts: number[];
}

/**
 * Token ids of a pair under the module's convention: BOS + prompt (or the BOS/EOS alone for an
 * empty prompt, so the first completion token is scored), completion + EOS.
 *
 * @example
 * ```ts
 * import { ByteTokenizer } from "../models/tokenizer.ts";
 * encodePair(new ByteTokenizer(), { prompt: "ab", completion: "c" }); // { promptIds: [258, 97, 98], completionIds: [99, 256] }
 * ```
 */
export const encodePair = (
  tokenizer: Tokenizer,
  pair: PromptCompletion,
  options: Pick<ScoringOptions, "addBos" | "addEos"> = {},
): { promptIds: number[]; completionIds: number[] } => {
  const addBos = options.addBos ?? tokenizer.bosId !== undefined;
  const addEos = options.addEos ?? tokenizer.eosId !== undefined;
  const { promptIds, completionIds } = tokenizePair(tokenizer, pair.prompt, pair.completion, {
    addBos: addBos && tokenizer.bosId !== undefined,
    addEos: addEos && tokenizer.eosId !== undefined,
    checkPrefix: false,
  });
  if (promptIds.length === 0) {
    // The first token is never scored: an empty context is conditioned on the EOS, as lm-evaluation-harness does.
    const start = tokenizer.bosId ?? tokenizer.eosId;
    if (start === undefined) throw new RangeError("scoring: an empty prompt needs a tokenizer with a BOS or EOS token");
    promptIds.push(start);
  }
  return { promptIds, completionIds };
};

/**
 * log π(completion | prompt) of every pair, in batches of `batchSize` rows.
 *
 * @example
 * ```ts
 * import type { Policy } from "../models/policy.ts";
 * import type { Tokenizer } from "../models/tokenizer.ts";
 * declare const policy: Policy;
 * declare const tokenizer: Tokenizer;
 * const { logProbs } = await scoreCompletions({ policy, tokenizer }, [{ prompt: "add 3 4\n", completion: "7" }]);
 * Math.exp(logProbs[0]); // π("7<|eos|>" | "<|bos|>add 3 4\n")
 * ```
 */
export const scoreCompletions = async (
  model: EvalModel,
  pairs: readonly PromptCompletion[],
  options: ScoringOptions = {},
): Promise<CompletionScores> => {
  if (pairs.length === 0) return { logProbs: [], tokenCounts: [] };
  const encoded = pairs.map((p) => encodePair(model.tokenizer, p, options));
  const vocab = model.policy.config.vocabSize;
  encoded.forEach((e, i) => {
    const bad = [...e.promptIds, ...e.completionIds].find((id) => id >= vocab);
    if (bad !== undefined) {
      throw new RangeError(`scoring: pair ${i} has token id ${bad}, outside the model's vocabulary of ${vocab}`);
    }
  });
  return await model.policy.sequenceLogProbs(
    encoded.map((e) => e.promptIds),
    encoded.map((e) => e.completionIds),
    { batchSize: options.batchSize ?? 64 },
  );
};

/**
 * Token-weighted NLL, perplexity and bits per byte (over the completions' UTF-8 bytes, EOS
 * excluded) of held-out (prompt, completion) pairs.
 *
 * @example
 * ```ts
 * import { makeSyntheticTask } from "../data/synthetic.ts";
 * declare const model: EvalModel; // { policy, tokenizer }
 * const task = makeSyntheticTask({ seed: 1, nTrain: 0, nHeldOut: 200, nTest: 0 });
 * const s = await heldOutNll(model, task.heldOut);
 * console.log(s.nllPerToken, s.perplexity);
 * ```
 */
export const heldOutNll = async (
  model: EvalModel,
  pairs: readonly PromptCompletion[],
  options: ScoringOptions = {},
): Promise<NllSummary> => {
  const { logProbs, tokenCounts } = await scoreCompletions(model, pairs, options);
  const utf8 = new TextEncoder();
  return aggregateNll(pairs.map((p, i) => ({
    nll: -logProbs[i],
    tokens: tokenCounts[i],
    bytes: utf8.encode(p.completion).length,
  })));
};

/** Options of greedy decoding. */
export interface GreedyOptions {
  /** Most new tokens per prompt. Default 32. */
  readonly maxNewTokens?: number;
  /** Prompts per generation batch. Default 128. */
  readonly batchSize?: number;
  /** Put the tokenizer's BOS before the prompt. Default: when the tokenizer has one. */
  readonly addBos?: boolean;
}

/**
 * Greedy (argmax) completions of `prompts`, decoded without special tokens (decoding stops at the
 * first EOS).
 *
 * @example
 * ```ts
 * declare const model: EvalModel; // { policy, tokenizer }
 * await greedyCompletions(model, ["add 3 4\n"], { maxNewTokens: 12 }); // ["= 7"]
 * ```
 */
export const greedyCompletions = async (
  model: EvalModel,
  prompts: readonly string[],
  options: GreedyOptions = {},
): Promise<string[]> => {
  if (prompts.length === 0) return [];
  const ids = prompts.map((prompt) =>
    encodePair(model.tokenizer, { prompt, completion: "" }, { addBos: options.addBos, addEos: false }).promptIds
  );
  const eos = model.tokenizer.eosId;
  const out = await model.policy.generate(ids, {
    maxNewTokens: options.maxNewTokens ?? 32,
    greedy: true,
    batchSize: options.batchSize ?? 128,
    ...(eos === undefined ? {} : { eosTokenIds: [eos] }),
  });
  return out.completions.map((c) => model.tokenizer.decode(c, { skipSpecialTokens: true }));
};

/** One exact-match item: a prompt and the reference answer. */
export interface ExactMatchItem {
  readonly prompt: string;
  readonly answer: string;
  /** Weight of the item in the accuracy (default 1). */
  readonly weight?: number;
}

/** Options of {@link exactMatchEval}. */
export interface ExactMatchEvalOptions extends GreedyOptions {
  /** How the answer is taken from the generation. Default `"last-number"` (GSM8K style). */
  readonly extract?: AnswerExtractor;
  /** Compare case-insensitively. Default false. */
  readonly ignoreCase?: boolean;
  /** Decide correctness directly (overrides `extract`): e.g. the synthetic task's checker. */
  readonly isCorrect?: (prompt: string, generated: string, answer: string) => boolean;
}

/** Exact-match accuracy with its standard error, and every prediction. */
export interface ExactMatchResult {
  readonly n: number;
  /** Weighted fraction of correct items. */
  readonly accuracy: number;
  /** Standard error of the unweighted mean of the 0/1 scores (NaN for fewer than 2 items). */
  readonly stderr: number;
  readonly predictions: readonly { readonly prompt: string; readonly generated: string; readonly correct: boolean }[];
}

/**
 * Greedy-decode every prompt and score it by exact match after answer extraction.
 *
 * @example
 * ```ts
 * declare const model: EvalModel; // { policy, tokenizer }
 * const r = await exactMatchEval(model, [{ prompt: "Q: 2+2?\nA:", answer: "4" }], { extract: "last-number" });
 * r.accuracy;
 * ```
 */
export const exactMatchEval = async (
  model: EvalModel,
  items: readonly ExactMatchItem[],
  options: ExactMatchEvalOptions = {},
): Promise<ExactMatchResult> => {
  const generated = await greedyCompletions(model, items.map((i) => i.prompt), options);
  const judge = options.isCorrect ??
    ((_p: string, g: string, r: string): boolean =>
      exactMatch(g, r, { extract: options.extract ?? "last-number", ignoreCase: options.ignoreCase ?? false }));
  const scores = items.map((item, k) => (judge(item.prompt, generated[k], item.answer) ? 1 : 0));
  let total = 0, hits = 0;
  items.forEach((item, k) => {
    const w = item.weight ?? 1;
    total += w;
    hits += w * scores[k];
  });
  return {
    n: items.length,
    accuracy: total > 0 ? hits / total : NaN,
    stderr: meanSpread(scores).stderr,
    predictions: items.map((item, k) => ({ prompt: item.prompt, generated: generated[k], correct: scores[k] === 1 })),
  };
};

/** One prompt with its known answer distribution and its weight in the average. */
export interface KnownDistributionItem {
  readonly prompt: string;
  /** p_data(· | prompt): completions with probabilities summing to 1. */
  readonly support: readonly SupportProbability[];
  /** Weight of the prompt (normalized over the items). Default 1. */
  readonly weight?: number;
}

/** E_x KL(p_data(·|x) ‖ π(·|x)) with its parts, and the per-prompt values. */
export interface KnownDistributionKl {
  /** Weighted mean over prompts of KL(p_data ‖ π), nats. */
  readonly kl: number;
  /** Weighted mean cross-entropy −Σ p log π. */
  readonly crossEntropy: number;
  /** Weighted mean entropy of p_data. */
  readonly entropy: number;
  /** Weighted mean of the model's mass on the support. */
  readonly massOnSupport: number;
  /** KL per prompt, aligned with the items. */
  readonly perPrompt: readonly number[];
  /** log π(y | x) of every support answer, per prompt, aligned with the items' supports. */
  readonly logProbs: readonly (readonly number[])[];
}

/**
 * The exact KL(p_data ‖ π) over a known support, prompt by prompt (every support answer is scored
 * as a full sequence, EOS included), averaged with the prompts' weights.
 *
 * @example
 * ```ts
 * import { answerDistribution, enumerateSyntheticPrompts } from "../data/synthetic.ts";
 * declare const model: EvalModel; // { policy, tokenizer }
 * const r = await klToKnownDistribution(model, enumerateSyntheticPrompts().map((p) => ({
 *   prompt: p.prompt, weight: p.weight, support: answerDistribution(p.prompt) })));
 * r.kl; // nats
 * ```
 */
export const klToKnownDistribution = async (
  model: EvalModel,
  items: readonly KnownDistributionItem[],
  options: ScoringOptions = {},
): Promise<KnownDistributionKl> => {
  const pairs = items.flatMap((item) => item.support.map((a) => ({ prompt: item.prompt, completion: a.completion })));
  const { logProbs } = await scoreCompletions(model, pairs, options);
  let at = 0, total = 0, kl = 0, ce = 0, ent = 0, mass = 0;
  const perPrompt: number[] = [], perAnswer: number[][] = [];
  for (const item of items) {
    const lps = logProbs.slice(at, at + item.support.length);
    at += item.support.length;
    const r = klFromArrays(item.support.map((a) => a.prob), lps);
    const w = item.weight ?? 1;
    total += w;
    kl += w * r.kl, ce += w * r.crossEntropy, ent += w * r.entropy, mass += w * r.modelMassOnSupport;
    perPrompt.push(r.kl);
    perAnswer.push(lps);
  }
  const norm = (x: number): number => (total > 0 ? x / total : NaN);
  return {
    kl: norm(kl),
    crossEntropy: norm(ce),
    entropy: norm(ent),
    massOnSupport: norm(mass),
    perPrompt,
    logProbs: perAnswer,
  };
};

/**
 * Multiple-choice accuracy by log-likelihood (acc, acc_norm, acc_bytes with standard errors): each
 * choice is scored as the continuation `targetDelimiter + choice` of the context, without EOS.
 *
 * @example
 * ```ts
 * import { loadMultipleChoiceJsonl } from "./multiple-choice.ts";
 * declare const model: EvalModel; // { policy, tokenizer }
 * const s = await multipleChoiceEval(model, await loadMultipleChoiceJsonl("arc-easy.jsonl"));
 * console.log(s.acc, s.accNorm);
 * ```
 */
export const multipleChoiceEval = (
  model: EvalModel,
  rows: readonly MultipleChoiceRow[],
  options: MultipleChoiceOptions & Pick<ScoringOptions, "batchSize" | "addBos"> = {},
): Promise<MultipleChoiceSummary> =>
  evaluateMultipleChoice(rows, async (context, continuations) => {
    const pairs = continuations.map((completion) => ({ prompt: context, completion }));
    const scores = await scoreCompletions(model, pairs, { batchSize: options.batchSize, addBos: options.addBos, addEos: false });
    return scores.logProbs;
  }, options);
