/**
 * Mixture references for α-SPIN and the mapping between KL weights and (β, α).
 *
 * - Geometric mixture (the reference of the KL-regularized step):
 *   log π_ref(y|x) = α·log π_prev(y|x) + (1 − α)·log π_base(y|x) − log Z(x), with
 *   Z(x) = Σ_y π_prev^α π_base^(1−α) ≤ 1. {@link geometricReference} returns the unnormalized part
 *   α·lp_prev + (1 − α)·lp_base; the per-prompt constant log Z(x) cancels in every loss that only
 *   sees the pairwise margin. {@link geometricLogPartition} estimates it by Monte Carlo when a loss
 *   needs the normalized value.
 * - Arithmetic mixture (the opponent over a window of iterates): log Σ_i w_i·π_i(y|x), computed
 *   with logsumexp ({@link arithmeticReference}).
 * - β·KL(π‖π_prev) + λ·KL(π‖π_base) is the single KL (β + λ)·KL(π‖π_ref) to the geometric mixture
 *   with α = β / (β + λ), up to a constant: {@link klWeightsToBetaAlpha} and its inverse.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const { beta, alpha } = klWeightsToBetaAlpha(0.1, 0.1);                 // β' = 0.2, α = 0.5
 * const ref = geometricReference(ops)(alpha, ops.fromArray([-3], [1]), ops.fromArray([-5], [1])); // [-4]
 * ```
 *
 * @module
 */
import type { TensorOps } from "./tensor.ts";

const checkAlpha = (alpha: number, where: string): void => {
  if (typeof alpha !== "number" || !(alpha >= 0 && alpha <= 1)) {
    throw new RangeError(`${where}: alpha must be a number in [0, 1], got ${alpha}`);
  }
};

/**
 * The geometric-mixture reference log-prob α·lpPrev + (1 − α)·lpBase (unnormalized: the true
 * mixture subtracts the per-prompt constant log Z(x)). α = 1 gives lpPrev (SPIN), α = 0 gives
 * lpBase (DPO against the base). Throws a RangeError for α outside [0, 1].
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * geometricReference(ops)(0.25, ops.fromArray([-4], [1]), ops.fromArray([-8], [1])); // [-7]
 * ```
 */
export const geometricReference = <T>(ops: TensorOps<T>): (alpha: number, lpPrev: T, lpBase: T) => T =>
(alpha, lpPrev, lpBase) => {
  checkAlpha(alpha, "geometricReference");
  return ops.tidy(() => {
    // The endpoints are exact copies (α·x + (1 − α)·y would round).
    if (alpha === 1) return ops.mul(lpPrev, ops.scalar(1));
    if (alpha === 0) return ops.mul(lpBase, ops.scalar(1));
    return ops.add(ops.mul(lpPrev, ops.scalar(alpha)), ops.mul(lpBase, ops.scalar(1 - alpha)));
  });
};

/**
 * Monte Carlo estimate of the geometric mixture's log-normalizer
 * log Z(x) = log E_{y∼π_base}[(π_prev(y|x)/π_base(y|x))^α] from K samples y_k ∼ π_base(·|x):
 * `lpPrevSamples`, `lpBaseSamples` are [K, B] (sample k of prompt b) and the result is
 * logsumexp_k(α·(lpPrev − lpBase)) − log K, [B]. By Hölder's inequality Z ≤ 1 (log Z ≤ 0); the
 * estimate is consistent as K grows (biased low for finite K, by Jensen).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * // [K = 2 samples drawn from the base, B = 1 prompt]
 * const lpPrevOfBaseSamples = ops.fromArray([-2, -4], [2, 1]);
 * const lpBaseOfBaseSamples = ops.fromArray([-3, -3], [2, 1]);
 * const logZ = geometricLogPartition(ops)(0.5, lpPrevOfBaseSamples, lpBaseOfBaseSamples);
 * // [B]: log((e^0.5 + e^−0.5) / 2) ≈ 0.12
 * ```
 */
export const geometricLogPartition = <T>(ops: TensorOps<T>): (alpha: number, lpPrevSamples: T, lpBaseSamples: T) => T =>
(alpha, lpPrevSamples, lpBaseSamples) => {
  checkAlpha(alpha, "geometricLogPartition");
  const shape = ops.shape(lpPrevSamples);
  if (shape.length < 1 || shape.join() !== ops.shape(lpBaseSamples).join()) {
    throw new RangeError(
      `geometricLogPartition: samples must share a [K, ...] shape, got [${shape}] and [${ops.shape(lpBaseSamples)}]`,
    );
  }
  const k = shape[0];
  return ops.tidy(() =>
    ops.sub(
      ops.logSumExp(ops.mul(ops.sub(lpPrevSamples, lpBaseSamples), ops.scalar(alpha)), 0),
      ops.scalar(Math.log(k)),
    )
  );
};

/**
 * Validate arithmetic-mixture weights: finite, non-negative, summing to 1 within 1e-9. Returns them
 * (uniform 1/K when omitted). Throws a RangeError naming the offending weight.
 *
 * @example
 * ```ts
 * mixtureWeights(3);             // [1/3, 1/3, 1/3]
 * mixtureWeights(2, [0.25, 0.75]); // [0.25, 0.75]
 * ```
 */
export const mixtureWeights = (k: number, weights?: readonly number[]): number[] => {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`arithmeticReference: need at least one component, got ${k}`);
  if (weights === undefined) return new Array<number>(k).fill(1 / k);
  if (weights.length !== k) {
    throw new RangeError(`arithmeticReference: ${k} components but ${weights.length} weights`);
  }
  weights.forEach((w, i) => {
    if (typeof w !== "number" || !Number.isFinite(w) || w < 0) {
      throw new RangeError(`arithmeticReference: weight ${i} must be a finite number >= 0, got ${w}`);
    }
  });
  const total = weights.reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) > 1e-9) {
    throw new RangeError(`arithmeticReference: weights must sum to 1 (within 1e-9), they sum to ${total}`);
  }
  return [...weights];
};

/**
 * The arithmetic-mixture log-prob log Σ_i w_i·exp(lp_i), computed with logsumexp. `lps` is either
 * a list of K same-shaped tensors or one stacked tensor [K, ...]; `weights` default to uniform and
 * must be non-negative and sum to 1 (within 1e-9). Zero-weight components are dropped.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * arithmeticReference(ops)([ops.fromArray([Math.log(0.2)], [1]), ops.fromArray([Math.log(0.6)], [1])]);
 * // [log 0.4]
 * ```
 */
export const arithmeticReference = <T>(ops: TensorOps<T>): (lps: readonly T[] | T, weights?: readonly number[]) => T =>
(lps, weights) => {
  const list: readonly T[] | undefined = Array.isArray(lps) ? lps as readonly T[] : undefined;
  const k = list ? list.length : ops.shape(lps as T)[0];
  const w = mixtureWeights(k, weights);
  return ops.tidy(() => {
    let components: T[];
    if (list) {
      const shape = ops.shape(list[0]).join();
      list.forEach((lp, i) => {
        if (ops.shape(lp).join() !== shape) {
          throw new RangeError(`arithmeticReference: component ${i} has shape [${ops.shape(lp)}], expected [${shape}]`);
        }
      });
      components = list.map((lp) => ops.reshape(lp, [1, ...ops.shape(lp)]));
    } else {
      const shape = ops.shape(lps as T);
      components = Array.from({ length: k }, (_, i) =>
        ops.slice(lps as T, [i, ...shape.slice(1).map(() => 0)], [1, ...shape.slice(1).map(() => -1)]));
    }
    const kept = components.flatMap((c, i) => (w[i] > 0 ? [ops.add(c, ops.scalar(Math.log(w[i])))] : []));
    const stacked = kept.length === 1 ? kept[0] : ops.concat(kept, 0);
    return ops.logSumExp(stacked, 0);
  });
};

/** The (β', α) form of an α-SPIN step: loss temperature β' and geometric weight α. */
export interface BetaAlpha {
  /** β' = β + λ, the temperature the loss uses. */
  readonly beta: number;
  /** α = β / (β + λ), the weight of π_prev in the geometric reference. */
  readonly alpha: number;
}

/** The KL-weight form: β·KL(π‖π_prev) + λ·KL(π‖π_base). */
export interface KlWeights {
  /** Weight of KL(π‖π_prev). */
  readonly beta: number;
  /** Weight of KL(π‖π_base). */
  readonly lambda: number;
}

/**
 * Map β·KL(π‖π_prev) + λ·KL(π‖π_base) to the loss temperature β' = β + λ and the geometric weight
 * α = β / (β + λ). λ = 0 gives α = 1 (plain SPIN); β = 0 gives α = 0 (DPO against the base).
 * Throws a RangeError for β < 0, λ < 0, β + λ = 0, or a non-finite weight.
 *
 * @example
 * ```ts
 * klWeightsToBetaAlpha(0.3, 0.1); // { beta: 0.4, alpha: 0.75 }
 * ```
 */
export const klWeightsToBetaAlpha = (beta: number, lambda: number): BetaAlpha => {
  if (typeof beta !== "number" || !Number.isFinite(beta) || beta < 0) {
    throw new RangeError(`klWeightsToBetaAlpha: beta (weight of KL to π_prev) must be a finite number >= 0, got ${beta}`);
  }
  if (typeof lambda !== "number" || !Number.isFinite(lambda) || lambda < 0) {
    throw new RangeError(`klWeightsToBetaAlpha: lambda (weight of KL to π_base) must be a finite number >= 0, got ${lambda}`);
  }
  if (beta + lambda <= 0) {
    throw new RangeError("klWeightsToBetaAlpha: beta + lambda must be > 0 (at least one KL term must have weight)");
  }
  return { beta: beta + lambda, alpha: beta / (beta + lambda) };
};

/**
 * Inverse of {@link klWeightsToBetaAlpha}: β = α·β', λ = (1 − α)·β'. Throws a RangeError for
 * β' ≤ 0 or α ∉ [0, 1].
 *
 * @example
 * ```ts
 * betaAlphaToKlWeights(0.4, 0.75); // { beta: 0.3, lambda: 0.1 } (up to rounding)
 * ```
 */
export const betaAlphaToKlWeights = (betaPrime: number, alpha: number): KlWeights => {
  if (typeof betaPrime !== "number" || !Number.isFinite(betaPrime) || betaPrime <= 0) {
    throw new RangeError(`betaAlphaToKlWeights: beta' must be a finite number > 0, got ${betaPrime}`);
  }
  checkAlpha(alpha, "betaAlphaToKlWeights");
  return { beta: alpha * betaPrime, lambda: (1 - alpha) * betaPrime };
};
