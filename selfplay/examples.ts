/**
 * SFT examples as token ids for self-play: the prompt (the model's BOS first when it has one and the
 * prompt does not already start with it) and the winner y_w (the SFT answer, EOS appended when the
 * tokenizer has one), tokenized separately as TRL does, and truncated with TRL/SPIN semantics (keep
 * the END of the prompt to maxPromptLength, keep the START of each completion so that
 * prompt + completion ≤ maxLength). Losers get the same truncation when pairs are built.
 *
 * Every check names the example (`file:line`): an empty completion, a prompt that leaves no room
 * for a completion, an id outside the model's vocabulary. {@link checkTokenizerFits} refuses a
 * tokenizer whose vocabulary is larger than the model's embedding.
 *
 * @example
 * ```ts
 * import type { SftExample } from "../data/sft.ts";
 * import type { Tokenizer } from "../models/tokenizer.ts";
 * import type { Transformer } from "../models/transformer.ts";
 * declare const tokenizer: Tokenizer;
 * declare const model: Transformer;
 * declare const examples: SftExample[];
 * checkTokenizerFits(tokenizer, model.config.vocabSize);
 * const prepared = prepareExamples(examples, tokenizer, { maxLength: 512, maxPromptLength: 256, vocabSize: 260 });
 * prepared.examples[0].promptIds; // [bos, ...]
 * ```
 *
 * @module
 */
import { sha256Hex } from "../core/hash.ts";
import { DataError, type DataProblem } from "../data/jsonl.ts";
import { type SftExample, truncateTokenIds } from "../data/sft.ts";
import { tokenizePair, type Tokenizer } from "../models/tokenizer.ts";

/** An SFT example ready for self-play. */
export interface PreparedExample {
  /** Position in the training set (also its id in opponent assignments, as a string). */
  readonly index: number;
  /** The example's own id (`prompt_id`, `id`, or `file:line`). */
  readonly id: string;
  readonly where: string;
  readonly prompt: string;
  readonly completion: string;
  readonly promptMessages: SftExample["promptMessages"];
  /** Prompt ids after truncation (never empty). */
  readonly promptIds: readonly number[];
  /** Winner ids after truncation (never empty). */
  readonly chosenIds: readonly number[];
}

/** Length limits and the model's vocabulary. */
export interface PrepareOptions {
  readonly maxLength: number;
  readonly maxPromptLength: number | null;
  /** The model's vocabulary size: every id must be below it. */
  readonly vocabSize: number;
}

/** Prepared examples, how many were truncated, and tokenizer boundary warnings. */
export interface PreparedExamples {
  readonly examples: readonly PreparedExample[];
  /** Examples whose prompt lost tokens at the start. */
  readonly promptsTruncated: number;
  /** Examples whose answer lost tokens at the end. */
  readonly completionsTruncated: number;
  /** The first tokenizer boundary warning (prompt + answer merge at the boundary), if any. */
  readonly boundaryWarning: string | null;
  /** How many examples had such a boundary. */
  readonly boundaryCount: number;
}

/**
 * Refuse a tokenizer whose vocabulary does not fit the model (ids ≥ the model's vocabulary size
 * would index past the embedding).
 *
 * @example
 * ```ts
 * import type { Tokenizer } from "../models/tokenizer.ts";
 * import type { Transformer } from "../models/transformer.ts";
 * declare const tokenizer: Tokenizer;
 * declare const model: Transformer;
 * checkTokenizerFits(tokenizer, model.config.vocabSize); // throws when tokenizer.vocabSize > vocabSize
 * ```
 */
export const checkTokenizerFits = (tokenizer: Tokenizer, vocabSize: number): void => {
  if (tokenizer.vocabSize > vocabSize) {
    throw new RangeError(
      `the tokenizer's vocabulary (${tokenizer.vocabSize} ids) does not fit the model's (${vocabSize} embedding rows): ` +
        "use the tokenizer that belongs to the model (set \"tokenizer\" in the run config to its folder)",
    );
  }
};

const checkIds = (ids: readonly number[], vocabSize: number, where: string, what: string): DataProblem | null => {
  const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize);
  return bad === undefined ? null : { where, message: `${what} has token id ${bad}, outside the model's vocabulary [0, ${vocabSize})` };
};

/**
 * Tokenize and truncate SFT examples. Problems are collected over all examples and thrown as one
 * {@link DataError} listing the first ten.
 *
 * @example
 * ```ts
 * import type { SftExample } from "../data/sft.ts";
 * import type { Tokenizer } from "../models/tokenizer.ts";
 * declare const sft: SftExample[];
 * declare const tokenizer: Tokenizer;
 * const vocabSize = 50257;
 * const { examples, promptsTruncated } = prepareExamples(sft, tokenizer, { maxLength: 1024, maxPromptLength: 512, vocabSize });
 * ```
 */
export const prepareExamples = (
  examples: readonly SftExample[],
  tokenizer: Tokenizer,
  options: PrepareOptions,
): PreparedExamples => {
  const out: PreparedExample[] = [];
  const problems: DataProblem[] = [];
  let more = 0, promptsTruncated = 0, completionsTruncated = 0, boundaryCount = 0;
  let boundaryWarning: string | null = null;
  const report = (p: DataProblem): void => {
    if (problems.length < 10) problems.push(p);
    else more++;
  };
  examples.forEach((ex, index) => {
    if (ex.completion.trim() === "") return report({ where: ex.where, message: "empty completion" });
    const pair = tokenizePair(tokenizer, ex.prompt, ex.completion, {
      addBos: tokenizer.bosId !== undefined,
      addEos: tokenizer.eosId !== undefined,
    });
    if (!pair.prefixOk) {
      boundaryCount++;
      boundaryWarning ??= `${ex.where}: ${pair.warning}`;
    }
    if (pair.promptIds.length === 0) return report({ where: ex.where, message: "the prompt has no tokens" });
    if (pair.completionIds.length === 0) return report({ where: ex.where, message: "empty completion (no tokens)" });
    let cut;
    try {
      cut = truncateTokenIds(pair.promptIds, [pair.completionIds], options, ex.where);
    } catch (e) {
      if (e instanceof DataError) return e.problems.forEach(report);
      throw e;
    }
    const bad = checkIds(cut.prompt, options.vocabSize, ex.where, "the prompt") ??
      checkIds(cut.completions[0], options.vocabSize, ex.where, "the completion");
    if (bad !== null) return report(bad);
    if (cut.promptCut > 0) promptsTruncated++;
    if (cut.completionCuts[0] > 0) completionsTruncated++;
    out.push({
      index,
      id: ex.id,
      where: ex.where,
      prompt: ex.prompt,
      completion: ex.completion,
      promptMessages: ex.promptMessages,
      promptIds: cut.prompt,
      chosenIds: cut.completions[0],
    });
  });
  if (problems.length > 0) throw new DataError(problems, more);
  if (out.length === 0) throw new DataError([{ where: "training data", message: "no examples" }]);
  return { examples: out, promptsTruncated, completionsTruncated, boundaryWarning, boundaryCount };
};

/**
 * Truncate a loser for its example with the same rule as the winner (the prompt is already
 * within limits, so only the end of the loser can be cut).
 *
 * @example
 * ```ts
 * declare const example: PreparedExample;
 * declare const generatedIds: number[];
 * const vocabSize = 50257;
 * truncateLoser(example, generatedIds, { maxLength: 512, maxPromptLength: 256, vocabSize });
 * ```
 */
export const truncateLoser = (example: PreparedExample, ids: readonly number[], options: PrepareOptions): number[] =>
  truncateTokenIds(example.promptIds, [ids], options, example.where).completions[0];

/**
 * SHA-256 of the tokenized examples (ids, prompt ids, winner ids): the data part of a run's
 * fingerprint and of the reference cache key.
 *
 * @example
 * ```ts
 * declare const prepared: PreparedExamples;
 * const fp = examplesFingerprint(prepared.examples); // 64 hex digits
 * ```
 */
export const examplesFingerprint = (examples: readonly PreparedExample[]): string =>
  sha256Hex(examples.map((e) => `${JSON.stringify(e.id)}|${e.promptIds.join(",")}|${e.chosenIds.join(",")}`).join("\n"));
