/**
 * Plackett–Luce: a listwise loss over the data answer y_0 and K generated answers y_1…y_K of one
 * prompt, with implicit rewards r_j = β·[lp_θ(y_j) − lp_ref(y_j)]. Under the Plackett–Luce model a
 * ranking is drawn by picking the first item with probability ∝ exp(r), then the next among the
 * rest, and so on. Two conventions for the generated answers:
 *
 * - `ranking: "top1"` (default): the generated answers are unordered; the data answer beats each
 *   of them. The likelihood is P(y_0 ranked first) = exp(r_0) / Σ_j exp(r_j) (the PL probability
 *   summed over every order of the others), so L = logsumexp_j(r_j) − r_0. Permuting the
 *   generated answers changes nothing.
 * - `ranking: "ordered"`: the list is a full ranking y_0 ≻ y_1 ≻ … ≻ y_K in the order given,
 *   L = Σ_{i<K} [logsumexp_{j≥i}(r_j) − r_i].
 *
 * With one generated answer (K = 1) both are −log σ(r_0 − r_1) = −log σ(β·h): DPO's `sigmoid` loss.
 * Adding one constant to the reference of every response of a prompt shifts every r_j alike, which
 * a softmax ignores, so the loss is margin-only (exact with α-SPIN's unnormalized reference).
 *
 * The pairwise loss interface ({@link PreferencePair}) has one loser per prompt, and so has the
 * self-play loop today; {@link plackettLuceList} takes [B, 1 + K] tensors (docs/losses.md says what
 * the loop needs to feed it). The registered `plackett_luce` is its K = 1 view, so a run config can
 * name it now.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const policy = ops.fromArray([-10, -12, -15], [1, 3]), ref = ops.fromArray([-11, -11, -11], [1, 3]);
 * plackettLuceList(ops)({ policy, ref }, { beta: 1 }).loss; // [log(e¹ + e⁻¹ + e⁻⁴) − 1]
 * ```
 *
 * @module
 */
import type { TensorOps } from "../core/tensor.ts";
import { defineLoss, mulScalar, rewardMetrics } from "./define.ts";
import { decodeParams, paramsCodec } from "./params.ts";
import { oneOf, positive } from "../core/config.ts";
import type { ListLoss, Loss, LossOutput, ResponseList } from "./types.ts";

/** Parameters of `plackett_luce`. */
export interface PlackettLuceParams {
  /** Temperature β of the implicit rewards (default 0.1, as DPO). */
  readonly beta: number;
  /** "top1": the data answer beats each unordered generated answer (default); "ordered": the list order is the ranking. */
  readonly ranking: "top1" | "ordered";
}

const rankingCodec = oneOf(["top1", "ordered"] as const);

const NAME = "plackett_luce";
const codec = paramsCodec<PlackettLuceParams>(NAME, { beta: positive, ranking: rankingCodec });
const defaults: PlackettLuceParams = { beta: 0.1, ranking: "top1" };
const resolveParams = (params?: Partial<PlackettLuceParams>): PlackettLuceParams =>
  decodeParams(NAME, codec, { ...defaults, ...(params ?? {}) });

/** A score low enough that exp(score − anything present) is 0: padding never takes probability. */
const ABSENT = -1e30;

/** Column j of a [B, N] tensor, as [B]. */
const column = <T>(ops: TensorOps<T>, x: T, j: number): T => {
  const [b] = ops.shape(x);
  return ops.reshape(ops.slice(x, [0, j], [b, 1]), [b]);
};

const checkList = <T>(ops: TensorOps<T>, list: ResponseList<T>): [number, number] => {
  const shape = ops.shape(list.policy);
  if (shape.length !== 2 || shape[1] < 2) {
    throw new RangeError(`loss "${NAME}": policy must be [B, 1 + K] with K ≥ 1, got [${shape}]`);
  }
  for (const [name, v] of [["ref", list.ref], ["mask", list.mask]] as const) {
    if (v === undefined) continue;
    const s = ops.shape(v);
    if (s.join() !== shape.join()) throw new RangeError(`loss "${NAME}": ${name} has shape [${s}], expected [${shape}] like policy`);
  }
  return [shape[0], shape[1]];
};

/** The per-prompt loss and metrics on validated parameters (no tidy: callers wrap it). */
const listKernel = <T>(ops: TensorOps<T>, list: ResponseList<T>, { beta, ranking }: PlackettLuceParams): LossOutput<T> => {
  const [b, n] = checkList(ops, list);
  const rewards = mulScalar(ops)(beta, ops.sub(list.policy, list.ref)); // r_j, [B, 1 + K]
  // Column 0 (the data answer) always counts, whatever the mask says there.
  const present = list.mask === undefined
    ? ops.fill([b, n], 1)
    : ops.concat([ops.fill([b, 1], 1), ops.slice(list.mask, [0, 1], [b, n - 1])], 1);
  const scores = ops.where(present, rewards, ops.fill([b, n], ABSENT));
  const stageLoss = (i: number): T => ops.sub(ops.logSumExp(ops.slice(scores, [0, i], [b, n - i]), 1), column(ops, scores, i));
  let loss = stageLoss(0);
  if (ranking === "ordered") {
    // Stage i picks y_i among y_i…y_K; the last stage is certain. An absent y_i has no stage.
    for (let i = 1; i < n - 1; i++) {
      loss = ops.add(loss, ops.where(column(ops, present, i), stageLoss(i), ops.fill([b], 0)));
    }
  }
  // Metrics: the data answer against the mean of the generated answers present.
  const losers = ops.slice(present, [0, 1], [b, n - 1]);
  const count = ops.maximum(ops.sum(losers, 1), ops.scalar(1));
  const zeros = ops.fill([b, n - 1], 0);
  // `where`, not a product with the mask: a padded entry may hold anything, even −∞.
  const meanOfLosers = (x: T): T => ops.div(ops.sum(ops.where(losers, ops.slice(x, [0, 1], [b, n - 1]), zeros), 1), count);
  const chosen = column(ops, rewards, 0);
  const metrics = rewardMetrics(ops)(chosen, meanOfLosers(rewards), {
    chosen: column(ops, list.policy, 0),
    rejected: meanOfLosers(list.policy),
  });
  // Accuracy: the data answer's reward exceeds every generated answer's.
  const best = ops.max(ops.slice(scores, [0, 1], [b, n - 1]), 1);
  return { loss, metrics: { ...metrics, "rewards/accuracies": ops.stopGradient(ops.greater(chosen, best)) } };
};

/**
 * The Plackett–Luce loss on a {@link ResponseList} ([B, 1 + K]): per-prompt loss [B] and metrics
 * (`rewards/chosen` = r_0, `rewards/rejected` = the mean reward of the generated answers present,
 * `rewards/accuracies` = 1 where r_0 exceeds all of them, `logps/*` likewise).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * // B = 1 prompt: the data answer and K = 2 generated answers, the second one padding
 * const policy = ops.fromArray([-1, -3, 0], [1, 3]);
 * const ref = ops.fromArray([-2, -2, 0], [1, 3]);
 * const mask = ops.fromArray([1, 1, 0], [1, 3]);
 * plackettLuceList(ops)({ policy, ref, mask }, { beta: 0.1, ranking: "top1" });
 * ```
 */
export const plackettLuceList = <T>(ops: TensorOps<T>) =>
(list: ResponseList<T>, params?: Partial<PlackettLuceParams>): LossOutput<T> => {
  const resolved = resolveParams(params);
  return ops.tidy(() => listKernel(ops, list, resolved));
};

/**
 * The listwise loss as a {@link ListLoss} value (name, flags, `compute`), for the list property kit.
 *
 * @example
 * ```ts
 * import { referenceOps } from "../backends/reference.ts";
 * import { checkListLossProperties } from "./list-property-kit.ts";
 * await checkListLossProperties(referenceOps, plackettLuceListLoss, { params: { ranking: "ordered" } });
 * ```
 */
export const plackettLuceListLoss: ListLoss<PlackettLuceParams> = Object.freeze({
  name: NAME,
  description: "Plackett–Luce over the data answer and K generated answers (top-1 or full ranking)",
  marginOnly: true,
  logRatioOnly: true,
  directional: true,
  ordersLosers: (p: PlackettLuceParams) => p.ranking === "ordered",
  resolveParams,
  compute: plackettLuceList,
});

/**
 * `plackett_luce` on a {@link PreferencePair}: the list [y_w, y_l] (K = 1), equal to `sigmoid`
 * (DPO) with the same β under either ranking.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * plackettLuceLoss.compute(ops)(pair, { beta: 0.1 }); // = sigmoidLoss.compute(ops)(pair, { beta: 0.1 })
 * ```
 */
export const plackettLuceLoss: Loss<PlackettLuceParams> = defineLoss<PlackettLuceParams>({
  name: NAME,
  description: "Plackett–Luce listwise loss; on a pair (one generated answer) it is DPO's −log σ(βh)",
  params: codec,
  defaults,
  marginOnly: true,
  marginOnlyReason: "a softmax over the rewards of one prompt's responses ignores a constant added to all of them",
  logRatioOnly: true,
  directional: true,
  source: "Plackett 1975, Luce 1959; as a preference loss: DPO's Plackett–Luce form, Rafailov et al. 2023 " +
    "(arXiv:2305.18290) Appendix A.3; TRL issue #1831",
  kernel: (ops) => (pair, params) => {
    const [b] = ops.shape(pair.policyChosen);
    type Tensor = typeof pair.policyChosen;
    const stack = (w: Tensor, l: Tensor) => ops.concat([ops.reshape(w, [b, 1]), ops.reshape(l, [b, 1])], 1);
    return listKernel(ops, { policy: stack(pair.policyChosen, pair.policyRejected), ref: stack(pair.refChosen, pair.refRejected) }, params);
  },
});
