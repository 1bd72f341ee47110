/**
 * `bt_reward`: the Bradley–Terry reward-model loss of RLHF, −log σ(r_w − r_l).
 *
 * r_w, r_l are the `rewardChosen` / `rewardRejected` inputs when given (e.g. the scalar head of a
 * reward model being trained); otherwise the implicit rewards r(y) = β·[lp_θ(y) − lp_ref(y)], for
 * which the loss is DPO's (β = 1 by default here, so r is the plain log-ratio).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * btRewardLoss.compute(ops)({ ...pair, rewardChosen: v([1.5]), rewardRejected: v([0.5]) }).loss; // [−log σ(1)]
 * ```
 *
 * @module
 */
import { defineLoss, logRatios, negLogSigmoid, pairInput, rewardMetrics, mulScalar } from "./define.ts";
import { paramsCodec } from "./params.ts";
import { positive } from "../core/config.ts";
import type { Loss } from "./types.ts";

/** Parameters of `bt_reward`. */
export interface BtRewardParams {
  /** Scale of the implicit reward r = β·log-ratio, used when no rewards are given (default 1). */
  readonly beta: number;
}

/**
 * `bt_reward`: softplus(−(r_w − r_l)) on given or implicit rewards.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * const rewardChosen = v([1.5]);
 * const rewardRejected = v([0.5]);
 * btRewardLoss.compute(ops)({ ...pair, rewardChosen, rewardRejected });
 * ```
 */
export const btRewardLoss: Loss<BtRewardParams> = defineLoss<BtRewardParams>({
  name: "bt_reward",
  description: "Bradley–Terry reward-model loss −log σ(r_w − r_l) on given rewards (default: implicit rewards)",
  params: paramsCodec<BtRewardParams>("bt_reward", { beta: positive }),
  defaults: { beta: 1 },
  marginOnly: true,
  marginOnlyReason: "given rewards do not use the reference at all; implicit rewards enter only through r_w − r_l = β·h",
  logRatioOnly: true,
  directional: true,
  accepts: ["rewardChosen", "rewardRejected"],
  source: "Bradley & Terry 1952; the RLHF reward-model loss of Ouyang et al. 2022 (arXiv:2203.02155) eq. 1",
  kernel: (ops) => (pair, { beta }) => {
    const givenW = pairInput(pair, "rewardChosen");
    const givenL = pairInput(pair, "rewardRejected");
    if ((givenW === undefined) !== (givenL === undefined)) {
      throw new TypeError('loss "bt_reward": give both rewardChosen and rewardRejected, or neither');
    }
    let rw: typeof pair.policyChosen, rl: typeof pair.policyChosen;
    if (givenW !== undefined && givenL !== undefined) {
      rw = givenW;
      rl = givenL;
    } else {
      const lr = logRatios(ops)(pair);
      rw = mulScalar(ops)(beta, lr.chosen);
      rl = mulScalar(ops)(beta, lr.rejected);
    }
    const loss = negLogSigmoid(ops)(ops.sub(rw, rl));
    return { loss, metrics: rewardMetrics(ops)(rw, rl, { chosen: pair.policyChosen, rejected: pair.policyRejected }) };
  },
});
