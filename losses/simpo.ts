/**
 * SimPO: a reference-free, length-normalized logistic loss. The implicit reward of a response is
 * its average token log-prob under the policy, scaled by β, and the chosen response must beat the
 * rejected one by a target margin γ:
 *
 *   r(y) = β/|y|·lp_θ(y),   L = −log σ(r(y_w) − r(y_l) − γ)
 *
 * |y| is the response's token count (the `chosenTokens` / `rejectedTokens` inputs). No reference
 * model appears, so the loss is unchanged by any reference at all (in particular by α-SPIN's
 * unnormalized geometric one: there α has no effect). Dividing by the length removes the pull
 * toward long answers that summed log-probs have.
 *
 * Defaults β = 2.0, γ = 0.5 (γ/β = 0.25): the trainer defaults of the SimPO authors' code (β = 2,
 * gamma_beta_ratio = 0.25, as remembered; not re-checked offline); the paper tunes both per model.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-4]), policyRejected: v([-12]), refChosen: v([0]), refRejected: v([0]),
 *   chosenTokens: v([2]), rejectedTokens: v([4]) };
 * simpoLoss.compute(ops)(pair).loss; // −log σ(2·(−2) − 2·(−3) − 0.5) = −log σ(1.5)
 * ```
 *
 * @module
 */
import { defineLoss, mulScalar, negLogSigmoid, requireInput, rewardMetrics } from "./define.ts";
import { paramsCodec } from "./params.ts";
import { nonNegative, positive } from "../core/config.ts";
import type { Loss } from "./types.ts";

/** Parameters of `simpo`. */
export interface SimpoParams {
  /** β: scales the average log-prob into a reward (default 2.0). */
  readonly beta: number;
  /** γ ≥ 0: the target reward margin (default 0.5). */
  readonly gamma: number;
}

/**
 * `simpo`: −log σ(β·lp_θ(y_w)/n_w − β·lp_θ(y_l)/n_l − γ). Needs `chosenTokens` and `rejectedTokens`.
 * The metrics report the length-normalized log-probs and the rewards β·lp_θ/n.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * const chosenTokens = v([4]);
 * const rejectedTokens = v([6]);
 * simpoLoss.compute(ops)({ ...pair, chosenTokens, rejectedTokens }, { beta: 2.5, gamma: 1.4 });
 * ```
 */
export const simpoLoss: Loss<SimpoParams> = defineLoss<SimpoParams>({
  name: "simpo",
  description: "SimPO: reference-free logistic loss on length-normalized log-probs with a target margin γ",
  params: paramsCodec<SimpoParams>("simpo", { beta: positive, gamma: nonNegative }),
  defaults: { beta: 2.0, gamma: 0.5 },
  marginOnly: true,
  marginOnlyReason: "reference-free: it never reads the reference log-probs, so no shift of them changes it",
  logRatioOnly: false,
  directional: true,
  requires: ["chosenTokens", "rejectedTokens"],
  source: "Meng, Xia & Chen 2024, SimPO: Simple Preference Optimization with a Reference-Free Reward " +
    "(arXiv:2405.14734), its objective L_SimPO; defaults from the authors' trainer (beta 2.0, gamma_beta_ratio 0.25)",
  kernel: (ops) => (pair, { beta, gamma }) => {
    const nw = requireInput(pair, "chosenTokens", "simpo");
    const nl = requireInput(pair, "rejectedTokens", "simpo");
    const meanChosen = ops.div(pair.policyChosen, nw);
    const meanRejected = ops.div(pair.policyRejected, nl);
    const rewardChosen = mulScalar(ops)(beta, meanChosen);
    const rewardRejected = mulScalar(ops)(beta, meanRejected);
    const loss = negLogSigmoid(ops)(ops.sub(ops.sub(rewardChosen, rewardRejected), ops.scalar(gamma)));
    return { loss, metrics: rewardMetrics(ops)(rewardChosen, rewardRejected, { chosen: meanChosen, rejected: meanRejected }) };
  },
});
