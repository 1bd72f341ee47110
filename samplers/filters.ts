/**
 * Host-side, pure filters that turn one row of next-token logits into the sampling distribution:
 * temperature, then top-k, then top-p (nucleus), then min-p, or greedy (argmax). Float64, no
 * tensors, no randomness: {@link sampleNextToken} and any generation loop call these, and tests
 * can check them directly.
 *
 * Order and conventions (the order of Hugging Face `generate`'s logits warpers):
 * 1. temperature T: z_i = (x_i − max_j x_j) / T. T = 0 means greedy.
 * 2. top-k: keep the k largest z (ties broken toward the lower token id, so exactly k are kept).
 * 3. top-p: among the kept tokens, renormalized, keep the smallest set of most likely tokens
 *    (same tie-break) whose probability mass reaches p; the most likely token is always kept.
 * 4. min-p: keep the tokens whose probability is at least minP times the most likely token's
 *    (z_i ≥ log minP, since the top token has z = 0 and survives every filter).
 * Dropped tokens get −Infinity. Greedy returns 0 at the argmax (lowest id among ties) and −Infinity
 * elsewhere.
 *
 * @example
 * ```ts
 * import { filterLogits, samplingLogProbs } from "./filters.ts";
 * filterLogits([2, 1, 0, -1], { topK: 2 });          // [0, -1, -Infinity, -Infinity]
 * samplingLogProbs([2, 1, 0, -1], { temperature: 0.5, topP: 0.8 }); // log-probs, −Infinity outside the nucleus
 * ```
 *
 * @module
 */

/** Options of next-token sampling. Every field is optional; the defaults change nothing. */
export interface SamplingOptions {
  /** Divide the logits by T > 0 (default 1). T = 0 is greedy decoding. */
  readonly temperature?: number;
  /** Keep only the k most likely tokens (an integer >= 1; default, or Infinity: all). */
  readonly topK?: number;
  /** Nucleus: keep the smallest most-likely set with mass >= p, 0 < p <= 1 (default 1: all). */
  readonly topP?: number;
  /** Keep tokens with probability >= minP · (top probability), 0 <= minP < 1 (default 0: all). */
  readonly minP?: number;
  /** Always take the argmax, lowest token id among ties (default false). */
  readonly greedy?: boolean;
}

/** Sampling options with every default filled in; `topK` is Infinity when off. */
export interface ResolvedSamplingOptions {
  /** Temperature T > 0 (greedy when the caller gave 0). */
  readonly temperature: number;
  /** Number of most likely tokens kept; Infinity when off. */
  readonly topK: number;
  /** Nucleus mass in (0, 1]; 1 when off. */
  readonly topP: number;
  /** Relative probability floor in [0, 1); 0 when off. */
  readonly minP: number;
  /** True for argmax decoding (greedy: true or temperature 0). */
  readonly greedy: boolean;
}

/**
 * Check sampling options and fill in the defaults. Throws a RangeError that names the option and
 * the rule it broke: temperature a finite number >= 0 (0 means greedy), topK an integer >= 1,
 * 0 < topP <= 1, 0 <= minP < 1, greedy a boolean.
 *
 * @example
 * ```ts
 * resolveSamplingOptions({ topP: 0.9 }); // { temperature: 1, topK: Infinity, topP: 0.9, minP: 0, greedy: false }
 * resolveSamplingOptions({ topK: 0 });   // throws RangeError: topK must be an integer >= 1 ...
 * ```
 */
export const resolveSamplingOptions = (options: SamplingOptions = {}): ResolvedSamplingOptions => {
  const { temperature = 1, topK, topP = 1, minP = 0, greedy = false } = options;
  if (typeof temperature !== "number" || !Number.isFinite(temperature) || temperature < 0) {
    throw new RangeError(
      `sampling: temperature must be a finite number > 0 (or 0, or greedy: true, for argmax decoding), got ${temperature}`,
    );
  }
  if (
    topK !== undefined && topK !== Infinity &&
    (typeof topK !== "number" || !Number.isInteger(topK) || topK < 1)
  ) {
    throw new RangeError(
      `sampling: topK must be an integer >= 1 (leave it out to keep every token), got ${topK}`,
    );
  }
  if (typeof topP !== "number" || !(topP > 0 && topP <= 1)) {
    throw new RangeError(`sampling: topP must be a number with 0 < topP <= 1, got ${topP}`);
  }
  if (typeof minP !== "number" || !(minP >= 0 && minP < 1)) {
    throw new RangeError(`sampling: minP must be a number with 0 <= minP < 1, got ${minP}`);
  }
  if (typeof greedy !== "boolean") throw new RangeError(`sampling: greedy must be a boolean, got ${greedy}`);
  return { temperature, topK: topK ?? Infinity, topP, minP, greedy: greedy || temperature === 0 };
};

/** Throw a RangeError for NaN or +Infinity in a row, or a row that is −Infinity everywhere. */
const checkRow = (row: ArrayLike<number>): number => {
  if (row.length === 0) throw new RangeError("sampling: a logits row must have at least one entry");
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) {
    const x = row[i];
    if (Number.isNaN(x) || x === Infinity) throw new RangeError(`sampling: logit of token ${i} is ${x}`);
    if (x > max) max = x;
  }
  if (max === -Infinity) throw new RangeError("sampling: every logit of the row is -Infinity");
  return max;
};

/**
 * The index of the largest entry, the lowest index among ties (NaN rejected).
 *
 * @example
 * ```ts
 * argmaxLowest([1, 3, 3, 2]); // 1
 * ```
 */
export const argmaxLowest = (row: ArrayLike<number>): number => {
  checkRow(row);
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
};

/** Sort token ids most likely first, lower id first among ties, by the raw logits (the shift and
 * temperature are monotone but may round distinct logits to equal z). */
const rankIds = (row: ArrayLike<number>, ids: number[]): number[] =>
  ids.sort((a, b) => (row[b] - row[a]) || (a - b));

/** Thresholds on z (relative to the top token's 0) tried, in order, to avoid sorting the whole vocabulary. */
const POOL_THRESHOLDS = [-1, -2, -4, -8, -16, -32];

/** The exact top-k token ids among those with z > −∞ (ranked by raw logits, lower id first among ties), via a size-k heap. */
const topKIds = (row: ArrayLike<number>, z: Float64Array, k: number): number[] => {
  // `worse(a, b)`: a ranks after b. The heap keeps the k best with the worst at the root.
  const worse = (a: number, b: number): boolean => row[a] < row[b] || (row[a] === row[b] && a > b);
  const heap: number[] = [];
  const siftDown = (): void => {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let w = i;
      if (l < heap.length && worse(heap[l], heap[w])) w = l;
      if (r < heap.length && worse(heap[r], heap[w])) w = r;
      if (w === i) return;
      [heap[i], heap[w]] = [heap[w], heap[i]];
      i = w;
    }
  };
  for (let id = 0; id < z.length; id++) {
    if (!(z[id] > -Infinity)) continue;
    if (heap.length < k) {
      heap.push(id);
      for (let i = heap.length - 1; i > 0;) {
        const parent = (i - 1) >> 1;
        if (!worse(heap[i], heap[parent])) break;
        [heap[i], heap[parent]] = [heap[parent], heap[i]];
        i = parent;
      }
    } else if (worse(heap[0], id)) {
      heap[0] = id;
      siftDown();
    }
  }
  return heap;
};

/**
 * The tokens top-p can keep (top-k off), as a set closed under "more likely than": those with
 * z ≥ τ for the first τ whose set holds at least topP of the mass (with a 1e-12 margin), or every
 * token with z > −∞. `weights` are exp(z).
 */
const nucleusPool = (z: Float64Array, weights: Float64Array, topP: number, massAll: number): number[] => {
  for (const tau of POOL_THRESHOLDS) {
    let mass = 0;
    for (let i = 0; i < z.length; i++) if (z[i] >= tau) mass += weights[i];
    if (mass >= topP * massAll * (1 + 1e-12)) {
      const ids: number[] = [];
      for (let i = 0; i < z.length; i++) if (z[i] >= tau) ids.push(i);
      return ids;
    }
  }
  const ids: number[] = [];
  for (let i = 0; i < z.length; i++) if (z[i] > -Infinity) ids.push(i);
  return ids;
};

/**
 * Apply temperature, top-k, top-p and min-p (see the module doc for the order) to one row of
 * logits. Returns the filtered, max-shifted scaled logits z (the kept tokens' z_i ≤ 0, the top one
 * 0) with −Infinity for every dropped token; softmax(z) is the sampling distribution. Options are
 * validated with {@link resolveSamplingOptions}; a row with NaN or +Infinity throws. Only the
 * plausible head of the vocabulary is sorted, so large vocabularies stay cheap.
 *
 * @example
 * ```ts
 * filterLogits([0, Math.log(3), Math.log(6)], { topP: 0.6 }); // keeps ids 2 and 1 (mass 0.6 + 0.3)
 * ```
 */
export const filterLogits = (
  row: ArrayLike<number>,
  options: SamplingOptions | ResolvedSamplingOptions = {},
): Float64Array => {
  const o = resolveSamplingOptions(options);
  const max = checkRow(row);
  const v = row.length;
  const z = new Float64Array(v);
  if (o.greedy) {
    z.fill(-Infinity);
    z[argmaxLowest(row)] = 0;
    return z;
  }
  let finite = 0;
  for (let i = 0; i < v; i++) {
    z[i] = (row[i] - max) / o.temperature;
    if (z[i] > -Infinity) finite++;
  }
  const k = Math.min(o.topK, finite);
  if (k === finite && o.topP === 1) return applyMinP(z, o.minP);
  let ranked: number[];
  let total = 0;
  if (k < finite) {
    ranked = rankIds(row, topKIds(row, z, k));
    for (const id of ranked) total += Math.exp(z[id]);
  } else {
    const weights = z.map(Math.exp);
    for (let i = 0; i < v; i++) total += weights[i];
    ranked = rankIds(row, nucleusPool(z, weights, o.topP, total));
  }
  let kept = ranked.length;
  if (o.topP < 1) {
    const target = o.topP * total;
    let cumulative = 0;
    for (let r = 0; r < kept; r++) {
      cumulative += Math.exp(z[ranked[r]]);
      if (cumulative >= target) {
        kept = r + 1;
        break;
      }
    }
  }
  const keep = new Uint8Array(v);
  for (let r = 0; r < kept; r++) keep[ranked[r]] = 1;
  for (let i = 0; i < v; i++) if (!keep[i]) z[i] = -Infinity;
  return applyMinP(z, o.minP);
};

const applyMinP = (z: Float64Array, minP: number): Float64Array => {
  if (minP > 0) {
    const threshold = Math.log(minP);
    for (let i = 0; i < z.length; i++) if (z[i] < threshold) z[i] = -Infinity;
  }
  return z;
};

/**
 * log Σ exp over the entries of `x` (max-shifted; −Infinity for an empty or all −Infinity list).
 *
 * @example
 * ```ts
 * logSumExpRow([0, Math.log(3)]); // log 4
 * ```
 */
export const logSumExpRow = (x: ArrayLike<number>): number => {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > max) max = x[i];
  if (max === -Infinity || max === Infinity || Number.isNaN(max)) return max;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i] - max);
  return max + Math.log(s);
};

/**
 * The log-probabilities of the sampling distribution for one row of logits: {@link filterLogits}
 * normalized, −Infinity for every dropped token (greedy: 0 at the argmax).
 *
 * @example
 * ```ts
 * samplingLogProbs([0, 0, 0, 0], { topK: 2 }); // [log ½, log ½, −Infinity, −Infinity]
 * ```
 */
export const samplingLogProbs = (
  row: ArrayLike<number>,
  options: SamplingOptions | ResolvedSamplingOptions = {},
): Float64Array => {
  const z = filterLogits(row, options);
  const lse = logSumExpRow(z);
  for (let i = 0; i < z.length; i++) z[i] -= lse;
  return z;
};
