/**
 * SPPO's win-rate estimate and the pairs it trains on (Wu et al. 2024, arXiv:2405.00675,
 * Algorithm 1). For the K answers y_1..y_K sampled from π_{t−1} for one prompt, with the oracle's
 * P(y_i ≻ y_j | x) asked once per unordered pair (P(y_j ≻ y_i) = 1 − P(y_i ≻ y_j)):
 *
 *   P̂(y_i ≻ π_{t−1} | x) = 1/(K − 1) · Σ_{j ≠ i} P(y_i ≻ y_j | x),
 *
 * the mean preference against the other K − 1 samples: an unbiased estimate of the win rate against
 * π_{t−1} (each other sample is an independent draw from it).
 *
 * @example
 * ```ts
 * import { sppoPairs, winRates } from "./win-rates.ts";
 * const rates = winRates(3, [0.9, 0.5, 0.2]); // upper triangle P(y0≻y1), P(y0≻y2), P(y1≻y2)
 * rates; // [0.7, (0.1 + 0.2) / 2, (0.5 + 0.8) / 2] = [0.7, 0.15, 0.65]
 * sppoPairs(rates, "best-worst"); // [{ chosen: 0, rejected: 1 }]
 * ```
 *
 * @module
 */

/**
 * The position of P(y_i ≻ y_j), i < j, in the upper triangle listed row by row.
 *
 * @example
 * ```ts
 * upperIndex(4, 1, 3); // 4: (0,1) (0,2) (0,3) (1,2) (1,3)
 * ```
 */
export const upperIndex = (k: number, i: number, j: number): number => i * k - (i * (i + 1)) / 2 + (j - i - 1);

/**
 * Every unordered pair (i, j), i < j, of K samples, in upper-triangle order (the oracle's queries).
 *
 * @example
 * ```ts
 * samplePairs(3); // [[0, 1], [0, 2], [1, 2]]
 * ```
 */
export const samplePairs = (k: number): [number, number][] => {
  const out: [number, number][] = [];
  for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) out.push([i, j]);
  return out;
};

/**
 * P̂(y_i ≻ π_{t−1}) of each of the K samples from the upper triangle of preferences (see the module doc).
 *
 * @example
 * ```ts
 * winRates(2, [0.8]); // [0.8, 0.2]
 * ```
 */
export const winRates = (k: number, upper: readonly number[]): number[] => {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`winRates: need K >= 2 samples, got ${k}`);
  if (upper.length !== (k * (k - 1)) / 2) throw new RangeError(`winRates: K = ${k} needs ${(k * (k - 1)) / 2} preferences, got ${upper.length}`);
  const sums = new Array<number>(k).fill(0);
  for (const [i, j] of samplePairs(k)) {
    const p = upper[upperIndex(k, i, j)];
    sums[i] += p;
    sums[j] += 1 - p;
  }
  return sums.map((s) => s / (k - 1));
};

/** One training pair of a prompt: sample indices, the higher win rate first. */
export interface SampledPair {
  readonly chosen: number;
  readonly rejected: number;
}

/**
 * The (chosen, rejected) pairs of one prompt from its win rates. The samples are ranked by win rate
 * (ties: the lower index first). "best-worst": the first and the last (one pair, as SPPO's released
 * recipe does). "all": rank r with rank K − 1 − r for r < ⌊K/2⌋, so each sample enters the squared
 * loss once (the paper's sum over samples; with odd K the median sample is left out).
 *
 * @example
 * ```ts
 * sppoPairs([0.2, 0.9, 0.5, 0.4], "all"); // [{ chosen: 1, rejected: 0 }, { chosen: 2, rejected: 3 }]
 * ```
 */
export const sppoPairs = (rates: readonly number[], mode: "best-worst" | "all"): SampledPair[] => {
  const ranked = rates.map((_, i) => i).sort((a, b) => rates[b] - rates[a] || a - b);
  const k = ranked.length;
  const count = mode === "best-worst" ? 1 : Math.floor(k / 2);
  return Array.from({ length: count }, (_, r) => ({ chosen: ranked[r], rejected: ranked[k - 1 - r] }));
};
