/**
 * Token and sequence log-probabilities from logits, and the masks that select completion tokens.
 *
 * Shift-by-one convention (causal language models): the logits a model returns for input ids
 * `ids` of shape [B, T] have shape [B, T, V], and `logits[:, t]` is the distribution of the NEXT
 * token `ids[:, t + 1]`. So the log-probability of the sequence is read from `logits[:, :-1]` at
 * targets `ids[:, 1:]`: [B, T − 1] values, where position j scores token j + 1. The first token has
 * no prediction (it is conditioned on, never scored). {@link nextTokenLogProbs} does that shift;
 * {@link tokenLogProbs} takes logits and targets that are already aligned.
 *
 * Token log-probs are computed as `gather(logits, target) − logsumexp(logits)`, never through a
 * full log-softmax copy of the [B, L, V] logits.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * import { nextTokenLogProbs, completionMask, maskedSum } from "./logprob.ts";
 * const logits = ops.fromArray(new Array(2 * 4 * 5).fill(0), [2, 4, 5]); // uniform over V = 5
 * const ids = ops.fromInts([1, 2, 3, 4, 0, 1, 2, 0], [2, 4]);
 * const lp = nextTokenLogProbs(ops)(logits, ids);                          // [2, 3], all −log 5
 * const mask = completionMask(ops)([2, 1], [4, 3], 3, { forNextToken: true });
 * const perSequence = maskedSum(ops)(lp, mask);                            // [2]: −2 log 5 each
 * ```
 *
 * @module
 */
import type { TensorOps } from "./tensor.ts";

/**
 * Log-probabilities of aligned targets: `logits` [..., L, V] and integer `targets` [..., L]
 * (made with `ops.fromInts`) give [..., L] with `out = logits[target] − logsumexp(logits)`.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const lp = tokenLogProbs(ops)(ops.fromArray([0, Math.log(3)], [1, 1, 2]), ops.fromInts([1], [1, 1]));
 * // log(3 / 4)
 * ```
 */
export const tokenLogProbs = <T>(ops: TensorOps<T>): (logits: T, targets: T) => T => (logits, targets) =>
  ops.tidy(() => ops.sub(ops.gatherLast(logits, targets), ops.logSumExp(logits, -1)));

/**
 * Per-position log-probability of `inputIds[:, 1:]` under `logits[:, :-1]` (the shift-by-one
 * convention of the module doc): `logits` [B, T, V], integer `inputIds` [B, T] → [B, T − 1], where
 * column j is log p(ids[j + 1] | ids[0..j]).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const logits = ops.fromArray(new Array(2 * 4 * 5).fill(0), [2, 4, 5]); // [B = 2, T = 4, V = 5]
 * const inputIds = ops.fromInts([1, 2, 3, 4, 0, 1, 2, 0], [2, 4]);       // [B, T]
 * const lp = nextTokenLogProbs(ops)(logits, inputIds); // [B, T − 1]
 * ```
 */
export const nextTokenLogProbs = <T>(ops: TensorOps<T>): (logits: T, inputIds: T) => T => (logits, inputIds) => {
  const [b, t, v] = ops.shape(logits);
  const idShape = ops.shape(inputIds);
  if (idShape.length !== 2 || idShape[0] !== b || idShape[1] !== t) {
    throw new RangeError(`nextTokenLogProbs: logits [${[b, t, v]}] and input ids [${idShape}] must be [B, T, V] and [B, T]`);
  }
  if (t < 2) throw new RangeError(`nextTokenLogProbs: need at least 2 tokens per row, got T = ${t}`);
  return ops.tidy(() =>
    tokenLogProbs(ops)(ops.slice(logits, [0, 0, 0], [b, t - 1, v]), ops.slice(inputIds, [0, 1], [b, t - 1]))
  );
};

/** Where each row's tokens sit in a padded [B, L] batch: see {@link completionMask}. */
export interface CompletionMaskOptions {
  /**
   * Left padding: the number of pad tokens before row i's first real token (default 0 for every
   * row, i.e. right padding). Row i's prompt then occupies `offsets[i] .. offsets[i] + prompt − 1`.
   */
  readonly offsets?: readonly number[];
  /**
   * When true, the mask is for next-token log-probs ({@link nextTokenLogProbs}): position j scores
   * token j + 1, so mask[j] = 1 iff token j + 1 is a completion token. `length` is then T − 1.
   */
  readonly forNextToken?: boolean;
}

/**
 * A float [B, length] mask that is 1 on completion tokens and 0 on prompt and padding tokens.
 * Row i holds `totalLengths[i]` real tokens (prompt + completion), of which the first
 * `promptLengths[i]` are the prompt; it starts at `offsets[i]` (left padding) or 0 (right padding).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * // right padding: row 0 = [p p c c], row 1 = [p c pad pad]
 * completionMask(ops)([2, 1], [4, 2], 4);                 // [[0,0,1,1],[0,1,0,0]]
 * // left padding: row 1 = [pad pad p c]
 * completionMask(ops)([2, 1], [4, 2], 4, { offsets: [0, 2] }); // [[0,0,1,1],[0,0,0,1]]
 * ```
 */
export const completionMask = <T>(ops: TensorOps<T>): (
  promptLengths: readonly number[],
  totalLengths: readonly number[],
  length: number,
  options?: CompletionMaskOptions,
) => T =>
(promptLengths, totalLengths, length, options = {}) => {
  const b = promptLengths.length;
  if (totalLengths.length !== b) {
    throw new RangeError(`completionMask: ${b} prompt lengths but ${totalLengths.length} total lengths`);
  }
  const offsets = options.offsets ?? new Array<number>(b).fill(0);
  if (offsets.length !== b) throw new RangeError(`completionMask: ${b} rows but ${offsets.length} offsets`);
  const shift = options.forNextToken ? 1 : 0;
  const values = new Float64Array(b * length);
  for (let i = 0; i < b; i++) {
    const p = promptLengths[i], n = totalLengths[i], o = offsets[i];
    if (!Number.isInteger(p) || !Number.isInteger(n) || !Number.isInteger(o) || p < 0 || n < p || o < 0) {
      throw new RangeError(
        `completionMask: row ${i} needs integers 0 <= prompt (${p}) <= total (${n}) and offset (${o}) >= 0`,
      );
    }
    if (o + n > length + shift) {
      throw new RangeError(`completionMask: row ${i} (offset ${o} + ${n} tokens) does not fit in ${length + shift}`);
    }
    for (let j = 0; j < length; j++) {
      const token = j + shift;
      values[i * length + j] = token >= o + p && token < o + n ? 1 : 0;
    }
  }
  return ops.fromArray(values, [b, length]);
};

/**
 * Per-row sum of `values` [B, L] where `mask` [B, L] is 1 → [B].
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * maskedSum(ops)(ops.fromArray([1, 2, 3, 4], [2, 2]), ops.fromArray([1, 0, 1, 1], [2, 2])); // [1, 7]
 * ```
 */
export const maskedSum = <T>(ops: TensorOps<T>): (values: T, mask: T) => T => (values, mask) =>
  ops.tidy(() => ops.sum(ops.mul(values, mask), -1));

/**
 * Number of selected positions per row: the per-row sum of `mask` [B, L] → [B].
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * maskedCount(ops)(ops.fromArray([1, 0, 1, 1], [2, 2])); // [1, 2]
 * ```
 */
export const maskedCount = <T>(ops: TensorOps<T>): (mask: T) => T => (mask) => ops.sum(mask, -1);

/**
 * Per-row mean of `values` [B, L] over positions where `mask` is 1 → [B]. A row with no selected
 * position gives 0 (its count is clamped to 1), never NaN.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * maskedMean(ops)(ops.fromArray([1, 2, 3, 4], [2, 2]), ops.fromArray([1, 0, 1, 1], [2, 2])); // [1, 3.5]
 * ```
 */
export const maskedMean = <T>(ops: TensorOps<T>): (values: T, mask: T) => T => (values, mask) =>
  ops.tidy(() => ops.div(maskedSum(ops)(values, mask), ops.maximum(ops.sum(mask, -1), ops.scalar(1))));

/** Per-sequence log-probabilities and token counts, as returned by {@link sequenceLogProbs}. */
export interface SequenceLogProbs<T> {
  /** Σ log p over the selected tokens, [B] (what DPO-style losses take as lp(y|x)). */
  readonly sum: T;
  /** The same divided by the token count, [B] (0 for a row with no selected token). */
  readonly mean: T;
  /** Number of selected tokens per row, [B]. */
  readonly tokens: T;
}

/**
 * Sequence log-probabilities of the completion tokens: next-token log-probs of `inputIds` [B, T]
 * under `logits` [B, T, V], summed (and averaged) over `mask` [B, T − 1] — a mask in the
 * next-token layout, e.g. `completionMask(ops)(prompts, totals, T − 1, { forNextToken: true })`.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const T = 4;
 * const logits = ops.fromArray(new Array(2 * T * 5).fill(0), [2, T, 5]); // [B = 2, T, V = 5]
 * const inputIds = ops.fromInts([1, 2, 3, 4, 0, 1, 2, 0], [2, T]);
 * const promptLengths = [2, 1], totalLengths = [4, 3];
 * const mask = completionMask(ops)(promptLengths, totalLengths, T - 1, { forNextToken: true });
 * const { sum, tokens } = sequenceLogProbs(ops)(logits, inputIds, mask); // [B], [B]
 * ```
 */
export const sequenceLogProbs = <T>(ops: TensorOps<T>): (logits: T, inputIds: T, mask: T) => SequenceLogProbs<T> =>
(logits, inputIds, mask) =>
  ops.tidy(() => {
    const lp = nextTokenLogProbs(ops)(logits, inputIds);
    const lpShape = ops.shape(lp), maskShape = ops.shape(mask);
    if (lpShape.join() !== maskShape.join()) {
      throw new RangeError(
        `sequenceLogProbs: mask [${maskShape}] must match the next-token log-probs [${lpShape}] (T − 1 columns)`,
      );
    }
    const sum = maskedSum(ops)(lp, mask);
    const tokens = ops.sum(mask, -1);
    const mean = ops.div(sum, ops.maximum(tokens, ops.scalar(1)));
    return { sum, mean, tokens };
  });
