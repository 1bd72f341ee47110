// Shared helpers of the rng and sampler tests: Pearson's chi-square statistic and its critical
// values at the 0.001 level (so a correct sampler fails a fixed-seed test with probability 1e-3).

/** Pearson's χ² = Σ (observed − expected)² / expected, with expected = total · probs[i]. */
export const chiSquare = (observed: readonly number[], probs: readonly number[]): number => {
  const total = observed.reduce((a, b) => a + b, 0);
  return observed.reduce((s, o, i) => {
    const e = total * probs[i];
    return s + (o - e) ** 2 / e;
  }, 0);
};

/** Upper 0.001 quantiles of χ² by degrees of freedom (standard tables). */
export const CHI2_CRITICAL_001: Readonly<Record<number, number>> = {
  1: 10.828,
  2: 13.816,
  3: 16.266,
  4: 18.467,
  5: 20.515,
  6: 22.458,
  7: 24.322,
  8: 26.124,
  9: 27.877,
  14: 36.123,
};

/** Counts of each value 0..k−1 in `xs`. */
export const countValues = (xs: ArrayLike<number>, k: number): number[] => {
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < xs.length; i++) counts[xs[i]]++;
  return counts;
};

/** Plain-JS log-softmax of one row (max-shifted). */
export const logSoftmaxRow = (x: readonly number[]): number[] => {
  const m = Math.max(...x);
  const lse = m + Math.log(x.reduce((s, v) => s + Math.exp(v - m), 0));
  return x.map((v) => v - lse);
};
