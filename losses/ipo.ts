/**
 * IPO: the squared loss toward a fixed margin, in TRL's per-token length-normalized form (`ipo`)
 * and on summed sequence log-probs (`ipo_unnormalized`, eq. 17 of the IPO paper as written).
 *
 * - ipo_unnormalized: L = (h − 1/(2β))², h the margin of summed log-probs. Minimized at h = 1/(2β).
 * - ipo (TRL): each side's log-prob is divided by its own token count before the margin is taken:
 *   h̄ = [lp_θ(y_w) − lp_ref(y_w)]/n_w − [lp_θ(y_l) − lp_ref(y_l)]/n_l, L = (h̄ − 1/(2β))².
 *
 * In the IPO paper β is written τ (the regularization strength).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * ipoUnnormalizedLoss.compute(ops)(pair, { beta: 0.25 }).loss; // [(2 − 2)²] = [0]
 * ipoLoss.compute(ops)({ ...pair, chosenTokens: v([2]), rejectedTokens: v([4]) }, { beta: 0.25 }).loss;
 * // h̄ = 1/2 + 1/4 = 0.75 → [(0.75 − 2)²]
 * ```
 *
 * @module
 */
import { defineLoss, logRatios, preferenceMetrics, requireInput } from "./define.ts";
import { paramsCodec } from "./params.ts";
import { positive } from "../core/config.ts";
import type { Loss } from "./types.ts";

/** Parameters of `ipo` and `ipo_unnormalized`. */
export interface IpoParams {
  /** τ of the IPO paper (TRL's `beta`, default 0.1): the target margin is 1/(2β). */
  readonly beta: number;
}

/**
 * `ipo_unnormalized`: (h − 1/(2β))² on summed sequence log-probs.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * ipoUnnormalizedLoss.compute(ops)(pair, { beta: 0.1 }); // minimized at h = 5
 * ```
 */
export const ipoUnnormalizedLoss: Loss<IpoParams> = defineLoss<IpoParams>({
  name: "ipo_unnormalized",
  description: "IPO on summed sequence log-probs: (h − 1/(2β))²",
  params: paramsCodec<IpoParams>("ipo_unnormalized", { beta: positive }),
  defaults: { beta: 0.1 },
  marginOnly: true,
  marginOnlyReason: "a function of the margin h alone",
  logRatioOnly: true,
  directional: true,
  source: "Azar et al. 2023, A General Theoretical Paradigm to Understand Learning from Human Preferences " +
    "(arXiv:2310.12036) eq. 17",
  kernel: (ops) => (pair, { beta }) => {
    const lr = logRatios(ops)(pair);
    const loss = ops.square(ops.sub(lr.margin, ops.scalar(1 / (2 * beta))));
    return { loss, metrics: preferenceMetrics(ops)(pair, lr, beta) };
  },
});

/**
 * `ipo` (TRL): (h̄ − 1/(2β))² where each response's log-probs (policy and reference) are divided by
 * its token count. Needs `chosenTokens` and `rejectedTokens`. The metrics report the normalized
 * log-probs and rewards, as TRL does.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * ipoLoss.compute(ops)({ ...pair, chosenTokens: v([12]), rejectedTokens: v([30]) });
 * ```
 */
export const ipoLoss: Loss<IpoParams> = defineLoss<IpoParams>({
  name: "ipo",
  description: "IPO as in TRL: (h̄ − 1/(2β))² on per-token length-normalized log-probs",
  params: paramsCodec<IpoParams>("ipo", { beta: positive }),
  defaults: { beta: 0.1 },
  marginOnly: false,
  marginOnlyReason: "each side's log-ratio is divided by its own length, so a per-prompt constant c added to both " +
    "reference log-probs becomes c/n_w − c/n_l, which is not zero when the lengths differ",
  logRatioOnly: true,
  directional: true,
  requires: ["chosenTokens", "rejectedTokens"],
  source: "Azar et al. 2023 (arXiv:2310.12036) eq. 17, with TRL's per-token averaging of log-probs",
  trlName: "ipo",
  kernel: (ops) => (pair, { beta }) => {
    const nw = requireInput(pair, "chosenTokens", "ipo");
    const nl = requireInput(pair, "rejectedTokens", "ipo");
    const normalized = {
      ...pair,
      policyChosen: ops.div(pair.policyChosen, nw),
      refChosen: ops.div(pair.refChosen, nw),
      policyRejected: ops.div(pair.policyRejected, nl),
      refRejected: ops.div(pair.refRejected, nl),
    };
    const lr = logRatios(ops)(normalized);
    const loss = ops.square(ops.sub(lr.margin, ops.scalar(1 / (2 * beta))));
    const metrics = preferenceMetrics(ops)(pair, lr, beta, {
      chosen: normalized.policyChosen,
      rejected: normalized.policyRejected,
    });
    return { loss, metrics };
  },
});
