/**
 * `spac`: the practical objective of Self-Play with Adversarial Critic (SPAC; Ji, Kulkarni, Wang &
 * Xie 2024, arXiv:2406.04274).
 *
 * SPAC casts offline alignment as a Stackelberg game: an adversarial critic f fits the preference
 * data by the Bradley–Terry likelihood while scoring, on average, the learner's own responses
 * below the data responses ("on-average pessimism"), and the learner improves against that critic.
 * The practical algorithm (the paper's Algorithm 2) reparameterizes the critic by the policy as DPO
 * does, f_θ(y) = β·a(y) with a(y) = lp_θ(y) − lp_ref(y) (π_ref the current iterate π_t), samples
 * y′ ∼ π_t, and trains on the Bradley–Terry loss plus λ times the critic's pessimism gap, which in
 * practice is smoothed by a log-sigmoid link instead of being kept linear. Per example (all [B]):
 *
 *   L = softplus(−β·h) + λ·P,   h = a(y_w) − a(y_l)
 *   P = softplus(β·[a(y′) − a(y_w)])        link "logsigmoid" (default): −log σ(f(y_w) − f(y′))
 *   P = β·[a(y′) − a(y_w)]                  link "linear": the gap E_π[f] − E_data[f] itself
 *
 * y′ is given by the inputs `policyGenerated` / `refGenerated`; without them y′ is the rejected
 * response (in SPIN-style self-play the loser is the opponent's sample), where the loss becomes
 * (1 + λ)·softplus(−βh) (logsigmoid) or softplus(−βh) − λβh (linear). The linear link is unbounded
 * below and its gradient never vanishes; the log-sigmoid one is bounded below by 0 and equals the
 * linear gap, up to a constant, where the critic is over-optimistic about y′.
 *
 * The paper's text was not available offline while this was written: the formula follows its
 * abstract and secondary descriptions of Algorithm 2 (see docs/losses.md for exactly what is
 * ours: the choice of y_w as the data response and λ = 1).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * spacLoss.compute(ops)(pair, { beta: 0.1, lambda: 0.5, link: "linear" }).loss; // softplus(−0.2) − 0.5·0.2
 * ```
 *
 * @module
 */
import { defineLoss, logRatios, negLogSigmoid, pairInput, preferenceMetrics, mulScalar } from "./define.ts";
import { paramsCodec } from "./params.ts";
import { nonNegative, oneOf, positive } from "../core/config.ts";
import type { Loss } from "./types.ts";

/** Parameters of `spac`. */
export interface SpacParams {
  /** Temperature β of the implicit critic f = β·log(π_θ/π_ref) (default 0.1). */
  readonly beta: number;
  /** Weight λ of the on-average pessimism term (default 1; tune it). */
  readonly lambda: number;
  /** How the pessimism gap enters: "logsigmoid" (default, bounded below) or "linear". */
  readonly link: "logsigmoid" | "linear";
}

const linkCodec = oneOf(["logsigmoid", "linear"] as const);

/**
 * `spac`: softplus(−βh) + λ·softplus(β·[a(y′) − a(y_w)]) (or the linear gap), y′ = the generated
 * response (default: the rejected one).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * const policyGenerated = v([-2.5]);
 * const refGenerated = v([-2]);
 * spacLoss.compute(ops)({ ...pair, policyGenerated, refGenerated }, { beta: 0.1, lambda: 1 });
 * ```
 */
export const spacLoss: Loss<SpacParams> = defineLoss<SpacParams>({
  name: "spac",
  description: "SPAC: Bradley–Terry fit of the implicit critic plus on-average pessimism on self-play responses",
  params: paramsCodec<SpacParams>("spac", { beta: positive, lambda: nonNegative, link: linkCodec }),
  defaults: { beta: 0.1, lambda: 1, link: "logsigmoid" },
  marginOnly: true,
  marginOnlyReason: "both terms are differences of log-ratios of responses to the same prompt (y_w − y_l and " +
    "y' − y_w), so a per-prompt shift of the reference cancels in each",
  logRatioOnly: true,
  directional: true,
  accepts: ["policyGenerated", "refGenerated"],
  source: "Ji, Kulkarni, Wang & Xie 2024, Self-Play with Adversarial Critic (arXiv:2406.04274), Algorithm 2: " +
    "Bradley–Terry loss plus λ × the on-average pessimism gap of the DPO-reparameterized critic, log-sigmoid smoothed",
  kernel: (ops) => (pair, { beta, lambda, link }) => {
    const lr = logRatios(ops)(pair);
    const policyGenerated = pairInput(pair, "policyGenerated");
    const refGenerated = pairInput(pair, "refGenerated");
    if ((policyGenerated === undefined) !== (refGenerated === undefined)) {
      throw new TypeError('loss "spac": give both policyGenerated and refGenerated, or neither');
    }
    const generated = policyGenerated && refGenerated ? ops.sub(policyGenerated, refGenerated) : lr.rejected;
    const bt = negLogSigmoid(ops)(mulScalar(ops)(beta, lr.margin));
    const gap = mulScalar(ops)(beta, ops.sub(generated, lr.chosen));
    const pessimism = link === "linear" ? gap : ops.softplus(gap);
    const loss = lambda === 0 ? bt : ops.add(bt, mulScalar(ops)(lambda, pessimism));
    return {
      loss,
      metrics: { ...preferenceMetrics(ops)(pair, lr, beta), "spac/pessimism": ops.stopGradient(pessimism) },
    };
  },
});
