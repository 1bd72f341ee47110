/**
 * `nca_pair`: Noise Contrastive Alignment for pairs. With implicit rewards r(y) = β·[lp_θ(y) − lp_ref(y)]:
 *   L = −log σ(r_w) − ½·log σ(−r_w) − ½·log σ(−r_l)
 * It raises the chosen response's absolute reward and lowers both toward the reference, so it is
 * not a function of the margin.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * ncaPairLoss.compute(ops)(pair).loss;
 * ```
 *
 * @module
 */
import { defineLoss, logRatios, negLogSigmoid, preferenceMetrics, mulScalar } from "./define.ts";
import { paramsCodec } from "./params.ts";
import { positive } from "../core/config.ts";
import type { Loss } from "./types.ts";

/** Parameters of `nca_pair`. */
export interface NcaPairParams {
  /** Temperature β (default 0.1). */
  readonly beta: number;
}

/**
 * `nca_pair`: softplus(−r_w) + ½·softplus(r_w) + ½·softplus(r_l).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * ncaPairLoss.compute(ops)(pair, { beta: 0.1 });
 * ```
 */
export const ncaPairLoss: Loss<NcaPairParams> = defineLoss<NcaPairParams>({
  name: "nca_pair",
  description: "NCA (pairwise): absolute-reward contrastive loss on each response",
  params: paramsCodec<NcaPairParams>("nca_pair", { beta: positive }),
  defaults: { beta: 0.1 },
  marginOnly: false,
  marginOnlyReason: "it uses each response's own reward r_w and r_l, so a per-prompt shift of the reference " +
    "moves both rewards and changes the loss",
  logRatioOnly: true,
  directional: true,
  source: "Chen et al. 2024, Noise Contrastive Alignment of Language Models with Explicit Rewards " +
    "(arXiv:2402.05369), NCA loss for K = 2",
  trlName: "nca_pair",
  kernel: (ops) => (pair, { beta }) => {
    const lr = logRatios(ops)(pair);
    const rw = mulScalar(ops)(beta, lr.chosen);
    const rl = mulScalar(ops)(beta, lr.rejected);
    const loss = ops.add(
      negLogSigmoid(ops)(rw),
      mulScalar(ops)(0.5, ops.add(ops.softplus(rw), ops.softplus(rl))),
    );
    return { loss, metrics: preferenceMetrics(ops)(pair, lr, beta) };
  },
});
