/**
 * The hinge family: `hinge` (TRL's SLiC-style hinge on the reference-adjusted margin) and `slic`
 * (hinge with margin δ plus λ times the NLL of the SFT answer, as in SLiC-HF).
 *
 * With h = [lp_θ(y_w) − lp_ref(y_w)] − [lp_θ(y_l) − lp_ref(y_l)]:
 * - hinge: L = max(0, 1 − β·h)            (zero loss and zero gradient once β·h ≥ 1)
 * - slic:  L = max(0, δ − β·h) + λ·nll     (nll = the `sftNll` input)
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * hingeLoss.compute(ops)(pair).loss; // [max(0, 1 − 0.1·2)] = [0.8]
 * ```
 *
 * @module
 */
import { defineLoss, logRatios, preferenceMetrics, requireInput, mulScalar } from "./define.ts";
import { paramsCodec } from "./params.ts";
import { finite, nonNegative, positive } from "../core/config.ts";
import type { Loss } from "./types.ts";

/** Parameters of `hinge`. */
export interface HingeParams {
  /** β: the hinge is max(0, 1 − βh), i.e. a margin of 1/β in h (TRL default 0.1). */
  readonly beta: number;
}

/**
 * `hinge`: max(0, 1 − β·h), the SLiC calibration hinge on the reference-adjusted margin (TRL).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * hingeLoss.compute(ops)(pair, { beta: 0.1 });
 * ```
 */
export const hingeLoss: Loss<HingeParams> = defineLoss<HingeParams>({
  name: "hinge",
  description: "hinge on the reference-adjusted margin: max(0, 1 − βh)",
  params: paramsCodec<HingeParams>("hinge", { beta: positive }),
  defaults: { beta: 0.1 },
  marginOnly: true,
  marginOnlyReason: "a function of the margin h alone",
  logRatioOnly: true,
  directional: true,
  source: "Zhao et al. 2023, SLiC-HF (arXiv:2305.10425) eq. 1, with the reference-adjusted margin as in TRL",
  trlName: "hinge",
  kernel: (ops) => (pair, { beta }) => {
    const lr = logRatios(ops)(pair);
    const loss = ops.relu(ops.sub(ops.scalar(1), mulScalar(ops)(beta, lr.margin)));
    return { loss, metrics: preferenceMetrics(ops)(pair, lr, beta) };
  },
});

/** Parameters of `slic`. */
export interface SlicParams {
  /** β scaling the margin inside the hinge (0.1, as `hinge`). */
  readonly beta: number;
  /** Hinge margin δ: the loss is zero once β·h ≥ δ (default 1). */
  readonly delta: number;
  /** Weight λ of the SFT negative log-likelihood (default 0.1). */
  readonly lambda: number;
}

/**
 * `slic`: max(0, δ − β·h) + λ·nll(y_sft), where nll is the `sftNll` input (the policy's negative
 * log-likelihood of the SFT answer, per sequence or per token as the caller chooses). With β = 1 and
 * a zero reference this is the SLiC-HF objective (rank calibration + cross-entropy regularizer).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * slicLoss.compute(ops)({ ...pair, sftNll: v([2.5]) }, { delta: 1, lambda: 0.1 });
 * ```
 */
export const slicLoss: Loss<SlicParams> = defineLoss<SlicParams>({
  name: "slic",
  description: "SLiC-HF: hinge with margin δ on βh plus λ·NLL of the SFT answer",
  params: paramsCodec<SlicParams>("slic", { beta: positive, delta: finite, lambda: nonNegative }),
  defaults: { beta: 0.1, delta: 1, lambda: 0.1 },
  marginOnly: true,
  marginOnlyReason: "the hinge sees the reference only through h, and the NLL term does not use the reference",
  logRatioOnly: true,
  directional: true,
  requires: ["sftNll"],
  source: "Zhao et al. 2023, SLiC-HF (arXiv:2305.10425) eq. 1 (rank calibration loss + λ·cross-entropy)",
  kernel: (ops) => (pair, { beta, delta, lambda }) => {
    const lr = logRatios(ops)(pair);
    const nll = requireInput(pair, "sftNll", "slic");
    const hinge = ops.relu(ops.sub(ops.scalar(delta), mulScalar(ops)(beta, lr.margin)));
    const loss = lambda === 0 ? hinge : ops.add(hinge, mulScalar(ops)(lambda, nll));
    return {
      loss,
      metrics: { ...preferenceMetrics(ops)(pair, lr, beta), "nll_loss": ops.stopGradient(nll) },
    };
  },
});
