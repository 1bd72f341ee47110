/**
 * The α-SPIN objective: any registered loss applied with the geometric-mixture reference
 * lp_ref = α·lp_prev + (1 − α)·lp_base (α = 1: SPIN against π_prev; α = 0: DPO against π_base).
 *
 * The normalizer. The geometric mixture π_ref ∝ π_prev^α·π_base^(1−α) has
 * log π_ref(y|x) = α·lp_prev(y) + (1 − α)·lp_base(y) − log Z(x), Z(x) = Σ_y π_prev^α π_base^(1−α) ≤ 1.
 * The per-prompt constant log Z(x) cancels in the margin h, so margin-only losses are exact with
 * the unnormalized reference. For a loss that is not margin-only (per-token normalized `ipo`,
 * `sppo`, `sppo_hard`, `nca_pair`, `bco_pair`, `apo_zero`, `apo_down`) and 0 < α < 1, `alphaSpin`
 * refuses, unless the caller either
 * - passes `logPartition` ([B], an estimate of log Z(x), e.g. from `geometricLogPartition`), which
 *   is subtracted from both reference log-probs so the reference is normalized; or
 * - opts in with `{ allowNonInvariant: "per-prompt-normalizer-ignored" }`, training against the
 *   unnormalized reference. Since log Z(x) ≤ 0, that reference is the normalized one shifted down by
 *   |log Z(x)| on every response to x: the loss then sees each log-ratio shifted up by |log Z(x)|.
 * For α ∈ {0, 1} the reference is π_base or π_prev itself (Z = 1) and every loss is allowed.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const out = alphaSpin(ops)("sigmoid", {
 *   alpha: 0.5,
 *   policyChosen: v([-10]), policyRejected: v([-14]),
 *   lpPrevChosen: v([-11]), lpPrevRejected: v([-12]),
 *   lpBaseChosen: v([-12]), lpBaseRejected: v([-12]),
 * }, { beta: 0.1 });
 * // ref = [-11.5], [-12]; h = 1.5 − (−2) = 3.5; loss = −log σ(0.35)
 * ```
 *
 * @module
 */
import { geometricReference } from "../core/mixture.ts";
import type { TensorOps } from "../core/tensor.ts";
import { lossRegistry } from "./registry.ts";
import type { AnyLoss, LossOutput, PairExtras } from "./types.ts";

/** Inputs of one α-SPIN batch: α, the policy's log-probs and the two references', each [B]. */
export interface AlphaSpinInputs<T> extends PairExtras<T> {
  /** Weight of π_prev in the geometric reference, in [0, 1]. */
  readonly alpha: number;
  /** lp_θ(y_w): the policy being trained, on the winner (the SFT answer in SPIN). */
  readonly policyChosen: T;
  /** lp_θ(y_l): the policy, on the loser (the opponent's generation). */
  readonly policyRejected: T;
  /** lp_{t−1}(y_w): the previous iterate. */
  readonly lpPrevChosen: T;
  /** lp_{t−1}(y_l). */
  readonly lpPrevRejected: T;
  /** lp_base(y_w): the base model. */
  readonly lpBaseChosen: T;
  /** lp_base(y_l). */
  readonly lpBaseRejected: T;
  /** Optional estimate of log Z(x) per example ([B]); when given the reference is normalized. */
  readonly logPartition?: T;
}

/** How `alphaSpin` treats a loss that is not margin-only when 0 < α < 1. */
export interface AlphaSpinOptions {
  /**
   * `"per-prompt-normalizer-ignored"`: train against the unnormalized geometric reference anyway
   * (documented in the module doc). Absent: refuse with an error.
   */
  readonly allowNonInvariant?: "per-prompt-normalizer-ignored";
}

/** The loss output plus the reference log-probs that were used, each [B]. */
export interface AlphaSpinOutput<T> extends LossOutput<T> {
  /** The reference log-prob used for the chosen response, [B] (gradient-stopped). */
  readonly refChosen: T;
  /** The reference log-prob used for the rejected response, [B] (gradient-stopped). */
  readonly refRejected: T;
}

/**
 * Why a (loss, α) combination is refused, or undefined when it is allowed.
 *
 * @example
 * ```ts
 * import { lossRegistry } from "./registry.ts";
 * alphaSpinRefusal(lossRegistry.get("sppo_hard"), 0.5); // "loss \"sppo_hard\" is not margin-only ..."
 * ```
 */
export const alphaSpinRefusal = (
  loss: AnyLoss,
  alpha: number,
  options: AlphaSpinOptions & { hasLogPartition?: boolean } = {},
): string | undefined => {
  if (loss.marginOnly || alpha === 0 || alpha === 1 || options.hasLogPartition) return undefined;
  if (options.allowNonInvariant === "per-prompt-normalizer-ignored") return undefined;
  const marginOnly = lossRegistry.all().filter((l) => l.marginOnly).map((l) => l.name);
  return `loss "${loss.name}" is not margin-only (${loss.marginOnlyReason}). With 0 < alpha < 1 (alpha = ${alpha}) ` +
    "the reference alpha·lp_prev + (1 − alpha)·lp_base equals the geometric mixture only up to the per-prompt " +
    "normalizer log Z(x) = log Σ_y π_prev(y|x)^alpha·π_base(y|x)^(1 − alpha), which cancels only in losses that see " +
    "the reference through the margin h. Use a margin-only loss (" + marginOnly.join(", ") + "), or alpha = 0 or 1, " +
    "or pass logPartition (an estimate of log Z(x), see geometricLogPartition), or opt in with " +
    '{ allowNonInvariant: "per-prompt-normalizer-ignored" } to train against the unnormalized reference.';
};

/**
 * The α-SPIN loss: builds lp_ref = α·lp_prev + (1 − α)·lp_base (minus `logPartition` when given,
 * gradient-stopped) and applies `loss` (a registered name or a loss value) with `params`.
 * Throws for α ∉ [0, 1], an unknown loss name, or a non-margin-only loss with 0 < α < 1 unless
 * handled as described in the module doc.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const inputs = {
 *   alpha: 0.5, policyChosen: v([-1]), policyRejected: v([-3]),
 *   lpPrevChosen: v([-2]), lpPrevRejected: v([-2]), lpBaseChosen: v([-2.5]), lpBaseRejected: v([-1.5]),
 * };
 * const { loss, metrics } = alphaSpin(ops)("sigmoid", inputs, { beta: 0.2 });
 * alphaSpin(ops)("sppo_hard", inputs, {}, { allowNonInvariant: "per-prompt-normalizer-ignored" });
 * ```
 */
export const alphaSpin = <T>(ops: TensorOps<T>): (
  loss: string | AnyLoss,
  inputs: AlphaSpinInputs<T>,
  params?: Record<string, unknown>,
  options?: AlphaSpinOptions,
) => AlphaSpinOutput<T> =>
(lossOrName, inputs, params, options = {}) => {
  const loss = typeof lossOrName === "string" ? lossRegistry.get(lossOrName) : lossOrName;
  const {
    alpha,
    policyChosen,
    policyRejected,
    lpPrevChosen,
    lpPrevRejected,
    lpBaseChosen,
    lpBaseRejected,
    logPartition,
    ...extras
  } = inputs;
  if (typeof alpha !== "number" || !(alpha >= 0 && alpha <= 1)) {
    throw new RangeError(`alphaSpin: alpha must be a number in [0, 1], got ${alpha}`);
  }
  const refusal = alphaSpinRefusal(loss, alpha, { ...options, hasLogPartition: logPartition !== undefined });
  if (refusal) throw new Error(`alphaSpin: ${refusal}`);
  return ops.tidy(() => {
    const geometric = geometricReference(ops);
    const normalize = (ref: T): T => ops.stopGradient(logPartition === undefined ? ref : ops.sub(ref, logPartition));
    const refChosen = normalize(geometric(alpha, lpPrevChosen, lpBaseChosen));
    const refRejected = normalize(geometric(alpha, lpPrevRejected, lpBaseRejected));
    const out = loss.compute(ops)({ ...extras, policyChosen, policyRejected, refChosen, refRejected }, params);
    return { ...out, refChosen, refRejected };
  });
};
