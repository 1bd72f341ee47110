/**
 * The logistic (Bradley–Terry) family: `sigmoid` (DPO, and SPIN when the reference is the previous
 * iterate) with conservative label smoothing, and `robust` (unbiased under label noise).
 *
 * With z = β·h, h = [lp_θ(y_w) − lp_ref(y_w)] − [lp_θ(y_l) − lp_ref(y_l)]:
 * - sigmoid: L = −(1 − ε)·log σ(z) − ε·log σ(−z)        (ε = 0: DPO; ε > 0: cDPO)
 * - robust:  L = [−(1 − ε)·log σ(z) + ε·log σ(−z)] / (1 − 2ε)
 * Both are computed with softplus (−log σ(x) = softplus(−x)), finite for any finite margin.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * sigmoidLoss.compute(ops)(pair).loss; // −log σ(0.1·2)
 * ```
 *
 * @module
 */
import { defineLoss, logRatios, negLogSigmoid, preferenceMetrics, mulScalar } from "./define.ts";
import { paramsCodec } from "./params.ts";
import { numberIn, positive } from "../core/config.ts";
import type { Loss } from "./types.ts";

/** Parameters of `sigmoid` and `robust`. */
export interface SigmoidParams {
  /** Temperature β (TRL default 0.1). */
  readonly beta: number;
  /** Label smoothing ε ∈ [0, 0.5) (TRL's `label_smoothing`, default 0). */
  readonly labelSmoothing: number;
}

const codec = (name: string) =>
  paramsCodec<SigmoidParams>(name, { beta: positive, labelSmoothing: numberIn(0, 0.5, { hiOpen: true }) });

/**
 * `sigmoid`: the DPO loss −log σ(β·h), with optional conservative label smoothing ε
 * (−(1−ε)·log σ(βh) − ε·log σ(−βh)). With the previous iterate as reference and the SFT answer
 * as winner it is the SPIN loss.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * sigmoidLoss.compute(ops)(pair, { beta: 0.1 });
 * ```
 */
export const sigmoidLoss: Loss<SigmoidParams> = defineLoss<SigmoidParams>({
  name: "sigmoid",
  description: "DPO / SPIN logistic loss −log σ(βh), with optional conservative label smoothing (cDPO)",
  params: codec("sigmoid"),
  defaults: { beta: 0.1, labelSmoothing: 0 },
  marginOnly: true,
  marginOnlyReason: "a function of the margin h alone; a per-prompt shift of the reference cancels in h",
  logRatioOnly: true,
  directional: true,
  source: "Rafailov et al. 2023, DPO (arXiv:2305.18290) eq. 7; SPIN: Chen et al. 2024 (arXiv:2401.01335); " +
    "cDPO: Mitchell 2023 note on label smoothing",
  trlName: "sigmoid",
  kernel: (ops) => (pair, { beta, labelSmoothing: eps }) => {
    const lr = logRatios(ops)(pair);
    const z = mulScalar(ops)(beta, lr.margin);
    const main = negLogSigmoid(ops)(z);
    const loss = eps === 0 ? main : ops.add(mulScalar(ops)(1 - eps, main), mulScalar(ops)(eps, ops.softplus(z)));
    return { loss, metrics: preferenceMetrics(ops)(pair, lr, beta) };
  },
});

/**
 * `robust`: the unbiased DPO loss under label noise of rate ε,
 * [−(1−ε)·log σ(βh) + ε·log σ(−βh)] / (1 − 2ε). ε = 0 is plain DPO.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * robustLoss.compute(ops)(pair, { beta: 0.1, labelSmoothing: 0.1 });
 * ```
 */
export const robustLoss: Loss<SigmoidParams> = defineLoss<SigmoidParams>({
  name: "robust",
  description: "robust DPO: unbiased logistic loss under preference-label noise of rate ε",
  params: codec("robust"),
  defaults: { beta: 0.1, labelSmoothing: 0 },
  marginOnly: true,
  marginOnlyReason: "a function of the margin h alone",
  logRatioOnly: true,
  directional: true,
  source: "Chowdhury, Kini & Natarajan 2024, Provably Robust DPO (arXiv:2403.00409)",
  trlName: "robust",
  kernel: (ops) => (pair, { beta, labelSmoothing: eps }) => {
    const lr = logRatios(ops)(pair);
    const z = mulScalar(ops)(beta, lr.margin);
    // −(1−ε) log σ(z) + ε log σ(−z) = (1−ε)·softplus(−z) − ε·softplus(z)
    const numerator = ops.sub(mulScalar(ops)(1 - eps, ops.softplus(ops.neg(z))), mulScalar(ops)(eps, ops.softplus(z)));
    return { loss: mulScalar(ops)(1 / (1 - 2 * eps), numerator), metrics: preferenceMetrics(ops)(pair, lr, beta) };
  },
});
