/**
 * `exo_pair`: EXO for pairs — the reverse KL between the model's preference probability σ(βh) and
 * the smoothed label (1 − ε, ε):
 *   L = σ(z)·[log σ(z) − log(1 − ε)] + σ(−z)·[log σ(−z) − log ε],   z = β·h.
 * It is minimized at σ(z) = 1 − ε, i.e. z = log((1 − ε)/ε), and is ≥ 0.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * exoPairLoss.compute(ops)(pair, { beta: 0.1, epsilon: 1e-3 }).loss;
 * ```
 *
 * @module
 */
import { defineLoss, logRatios, preferenceMetrics, mulScalar } from "./define.ts";
import { paramsCodec } from "./params.ts";
import { numberIn, positive } from "../core/config.ts";
import type { Loss } from "./types.ts";

/** Parameters of `exo_pair`. */
export interface ExoPairParams {
  /** Temperature β (default 0.1). */
  readonly beta: number;
  /** Label smoothing ε ∈ (0, 0.5); TRL uses 1e-3 when its `label_smoothing` is 0 (default 1e-3). */
  readonly epsilon: number;
}

/**
 * `exo_pair`: KL(Bernoulli(σ(βh)) ‖ Bernoulli(1 − ε)).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * exoPairLoss.compute(ops)(pair); // β = 0.1, ε = 1e-3
 * ```
 */
export const exoPairLoss: Loss<ExoPairParams> = defineLoss<ExoPairParams>({
  name: "exo_pair",
  description: "EXO (pairwise): reverse KL from σ(βh) to the smoothed preference label",
  params: paramsCodec<ExoPairParams>("exo_pair", {
    beta: positive,
    epsilon: numberIn(0, 0.5, { loOpen: true, hiOpen: true }),
  }),
  defaults: { beta: 0.1, epsilon: 1e-3 },
  marginOnly: true,
  marginOnlyReason: "a function of the margin h alone",
  logRatioOnly: true,
  directional: true,
  source: "Ji et al. 2024, Towards Efficient Exact Optimization of Language Model Alignment (arXiv:2402.00856) eq. 16",
  trlName: "exo_pair",
  kernel: (ops) => (pair, { beta, epsilon }) => {
    const lr = logRatios(ops)(pair);
    const z = mulScalar(ops)(beta, lr.margin);
    const negZ = ops.neg(z);
    // log σ(±z) = −softplus(∓z): written with softplus rather than ops.logSigmoid, whose tfjs
    // gradient does not keep its input alive outside a tidy.
    const win = ops.mul(ops.sigmoid(z), ops.neg(ops.add(ops.softplus(negZ), ops.scalar(Math.log1p(-epsilon)))));
    const lose = ops.mul(ops.sigmoid(negZ), ops.neg(ops.add(ops.softplus(z), ops.scalar(Math.log(epsilon)))));
    return { loss: ops.add(win, lose), metrics: preferenceMetrics(ops)(pair, lr, beta) };
  },
});
