/**
 * `bco_pair`: Binary Classifier Optimization on pairs. With r(y) = β·[lp_θ(y) − lp_ref(y)] and a
 * reward shift δ:
 *   L = −log σ(r_w − δ) − log σ(−(r_l − δ))
 *
 * δ: TRL keeps δ as a running mean, over training, of the batch-mean reward (r_w and r_l together),
 * detached from the gradient. A loss here is a pure function of one batch, so δ is a parameter
 * (default 0, the value before any batch has been seen); a trainer that wants TRL's behaviour keeps
 * the state with {@link updateRunningMean} and passes `{ delta: state.mean }` each step.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * bcoPairLoss.compute(ops)(pair, { beta: 0.1, delta: 0 }).loss;
 * ```
 *
 * @module
 */
import { defineLoss, logRatios, negLogSigmoid, preferenceMetrics, mulScalar } from "./define.ts";
import { paramsCodec } from "./params.ts";
import { finite, positive } from "../core/config.ts";
import type { Loss } from "./types.ts";

/** Parameters of `bco_pair`. */
export interface BcoPairParams {
  /** Temperature β (default 0.1). */
  readonly beta: number;
  /** Reward shift δ (TRL: running mean of batch-mean rewards; default 0). */
  readonly delta: number;
}

/**
 * `bco_pair`: softplus(−(r_w − δ)) + softplus(r_l − δ).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * const state = updateRunningMean({ mean: 0, count: 0 }, [0.2]); // kept by the trainer across batches
 * bcoPairLoss.compute(ops)(pair, { delta: state.mean });
 * ```
 */
export const bcoPairLoss: Loss<BcoPairParams> = defineLoss<BcoPairParams>({
  name: "bco_pair",
  description: "BCO (pairwise): logistic classification of chosen vs rejected rewards around a shift δ",
  params: paramsCodec<BcoPairParams>("bco_pair", { beta: positive, delta: finite }),
  defaults: { beta: 0.1, delta: 0 },
  marginOnly: false,
  marginOnlyReason: "each response's reward is compared with δ on its own, so a per-prompt shift of the " +
    "reference moves both rewards relative to δ and changes the loss",
  logRatioOnly: true,
  directional: true,
  source: "Jung et al. 2024, Binary Classifier Optimization for Large Language Model Alignment (arXiv:2404.04656)",
  trlName: "bco_pair",
  kernel: (ops) => (pair, { beta, delta }) => {
    const lr = logRatios(ops)(pair);
    const d = ops.scalar(delta);
    const rw = mulScalar(ops)(beta, lr.chosen);
    const rl = mulScalar(ops)(beta, lr.rejected);
    const loss = ops.add(negLogSigmoid(ops)(ops.sub(rw, d)), ops.softplus(ops.sub(rl, d)));
    return { loss, metrics: preferenceMetrics(ops)(pair, lr, beta) };
  },
});

/** A running mean: the mean so far and how many values it covers. */
export interface RunningMean {
  /** The mean of the values folded so far (0 before any). */
  readonly mean: number;
  /** How many values were folded. */
  readonly count: number;
}

/**
 * Fold values into a running mean — the state a trainer keeps to pass `delta` to `bco_pair`. TRL
 * folds ONE value per batch (the mean of that batch's r_w and r_l together), so δ is the average of
 * batch means; pass `[batchMean]` to reproduce that. Pure: returns a new state.
 *
 * @example
 * ```ts
 * let state: RunningMean = { mean: 0, count: 0 };
 * state = updateRunningMean(state, [0.2]);  // { mean: 0.2, count: 1 }
 * state = updateRunningMean(state, [0.4]);  // { mean: 0.3, count: 2 }
 * ```
 */
export const updateRunningMean = (state: RunningMean, values: ArrayLike<number>): RunningMean => {
  const n = values.length;
  if (n === 0) return state;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i];
  const count = state.count + n;
  return { mean: state.mean + (sum - n * state.mean) / count, count };
};
