/**
 * APO (Anchored Preference Optimization). With implicit rewards r(y) = β·[lp_θ(y) − lp_ref(y)]:
 * - apo_zero: L = [1 − σ(r_w)] + σ(r_l)         raise the chosen, lower the rejected likelihood
 *             (use when the chosen answers are better than the model's own outputs)
 * - apo_down: L = σ(r_w) + [1 − σ(r_w − r_l)]    lower both, the rejected one more
 *             (use when the chosen answers are worse than the model's own outputs)
 * Each is bounded in [0, 2].
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-2]), policyRejected: v([-2]), refChosen: v([-2]), refRejected: v([-2]) };
 * apoZeroLoss.compute(ops)(pair).loss; // [0.5 + 0.5] = [1]
 * ```
 *
 * @module
 */
import { defineLoss, logRatios, preferenceMetrics, mulScalar } from "./define.ts";
import { paramsCodec } from "./params.ts";
import { positive } from "../core/config.ts";
import type { Loss } from "./types.ts";

/** Parameters of `apo_zero` and `apo_down`. */
export interface ApoParams {
  /** Temperature β (default 0.1). */
  readonly beta: number;
}

/**
 * `apo_zero`: σ(−r_w) + σ(r_l) (= [1 − σ(r_w)] + σ(r_l)).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * apoZeroLoss.compute(ops)(pair, { beta: 0.1 });
 * ```
 */
export const apoZeroLoss: Loss<ApoParams> = defineLoss<ApoParams>({
  name: "apo_zero",
  description: "APO-zero: push the chosen reward up and the rejected reward down, each through a sigmoid",
  params: paramsCodec<ApoParams>("apo_zero", { beta: positive }),
  defaults: { beta: 0.1 },
  marginOnly: false,
  marginOnlyReason: "each response's reward is anchored at zero on its own, so a per-prompt shift of the " +
    "reference changes both terms",
  logRatioOnly: true,
  directional: true,
  source: "D'Oosterlinck et al. 2024, Anchored Preference Optimization and Contrastive Revisions (arXiv:2408.06266) eq. 7",
  trlName: "apo_zero",
  kernel: (ops) => (pair, { beta }) => {
    const lr = logRatios(ops)(pair);
    const rw = mulScalar(ops)(beta, lr.chosen);
    const rl = mulScalar(ops)(beta, lr.rejected);
    const loss = ops.add(ops.sigmoid(ops.neg(rw)), ops.sigmoid(rl));
    return { loss, metrics: preferenceMetrics(ops)(pair, lr, beta) };
  },
});

/**
 * `apo_down`: σ(r_w) + σ(r_l − r_w) (= σ(r_w) + [1 − σ(r_w − r_l)]).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * apoDownLoss.compute(ops)(pair, { beta: 0.1 });
 * ```
 */
export const apoDownLoss: Loss<ApoParams> = defineLoss<ApoParams>({
  name: "apo_down",
  description: "APO-down: push the chosen reward down, and the rejected reward down further",
  params: paramsCodec<ApoParams>("apo_down", { beta: positive }),
  defaults: { beta: 0.1 },
  marginOnly: false,
  marginOnlyReason: "the first term σ(r_w) sees the chosen reward on its own, so a per-prompt shift of the " +
    "reference changes it",
  logRatioOnly: true,
  directional: true,
  source: "D'Oosterlinck et al. 2024, Anchored Preference Optimization and Contrastive Revisions (arXiv:2408.06266) eq. 8",
  trlName: "apo_down",
  kernel: (ops) => (pair, { beta }) => {
    const lr = logRatios(ops)(pair);
    const rw = mulScalar(ops)(beta, lr.chosen);
    const rl = mulScalar(ops)(beta, lr.rejected);
    const loss = ops.add(ops.sigmoid(rw), ops.sigmoid(ops.sub(rl, rw)));
    return { loss, metrics: preferenceMetrics(ops)(pair, lr, beta) };
  },
});
