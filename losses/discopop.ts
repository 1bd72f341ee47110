/**
 * `discopop`: the log-ratio modulated loss found by LLM-driven discovery (DiscoPOP). With z = β·h
 * and the mixing weight m = σ(z/τ):
 *   L = (1 − m)·[−log σ(z)] + m·exp(−z)
 * a blend of the logistic (DPO) loss and the exponential loss, weighted by the margin itself.
 *
 * Numerics: m·exp(−z) is computed as exp(log σ(z/τ) − z), which stays finite where exp(−z) alone
 * overflows (z ≪ 0). For τ ≤ 1 the exponent is ≤ 0 (σ(z/τ) ≤ σ(z) ≤ e^z for z < 0, and σ ≤ 1 ≤ e^z
 * for z ≥ 0), so that term lies in [0, 1] and the loss is finite at any finite margin. τ is
 * therefore restricted to (0, 1] (the paper and TRL use τ = 0.05); for τ > 1 the exponential branch
 * grows without bound as h → −∞.
 *
 * Shape: the loss is not monotone in h. Near h = 0 it rises with the margin for small τ (the
 * exponential branch switches on), so it is flagged `directional: false`.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-2]), policyRejected: v([-2]), refChosen: v([-2]), refRejected: v([-2]) };
 * discopopLoss.compute(ops)(pair).loss; // h = 0: [½·log 2 + ½]
 * ```
 *
 * @module
 */
import { defineLoss, logRatios, negLogSigmoid, preferenceMetrics, mulScalar } from "./define.ts";
import { paramsCodec } from "./params.ts";
import { numberIn, positive } from "../core/config.ts";
import type { Loss } from "./types.ts";

/** Parameters of `discopop`. */
export interface DiscopopParams {
  /** Temperature β (default 0.1). */
  readonly beta: number;
  /** Temperature τ of the mixing weight σ(βh/τ), in (0, 1] (TRL's `discopop_tau`, default 0.05). */
  readonly tau: number;
}

/**
 * `discopop`: σ(−z/τ)·softplus(−z) + exp(−z + log σ(z/τ)), z = βh.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * discopopLoss.compute(ops)(pair, { beta: 0.1, tau: 0.05 });
 * ```
 */
export const discopopLoss: Loss<DiscopopParams> = defineLoss<DiscopopParams>({
  name: "discopop",
  description: "DiscoPOP: logistic and exponential losses blended by σ(βh/τ)",
  params: paramsCodec<DiscopopParams>("discopop", {
    beta: positive,
    tau: numberIn(0, 1, { loOpen: true }),
  }),
  defaults: { beta: 0.1, tau: 0.05 },
  marginOnly: true,
  marginOnlyReason: "a function of the margin h alone",
  logRatioOnly: true,
  directional: false,
  source: "Lu et al. 2024, Discovering Preference Optimization Algorithms with and for Large Language Models " +
    "(arXiv:2406.08414) eq. 5",
  trlName: "discopop",
  kernel: (ops) => (pair, { beta, tau }) => {
    const lr = logRatios(ops)(pair);
    const z = mulScalar(ops)(beta, lr.margin);
    const zt = mulScalar(ops)(1 / tau, z);
    const logistic = ops.mul(ops.sigmoid(ops.neg(zt)), negLogSigmoid(ops)(z));
    // exp(log σ(z/τ) − z) = exp(−softplus(−z/τ) − z) (softplus rather than ops.logSigmoid, whose
    // tfjs gradient does not keep its input alive outside a tidy).
    const exponential = ops.exp(ops.neg(ops.add(ops.softplus(ops.neg(zt)), z)));
    return { loss: ops.add(logistic, exponential), metrics: preferenceMetrics(ops)(pair, lr, beta) };
  },
});
