/**
 * Student's t distribution, for confidence intervals of a mean over a few seeds: the CDF through the
 * regularized incomplete beta function, F(t) = 1 − ½·I_{ν/(ν+t²)}(ν/2, ½) for t ≥ 0, evaluated
 * with the continued fraction of the incomplete beta (modified Lentz), and the quantile by bisection
 * on that CDF. Float64 throughout; pure (no tfjs).
 *
 * @example
 * ```ts
 * import { meanInterval, studentTQuantile } from "./student-t.ts";
 * studentTQuantile(0.975, 4);                     // ≈ 2.776
 * meanInterval([0.61, 0.64, 0.6, 0.66, 0.62]);    // { mean: 0.626, halfWidth: ≈ 0.03, n: 5 }
 * ```
 *
 * @module
 */

/** log Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error about 1e-15). */
const logGamma = (x: number): number => {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
};

/** The continued fraction of I_x(a, b), good for x < (a + 1)/(a + b + 2). */
const betaFraction = (x: number, a: number, b: number): number => {
  const tiny = 1e-300;
  let c = 1, d = 1 - ((a + b) * x) / (a + 1);
  d = Math.abs(d) < tiny ? tiny : d;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 500; m++) {
    for (const num of [(m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m)), -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))]) {
      d = 1 + num * d;
      d = Math.abs(d) < tiny ? tiny : d;
      c = 1 + num / c;
      c = Math.abs(c) < tiny ? tiny : c;
      d = 1 / d;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-16) break;
  }
  return h;
};

/** The regularized incomplete beta function I_x(a, b), x in [0, 1]. */
export const incompleteBeta = (x: number, a: number, b: number): number => {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaFraction(x, a, b)) / a : 1 - (front * betaFraction(1 - x, b, a)) / b;
};

/**
 * The CDF of Student's t with ν > 0 degrees of freedom.
 *
 * @example
 * ```ts
 * studentTCdf(0, 3); // 0.5
 * ```
 */
export const studentTCdf = (t: number, df: number): number => {
  if (!(df > 0)) throw new RangeError(`studentTCdf: degrees of freedom must be > 0, got ${df}`);
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
};

/**
 * The p-quantile of Student's t with ν > 0 degrees of freedom (bisection to 1e-12 relative).
 *
 * @example
 * ```ts
 * studentTQuantile(0.975, 1); // ≈ 12.706 (= tan(0.475·π))
 * ```
 */
export const studentTQuantile = (p: number, df: number): number => {
  if (!(p > 0 && p < 1)) throw new RangeError(`studentTQuantile: p must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new RangeError(`studentTQuantile: degrees of freedom must be > 0, got ${df}`);
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0, hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
};

/** A mean with the half-width of its confidence interval. */
export interface MeanInterval {
  readonly mean: number;
  /** t_{(1+level)/2, n−1} · s / √n (s the sample standard deviation); NaN for n < 2. */
  readonly halfWidth: number;
  readonly n: number;
}

/**
 * The mean of `xs` and the half-width of its two-sided confidence interval at `level` (default
 * 0.95) under the t distribution with n − 1 degrees of freedom.
 *
 * @example
 * ```ts
 * meanInterval([1, 2, 3]).halfWidth; // t_{0.975,2}·1/√3 ≈ 2.484
 * ```
 */
export const meanInterval = (xs: readonly number[], level = 0.95): MeanInterval => {
  if (!(level > 0 && level < 1)) throw new RangeError(`meanInterval: level must be in (0, 1), got ${level}`);
  const n = xs.length;
  if (n === 0) return { mean: NaN, halfWidth: NaN, n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, halfWidth: NaN, n };
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  return { mean, halfWidth: studentTQuantile((1 + level) / 2, n - 1) * Math.sqrt(variance / n), n };
};
