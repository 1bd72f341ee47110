/**
 * `spac`: the practical objective of Self-Play with Adversarial Critic (SPAC).
 *
 * SPAC casts offline alignment as a Stackelberg game: an adversarial critic f fits the preference
 * data by the Bradley–Terry likelihood while, on average, scoring the learner's own responses below
 * the data ("on-average pessimism"), and the learner improves against that critic. Reparameterizing
 * the critic by the policy as in DPO, f_θ(x, y) = β·[log π_θ(y|x) − log π_ref(y|x)] with π_ref the
 * current iterate π_t, turns the critic's problem into one loss on θ:
 *
 *   L(θ) = −log σ(f_θ(y_w) − f_θ(y_l))  +  λ·[f_θ(y') − f_θ(y_w)]
 *          ── Bradley–Terry fit ──        ── on-average pessimism ──
 *
 * where y' ∼ π_t is a self-play response and y_w the data response. Per example (all [B]):
 *
 *   L = softplus(−β·h) + λ·β·[a(y') − a(y_w)],     a(y) = lp_θ(y) − lp_ref(y), h = a(y_w) − a(y_l)
 *
 * y' is given by the inputs `policyGenerated` / `refGenerated`; without them y' is the rejected
 * response — in SPIN-style self-play the loser IS the opponent's sample — and the loss becomes
 * softplus(−βh) − λ·β·h. The pessimism term is linear (unbounded below) exactly as in the
 * objective; it is finite at every finite margin, and its gradient never vanishes, so λ should be
 * small and training short (as with SPIN iterations).
 *
 * Source: Ji, Kulkarni, Wang & Xie 2024, "Self-Play with Adversarial Critic: Provable and Scalable
 * Offline Alignment for Language Models" (arXiv:2406.04274), the critic objective with on-average
 * pessimism and its DPO-style practical implementation. This is our reading of that objective; see
 * docs/losses.md for the caveats.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * spacLoss.compute(ops)(pair, { beta: 0.1, lambda: 0.5 }).loss; // softplus(−0.2) − 0.5·0.2
 * ```
 *
 * @module
 */
import { defineLoss, logRatios, negLogSigmoid, pairInput, preferenceMetrics, mulScalar } from "./define.ts";
import { nonNegativeNumber, paramsCodec, positiveNumber } from "./params.ts";
import type { Loss } from "./types.ts";

/** Parameters of `spac`. */
export interface SpacParams {
  /** Temperature β of the implicit critic f = β·log(π_θ/π_ref) (default 0.1). */
  readonly beta: number;
  /** Weight λ of the on-average pessimism term (default 1; tune it). */
  readonly lambda: number;
}

/**
 * `spac`: softplus(−βh) + λ·β·[a(y') − a(y_w)], y' = the generated response (default: the rejected one).
 *
 * @example
 * ```ts
 * spacLoss.compute(ops)({ ...pair, policyGenerated, refGenerated }, { beta: 0.1, lambda: 1 });
 * ```
 */
export const spacLoss: Loss<SpacParams> = defineLoss<SpacParams>({
  name: "spac",
  description: "SPAC: Bradley–Terry fit of the implicit critic plus on-average pessimism on self-play responses",
  params: paramsCodec<SpacParams>("spac", { beta: positiveNumber, lambda: nonNegativeNumber }),
  defaults: { beta: 0.1, lambda: 1 },
  marginOnly: true,
  marginOnlyReason: "both terms are differences of log-ratios of responses to the same prompt (y_w − y_l and " +
    "y' − y_w), so a per-prompt shift of the reference cancels in each",
  logRatioOnly: true,
  directional: true,
  accepts: ["policyGenerated", "refGenerated"],
  source: "Ji, Kulkarni, Wang & Xie 2024, Self-Play with Adversarial Critic (arXiv:2406.04274): critic objective " +
    "with on-average pessimism, DPO-style reparameterization",
  kernel: (ops) => (pair, { beta, lambda }) => {
    const lr = logRatios(ops)(pair);
    const policyGenerated = pairInput(pair, "policyGenerated");
    const refGenerated = pairInput(pair, "refGenerated");
    if ((policyGenerated === undefined) !== (refGenerated === undefined)) {
      throw new TypeError('loss "spac": give both policyGenerated and refGenerated, or neither');
    }
    const generated = policyGenerated && refGenerated ? ops.sub(policyGenerated, refGenerated) : lr.rejected;
    const bt = negLogSigmoid(ops)(mulScalar(ops)(beta, lr.margin));
    const pessimism = mulScalar(ops)(beta, ops.sub(generated, lr.chosen));
    const loss = lambda === 0 ? bt : ops.add(bt, mulScalar(ops)(lambda, pessimism));
    return {
      loss,
      metrics: { ...preferenceMetrics(ops)(pair, lr, beta), "spac/pessimism": ops.stopGradient(pessimism) },
    };
  },
});
