/**
 * SPPO: squared regression of each response's log-ratio toward a target set by its win rate
 * against the current policy. With a(y) = lp_θ(y) − lp_ref(y) (the reference is the current
 * iterate π_t) and η = 1/β:
 * - sppo:      L = (a_w − η·(P̂_w − ½))² + (a_l − η·(P̂_l − ½))²
 *              P̂_w, P̂_l = estimated P(y ≻ π_t | x), the `winRateChosen` / `winRateRejected` inputs.
 * - sppo_hard: the same with hard win rates P̂_w = 1, P̂_l = 0:
 *              L = (a_w − 1/(2β))² + (a_l + 1/(2β))², minimized at a_w = 1/(2β), a_l = −1/(2β).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * sppoHardLoss.compute(ops)(pair, { beta: 0.5 }).loss; // (1 − 1)² + (−1 + 1)² = [0]
 * sppoLoss.compute(ops)({ ...pair, winRateChosen: v([0.8]), winRateRejected: v([0.3]) }, { beta: 0.5 });
 * ```
 *
 * @module
 */
import { defineLoss, logRatios, preferenceMetrics, requireInput, mulScalar } from "./define.ts";
import { paramsCodec } from "./params.ts";
import { positive } from "../core/config.ts";
import type { Loss } from "./types.ts";

/** Parameters of `sppo` and `sppo_hard`. */
export interface SppoParams {
  /** β; the SPPO step size is η = 1/β (default 0.1). */
  readonly beta: number;
}

const notMarginOnly = "each response's log-ratio is regressed toward its own target, so a per-prompt shift of " +
  "the reference moves both log-ratios and changes the loss";

/**
 * `sppo_hard`: (a_w − 1/(2β))² + (a_l + 1/(2β))² (TRL's hard-probability SPPO).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * sppoHardLoss.compute(ops)(pair, { beta: 0.1 }); // minimized at a_w = 5, a_l = −5
 * ```
 */
export const sppoHardLoss: Loss<SppoParams> = defineLoss<SppoParams>({
  name: "sppo_hard",
  description: "SPPO with hard win rates (1 for chosen, 0 for rejected): per-response squared loss",
  params: paramsCodec<SppoParams>("sppo_hard", { beta: positive }),
  defaults: { beta: 0.1 },
  marginOnly: false,
  marginOnlyReason: notMarginOnly,
  logRatioOnly: true,
  directional: true,
  source: "Wu et al. 2024, Self-Play Preference Optimization (arXiv:2405.00675) eq. 4.7 with P̂ ∈ {0, 1}",
  trlName: "sppo_hard",
  kernel: (ops) => (pair, { beta }) => {
    const lr = logRatios(ops)(pair);
    const target = 1 / (2 * beta);
    const loss = ops.add(
      ops.square(ops.sub(lr.chosen, ops.scalar(target))),
      ops.square(ops.add(lr.rejected, ops.scalar(target))),
    );
    return { loss, metrics: preferenceMetrics(ops)(pair, lr, beta) };
  },
});

/**
 * `sppo`: (a_w − (P̂_w − ½)/β)² + (a_l − (P̂_l − ½)/β)², with the win rates as inputs
 * `winRateChosen` and `winRateRejected` ([B], in [0, 1]).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * const winRateChosen = v([0.7]);
 * const winRateRejected = v([0.3]);
 * sppoLoss.compute(ops)({ ...pair, winRateChosen, winRateRejected }, { beta: 0.1 });
 * ```
 */
export const sppoLoss: Loss<SppoParams> = defineLoss<SppoParams>({
  name: "sppo",
  description: "SPPO: per-response squared loss toward η·(P̂ − ½), with given win rates P̂ and η = 1/β",
  params: paramsCodec<SppoParams>("sppo", { beta: positive }),
  defaults: { beta: 0.1 },
  marginOnly: false,
  marginOnlyReason: notMarginOnly,
  logRatioOnly: true,
  directional: false,
  requires: ["winRateChosen", "winRateRejected"],
  source: "Wu et al. 2024, Self-Play Preference Optimization (arXiv:2405.00675) eq. 4.7 / Algorithm 1",
  kernel: (ops) => (pair, { beta }) => {
    const lr = logRatios(ops)(pair);
    const pw = requireInput(pair, "winRateChosen", "sppo");
    const pl = requireInput(pair, "winRateRejected", "sppo");
    const half = ops.scalar(0.5);
    const targetW = mulScalar(ops)(1 / beta, ops.sub(pw, half));
    const targetL = mulScalar(ops)(1 / beta, ops.sub(pl, half));
    const loss = ops.add(ops.square(ops.sub(lr.chosen, targetW)), ops.square(ops.sub(lr.rejected, targetL)));
    return { loss, metrics: preferenceMetrics(ops)(pair, lr, beta) };
  },
});
