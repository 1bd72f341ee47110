/**
 * Sampling from the geometric mixture m(y) ∝ π_prev(y)^α · π_base(y)^(1−α), the α-SPIN reference.
 *
 * Token level ({@link geometricMixtureLogits}): at each position mix the two models' log-softmaxes,
 * log q_t(v) = α·log p_prev(v) + (1−α)·log p_base(v) − log Z_t, with
 * Z_t = Σ_v p_prev(v)^α p_base(v)^(1−α) ≤ 1 (Hölder), so log Z_t ≤ 0. Sampling token by token from
 * q gives q(y) = Π_t p_prev^α p_base^(1−α) / Z_t. Z_t depends on the prefix, so q is NOT the
 * sequence-level mixture: m(y) = q(y) · Π_t Z_t / Z, with Z = Σ_y Π_t p_prev^α p_base^(1−α).
 *
 * Sequence level ({@link resampleGeometric}): draw K candidates from q, weight each by
 * w ∝ Π_t Z_t = exp(Σ_t log Z_t), and resample. As K grows the resampled draws are distributed as
 * m exactly (sampling–importance–resampling). The mean weight (1/K)·Σ_k Π_t Z_t is an unbiased
 * estimate of Z.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * import { rngFromSeed } from "../core/rng.ts";
 * const { logProbs, logZ } = geometricMixtureLogits(ops)(0.5, ops.fromArray([0, 1, 2], [1, 3]), ops.fromArray([2, 1, 0], [1, 3]));
 * // … sample a token per step from logProbs, accumulate Σ_t logZ per candidate, then:
 * const { indices, weights, ess } = resampleGeometric(rngFromSeed(1), [-0.3, -0.1, -0.7], 3, "systematic");
 * ```
 *
 * @module
 */
import type { TensorOps } from "../core/tensor.ts";
import { expShifted, inverseCdfIndex, nextFloat, nextFloats, type Rng } from "../core/rng.ts";

/** The token-level geometric mixture at every position. */
export interface GeometricMixture<T> {
  /** log q_t(v) = log softmax(α·log p_prev + (1−α)·log p_base), same shape as the logits [..., V]. */
  readonly logProbs: T;
  /** log Z_t = log Σ_v p_prev(v)^α p_base(v)^(1−α) ≤ 0 at every position, shape [...]. */
  readonly logZ: T;
}

const checkAlpha = (alpha: number): void => {
  if (typeof alpha !== "number" || !(alpha >= 0 && alpha <= 1)) {
    throw new RangeError(`geometricMixtureLogits: alpha must be a number in [0, 1], got ${alpha}`);
  }
};

/**
 * The token-level geometric mixture of two models' next-token logits (same shape [..., V]):
 * log-probs log softmax(α·log_softmax(logitsPrev) + (1−α)·log_softmax(logitsBase)) and the
 * per-position log Z_t ≤ 0. Each model is log-softmaxed first, so adding a per-position constant
 * to either model's logits changes nothing. α = 1 gives π_prev and α = 0 gives π_base exactly
 * (log Z_t = 0); −Infinity logits (masked tokens) are allowed. log Z_t is clamped at 0 against
 * rounding. Throws a RangeError for α outside [0, 1] or mismatched shapes.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const logitsPrev = ops.fromArray([0, 1, 2, 0, 0, 0], [2, 3]); // [B = 2, V = 3]
 * const logitsBase = ops.fromArray([2, 1, 0, 0, 0, 0], [2, 3]);
 * const { logProbs, logZ } = geometricMixtureLogits(ops)(0.5, logitsPrev, logitsBase); // [B, V], [B]
 * ```
 */
export const geometricMixtureLogits = <T>(
  ops: TensorOps<T>,
): (alpha: number, logitsPrev: T, logitsBase: T) => GeometricMixture<T> =>
(alpha, logitsPrev, logitsBase) => {
  checkAlpha(alpha);
  const shape = ops.shape(logitsPrev);
  const baseShape = ops.shape(logitsBase);
  if (shape.length < 1 || shape.join() !== baseShape.join()) {
    throw new RangeError(
      `geometricMixtureLogits: logits must share a [..., V] shape, got [${shape.join(", ")}] and [${
        baseShape.join(", ")
      }]`,
    );
  }
  const logSoftmax = (x: T): T => ops.sub(x, ops.logSumExp(x, -1, true));
  return ops.tidy(() => {
    if (alpha === 1 || alpha === 0) {
      return {
        logProbs: logSoftmax(alpha === 1 ? logitsPrev : logitsBase),
        logZ: ops.fill(shape.slice(0, -1), 0),
      };
    }
    const mixed = ops.add(
      ops.mul(logSoftmax(logitsPrev), ops.scalar(alpha)),
      ops.mul(logSoftmax(logitsBase), ops.scalar(1 - alpha)),
    );
    const logZKeep = ops.logSumExp(mixed, -1, true);
    const logProbs = ops.sub(mixed, logZKeep);
    const logZ = ops.minimum(ops.reshape(logZKeep, shape.slice(0, -1)), ops.scalar(0));
    return { logProbs, logZ };
  });
};

/** How to resample: `systematic` (one uniform, low variance) or `multinomial` (k independent draws). */
export type ResampleMethod = "systematic" | "multinomial";

/** The outcome of importance resampling. */
export interface ResampleResult {
  /** The chosen candidate indices, length k (ascending for systematic, draw order for multinomial). */
  readonly indices: Int32Array;
  /** The normalized importance weights of the K candidates (sum 1). */
  readonly weights: Float64Array;
  /** Effective sample size 1 / Σ w², between 1 and K. */
  readonly ess: number;
  /** log of the mean unnormalized weight, log((1/K)·Σ exp(logWeight)). */
  readonly logMeanWeight: number;
  /** The advanced rng. */
  readonly rng: Rng;
}

/** Where a systematic comb of k teeth lands on the CDF of `w` (non-negative, total > 0). */
const systematicIndices = (w: Float64Array, total: number, k: number, u: number): Int32Array => {
  const out = new Int32Array(k);
  let i = 0;
  let cumulative = w[0];
  let lastPositive = w[0] > 0 ? 0 : -1;
  for (let j = 0; j < k; j++) {
    const target = ((u + j) / k) * total;
    while (cumulative <= target && i < w.length - 1) {
      i++;
      cumulative += w[i];
      if (w[i] > 0) lastPositive = i;
    }
    out[j] = w[i] > 0 ? i : lastPositive; // rounding may leave the last tooth past the top of the CDF
  }
  return out;
};

/**
 * Importance resampling from unnormalized log-weights: normalize w_i ∝ exp(logWeights[i])
 * (max-shifted, so ±1e3 is fine; −Infinity is weight 0), pick `k` indices with the chosen method,
 * and report the normalized weights, the effective sample size 1/Σw² and log of the mean weight.
 * Throws a RangeError for an empty list, NaN or +Infinity, all −Infinity, or k not a positive
 * integer.
 *
 * @example
 * ```ts
 * import { rngFromSeed } from "../core/rng.ts";
 * const r = importanceResample(rngFromSeed(1), [0, Math.log(3)], 4, "systematic");
 * // r.weights = [0.25, 0.75]; r.ess = 1.6; r.indices = [0, 1, 1, 1]
 * ```
 */
export const importanceResample = (
  rng: Rng,
  logWeights: ArrayLike<number>,
  k: number,
  method: ResampleMethod = "systematic",
): ResampleResult => {
  if (logWeights.length === 0) throw new RangeError("importanceResample: need at least one candidate");
  if (!Number.isInteger(k) || k < 1) {
    throw new RangeError(`importanceResample: k must be an integer >= 1, got ${k}`);
  }
  if (method !== "systematic" && method !== "multinomial") {
    throw new RangeError(
      `importanceResample: method must be "systematic" or "multinomial", got ${String(method)}`,
    );
  }
  const shifted = expShifted(logWeights, "importanceResample");
  let max = -Infinity;
  for (let i = 0; i < logWeights.length; i++) if (logWeights[i] > max) max = logWeights[i];
  let total = 0;
  for (const w of shifted) total += w;
  const weights = shifted.map((w) => w / total);
  let sumSquares = 0;
  for (const w of weights) sumSquares += w * w;
  const logMeanWeight = max + Math.log(total / logWeights.length);
  let indices: Int32Array;
  let next: Rng;
  if (method === "systematic") {
    const [u, after] = nextFloat(rng);
    indices = systematicIndices(shifted, total, k, u);
    next = after;
  } else {
    const [us, after] = nextFloats(rng, k);
    indices = Int32Array.from(us, (u) => inverseCdfIndex(shifted, u));
    next = after;
  }
  return { indices, weights, ess: 1 / sumSquares, logMeanWeight, rng: next };
};

/** A candidate sequence drawn from the token-level mixture, with its Σ_t log Z_t. */
export interface GeometricCandidate {
  /** Σ over the candidate's generated positions of log Z_t (≤ 0). */
  readonly sumLogZ: number;
}

/**
 * The exact sequence-level correction of token-level geometric-mixture sampling: candidates drawn
 * from the token-level mixture q carry Σ_t log Z_t; since m(y) ∝ q(y)·Π_t Z_t, the importance
 * weight is w ∝ exp(Σ_t log Z_t). Resamples `k` of them (`systematic` by default, or
 * `multinomial`) and reports the normalized weights and the effective sample size ESS = 1/Σ w²
 * (a small ESS relative to K means the token-level proposal is far from the target: draw more
 * candidates). `logMeanWeight` estimates log Z, the sequence-level normalizer (unbiased for Z).
 *
 * @example
 * ```ts
 * import { rngFromSeed } from "../core/rng.ts";
 * const { indices, weights, ess, rng } = resampleGeometric(rngFromSeed(1), [{ sumLogZ: -0.2 }, { sumLogZ: -1.4 }], 1);
 * ```
 */
export const resampleGeometric = (
  rng: Rng,
  candidates: readonly GeometricCandidate[] | ArrayLike<number>,
  k: number,
  method: ResampleMethod = "systematic",
): ResampleResult => {
  const n = candidates.length;
  const logWeights = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = (candidates as ArrayLike<unknown>)[i];
    const s = typeof c === "number" ? c : (c as GeometricCandidate | undefined)?.sumLogZ;
    if (typeof s !== "number") {
      throw new RangeError(`resampleGeometric: candidate ${i} has no numeric sumLogZ`);
    }
    logWeights[i] = s;
  }
  return importanceResample(rng, logWeights, k, method);
};
