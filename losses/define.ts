/**
 * `defineLoss` turns a {@link LossSpec} into a {@link Loss} (parameter resolution, input checks),
 * and the small helpers every loss uses: log-ratios, implicit rewards and the TRL-named metrics.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * import { paramsCodec } from "./params.ts";
 * import { positive } from "../core/config.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * const mine = defineLoss<{ beta: number }>({
 *   name: "my_sigmoid", description: "−log σ(β h)", params: paramsCodec("my_sigmoid", { beta: positive }),
 *   defaults: { beta: 0.1 }, marginOnly: true, marginOnlyReason: "a function of h", logRatioOnly: true,
 *   directional: true, source: "Rafailov et al. 2023",
 *   kernel: (ops) => (pair, { beta }) => {
 *     const lr = logRatios(ops)(pair);
 *     const loss = ops.softplus(ops.neg(ops.mul(ops.scalar(beta), lr.margin)));
 *     return { loss, metrics: preferenceMetrics(ops)(pair, lr, beta) };
 *   },
 * });
 * ```
 *
 * @module
 */
import type { TensorOps } from "../core/tensor.ts";
import { decodeParams } from "./params.ts";
import type { InputName, Loss, LossSpec, PreferencePair } from "./types.ts";

const NAME = /^[a-z][a-z0-9_]*$/;

/**
 * The input `name` of `pair` (a {@link PairExtras} field or a key of `pair.extra`), or undefined.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * pairInput(pair, "sftNll"); // pair.sftNll
 * ```
 */
export const pairInput = <T>(pair: PreferencePair<T>, name: InputName): T | undefined => {
  if (name !== "extra" && name in pair) {
    const v = (pair as unknown as Record<string, T | undefined>)[name];
    if (v !== undefined) return v;
  }
  return pair.extra?.[name];
};

/**
 * The input `name` of `pair`, or a TypeError saying which loss needs it.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]), sftNll: v([1.2]) };
 * const nll = requireInput(pair, "sftNll", "slic"); // pair.sftNll; without it, an Error naming slic and sftNll
 * ```
 */
export const requireInput = <T>(pair: PreferencePair<T>, name: InputName, lossName: string): T => {
  const v = pairInput(pair, name);
  if (v === undefined) {
    throw new TypeError(`loss "${lossName}" needs the input "${name}" ([B] tensor) in the pair`);
  }
  return v;
};

/**
 * Check that the four log-prob tensors and every given extra input share one [B] shape.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * checkPairShapes(ops)(pair, "sigmoid"); // returns B
 * ```
 */
export const checkPairShapes = <T>(ops: TensorOps<T>): (pair: PreferencePair<T>, lossName: string) => number =>
(pair, lossName) => {
  const shape = ops.shape(pair.policyChosen);
  if (shape.length !== 1) {
    throw new RangeError(`loss "${lossName}": policyChosen must be [B], got [${shape}]`);
  }
  const check = (name: string, v: T | undefined): void => {
    if (v === undefined) return;
    const s = ops.shape(v);
    if (s.length !== 1 || s[0] !== shape[0]) {
      throw new RangeError(`loss "${lossName}": ${name} has shape [${s}], expected [${shape[0]}] like policyChosen`);
    }
  };
  check("policyRejected", pair.policyRejected);
  check("refChosen", pair.refChosen);
  check("refRejected", pair.refRejected);
  for (const [k, v] of Object.entries(pair)) {
    if (k === "extra" || k === "policyChosen") continue;
    check(k, v as T | undefined);
  }
  for (const [k, v] of Object.entries(pair.extra ?? {})) check(`extra.${k}`, v);
  return shape[0];
};

/**
 * Build a {@link Loss} from its spec: `compute(ops)(pair, params?)` merges `params` over the
 * defaults, validates them with the codec (unknown keys are errors), checks required inputs and
 * shapes, then runs the kernel inside `ops.tidy`.
 *
 * @example
 * ```ts
 * import { lossRegistry } from "./registry.ts";
 * import type { LossSpec } from "./types.ts";
 * declare const spec: LossSpec<{ beta: number }>; // name, description, params codec, defaults, flags, kernel
 * lossRegistry.register(defineLoss({ ...spec }));
 * ```
 */
export const defineLoss = <P>(spec: LossSpec<P>): Loss<P> => {
  if (!NAME.test(spec.name)) {
    throw new TypeError(`loss name "${spec.name}" must be lower snake_case (letters, digits, _), e.g. "my_loss"`);
  }
  const defaults = decodeParams(spec.name, spec.params, spec.defaults);
  const resolveParams = (params?: Partial<P>): P =>
    decodeParams(spec.name, spec.params, { ...defaults, ...(params ?? {}) });
  const compute = <T>(ops: TensorOps<T>) => (pair: PreferencePair<T>, params?: Partial<P>) => {
    const resolved = resolveParams(params);
    checkPairShapes(ops)(pair, spec.name);
    for (const name of spec.requires ?? []) requireInput(pair, name, spec.name);
    return ops.tidy(() => spec.kernel(ops)(pair, resolved));
  };
  return Object.freeze({ ...spec, defaults, resolveParams, compute });
};

/** Per-response log-ratios and the margin, each [B]. */
export interface LogRatios<T> {
  /** a(y_w) = lp_θ(y_w) − lp_ref(y_w). */
  readonly chosen: T;
  /** a(y_l) = lp_θ(y_l) − lp_ref(y_l). */
  readonly rejected: T;
  /** h = a(y_w) − a(y_l). */
  readonly margin: T;
}

/**
 * The log-ratios of a pair: a(y_w), a(y_l) and h = a(y_w) − a(y_l).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * const { chosen, rejected, margin } = logRatios(ops)(pair);
 * ```
 */
export const logRatios = <T>(ops: TensorOps<T>): (pair: PreferencePair<T>) => LogRatios<T> => (pair) => {
  const chosen = ops.sub(pair.policyChosen, pair.refChosen);
  const rejected = ops.sub(pair.policyRejected, pair.refRejected);
  return { chosen, rejected, margin: ops.sub(chosen, rejected) };
};

/**
 * `c·x` for a number c.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const margin = v([2]);
 * mulScalar(ops)(0.1, margin); // 0.1·h
 * ```
 */
export const mulScalar = <T>(ops: TensorOps<T>): (c: number, x: T) => T => (c, x) => ops.mul(x, ops.scalar(c));

/**
 * The TRL-named metrics, each [B] and cut from the gradient: rewards/chosen = β·a(y_w),
 * rewards/rejected = β·a(y_l), rewards/margins = their difference, rewards/accuracies = 1 where
 * rewards/chosen > rewards/rejected, logps/chosen and logps/rejected = the policy's log-probs.
 * `logps` overrides the log-probs reported (e.g. length-normalized ones).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * preferenceMetrics(ops)(pair, logRatios(ops)(pair), 0.1);
 * ```
 */
export const preferenceMetrics = <T>(ops: TensorOps<T>): (
  pair: PreferencePair<T>,
  ratios: Pick<LogRatios<T>, "chosen" | "rejected">,
  beta: number,
  logps?: { chosen: T; rejected: T },
) => Record<string, T> =>
(pair, ratios, beta, logps) => {
  const chosen = ops.stopGradient(mulScalar(ops)(beta, ratios.chosen));
  const rejected = ops.stopGradient(mulScalar(ops)(beta, ratios.rejected));
  return rewardMetrics(ops)(chosen, rejected, logps ?? { chosen: pair.policyChosen, rejected: pair.policyRejected });
};

/**
 * TRL-named metrics from given rewards (cut from the gradient) and log-probs.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-1]), policyRejected: v([-3]), refChosen: v([-2]), refRejected: v([-2]) };
 * const rewardChosen = v([1.5]);
 * const rewardRejected = v([0.5]);
 * rewardMetrics(ops)(rewardChosen, rewardRejected, { chosen: pair.policyChosen, rejected: pair.policyRejected });
 * ```
 */
export const rewardMetrics = <T>(ops: TensorOps<T>): (
  rewardChosen: T,
  rewardRejected: T,
  logps: { chosen: T; rejected: T },
) => Record<string, T> =>
(rewardChosen, rewardRejected, logps) => {
  const chosen = ops.stopGradient(rewardChosen);
  const rejected = ops.stopGradient(rewardRejected);
  return {
    "rewards/chosen": chosen,
    "rewards/rejected": rejected,
    "rewards/margins": ops.sub(chosen, rejected),
    "rewards/accuracies": ops.greater(chosen, rejected),
    "logps/chosen": ops.stopGradient(logps.chosen),
    "logps/rejected": ops.stopGradient(logps.rejected),
  };
};

/**
 * −log σ(x) = softplus(−x), finite for any finite x.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * negLogSigmoid(ops)(ops.scalar(0)); // log 2
 * ```
 */
export const negLogSigmoid = <T>(ops: TensorOps<T>): (x: T) => T => (x) => ops.softplus(ops.neg(x));
