/**
 * The shape every preference loss shares: its inputs ({@link PreferencePair}), its output
 * ({@link LossOutput}) and the loss value itself ({@link Loss}), which carries its name, an io-ts
 * codec for its parameters with defaults, and the flags the property kit and `alphaSpin` read.
 *
 * Notation used across losses/: for a response y, the log-ratio is a(y) = lp_θ(y) − lp_ref(y)
 * (policy minus reference sequence log-prob); the margin is h = a(y_w) − a(y_l); β is the loss
 * temperature; "rewards" are the implicit rewards r(y) = β·a(y).
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * import { lossRegistry } from "./registry.ts";
 * const v = (xs: number[]) => ops.fromArray(xs, [xs.length]);
 * const pair = { policyChosen: v([-10]), policyRejected: v([-12]), refChosen: v([-11]), refRejected: v([-11]) };
 * const { loss, metrics } = lossRegistry.get("sigmoid").compute(ops)(pair, { beta: 0.1 });
 * // loss = −log σ(0.1·2), metrics["rewards/margins"] = 0.2
 * ```
 *
 * @module
 */
import type * as t from "io-ts";
import type { TensorOps } from "../core/tensor.ts";

/** Optional per-example inputs ([B] each) that some losses need; a loss lists them in `requires`. */
export interface PairExtras<T> {
  /** Token count of each chosen response (for per-token length normalization). */
  readonly chosenTokens?: T;
  /** Token count of each rejected response. */
  readonly rejectedTokens?: T;
  /** Negative log-likelihood of the SFT answer under the policy (e.g. for `slic`). */
  readonly sftNll?: T;
  /** Estimated probability that the chosen response beats the current policy (for `sppo`). */
  readonly winRateChosen?: T;
  /** Estimated probability that the rejected response beats the current policy (for `sppo`). */
  readonly winRateRejected?: T;
  /** Given reward of the chosen response (for `bt_reward`; default: the implicit reward). */
  readonly rewardChosen?: T;
  /** Given reward of the rejected response. */
  readonly rewardRejected?: T;
  /** Policy log-prob of a response sampled from the current opponent (for `spac`). */
  readonly policyGenerated?: T;
  /** Reference log-prob of that sampled response (for `spac`). */
  readonly refGenerated?: T;
  /** Inputs of user-defined losses, by name. */
  readonly extra?: Readonly<Record<string, T>>;
}

/** The name of an optional input: a {@link PairExtras} field, or a key of `extra`. */
// `string & Record<never, never>` keeps editor completion of the known names while accepting any string.
export type InputName = Exclude<keyof PairExtras<unknown>, "extra"> | (string & Record<never, never>);

/**
 * One batch of preference pairs: sequence log-probs of the chosen (winner, y_w) and rejected
 * (loser, y_l) responses under the policy being trained and under the reference, each [B].
 */
export interface PreferencePair<T> extends PairExtras<T> {
  /** lp_θ(y_w | x): the policy's sequence log-prob of the chosen response. */
  readonly policyChosen: T;
  /** lp_θ(y_l | x): the policy's sequence log-prob of the rejected response. */
  readonly policyRejected: T;
  /** lp_ref(y_w | x): the reference's sequence log-prob of the chosen response. */
  readonly refChosen: T;
  /** lp_ref(y_l | x): the reference's sequence log-prob of the rejected response. */
  readonly refRejected: T;
}

/**
 * A loss's result: the per-example loss [B] (average it for the batch loss) and TRL-named metrics,
 * each a [B] tensor cut from the gradient (average them for logging): `rewards/chosen`,
 * `rewards/rejected`, `rewards/margins`, `rewards/accuracies`, `logps/chosen`, `logps/rejected`,
 * plus loss-specific ones.
 */
export interface LossOutput<T> {
  /** The per-example loss, [B]. */
  readonly loss: T;
  /** TRL-named metrics, each [B], cut from the gradient. */
  readonly metrics: Readonly<Record<string, T>>;
}

/** The computation of a loss once its parameters are resolved and validated. */
export type LossKernel<P> = <T>(ops: TensorOps<T>) => (pair: PreferencePair<T>, params: P) => LossOutput<T>;

/** What a loss author writes; {@link Loss} adds parameter resolution and input checks around it. */
export interface LossSpec<P> {
  /** Registry key, e.g. `"sigmoid"` (TRL's `loss_type` where TRL has the loss). */
  readonly name: string;
  /** One line: what the loss is. */
  readonly description: string;
  /** Codec for the parameters; it must reject unknown keys (see `paramsCodec`). */
  readonly params: t.Type<P, P, unknown>;
  /** Default parameters (TRL's where TRL has the loss). */
  readonly defaults: P;
  /**
   * True when the loss depends on the reference only through the pairwise margin, i.e. adding the
   * same per-prompt constant to lp_ref(y_w) and lp_ref(y_l) leaves it unchanged. Only such losses
   * may use the unnormalized geometric reference of α-SPIN.
   */
  readonly marginOnly: boolean;
  /** Why `marginOnly` is what it is (one sentence, shown in errors and docs). */
  readonly marginOnlyReason: string;
  /**
   * True when the loss sees policy and reference only through the log-ratios a(y) = lp_θ(y) − lp_ref(y),
   * so adding one constant to both lp_θ(y) and lp_ref(y) of the same response changes nothing.
   */
  readonly logRatioOnly: boolean;
  /**
   * True when, at policy = reference, raising lp_θ(y_w) does not raise the loss and raising
   * lp_θ(y_l) does not lower it (with at least one strict): the loss prefers the chosen response.
   */
  readonly directional: boolean;
  /** Extra inputs the loss cannot run without. */
  readonly requires?: readonly InputName[];
  /** Extra inputs the loss uses when given. */
  readonly accepts?: readonly InputName[];
  /** Source paper (authors, year, arXiv id, equation). */
  readonly source: string;
  /** TRL's `loss_type` for this loss, when TRL has it. */
  readonly trlName?: string;
  /** The computation, on validated parameters. */
  readonly kernel: LossKernel<P>;
}

/** A registered loss: a {@link LossSpec} whose `compute` validates parameters and inputs. */
export interface Loss<P> extends LossSpec<P> {
  /** Parameters = defaults overridden by `params`; throws a TypeError naming a bad or unknown key. */
  readonly resolveParams: (params?: Partial<P>) => P;
  /**
   * `compute(ops)(pair, params?)` → `{ loss [B], metrics }`. Parameters not given take their
   * defaults; a missing required input or a mis-shaped tensor throws.
   */
  readonly compute: <T>(ops: TensorOps<T>) => (pair: PreferencePair<T>, params?: Partial<P>) => LossOutput<T>;
}

/** A loss of any parameter type (what the registry holds). */
// deno-lint-ignore no-explicit-any
export type AnyLoss = Loss<any>;

/**
 * Several responses to each prompt, for listwise losses: column 0 is the data (SFT) answer, columns
 * 1…K are generated answers. Each tensor is [B, 1 + K].
 */
export interface ResponseList<T> {
  /** lp_θ of every response, [B, 1 + K]. */
  readonly policy: T;
  /** lp_ref of every response, [B, 1 + K]. */
  readonly ref: T;
  /**
   * 1 where a generated answer is present, 0 for padding (prompts with fewer than K answers),
   * [B, 1 + K]; column 0 is always counted, and padded entries of `policy` / `ref` are ignored
   * whatever they hold. Absent: every column is present.
   */
  readonly mask?: T;
}

/**
 * A listwise loss: like {@link Loss}, but over a {@link ResponseList}. The flags mean what they mean
 * for a pairwise loss, with "per prompt" covering every response of the list; `ordersLosers` says
 * whether the order of columns 1…K matters under the given parameters.
 */
export interface ListLoss<P> {
  readonly name: string;
  readonly description: string;
  /** Adding one constant to lp_ref of every response of a prompt changes nothing. */
  readonly marginOnly: boolean;
  /** Adding one constant to lp_θ(y) and lp_ref(y) of the same response changes nothing. */
  readonly logRatioOnly: boolean;
  /**
   * At policy = reference, raising lp_θ of the data answer lowers the loss and raising a generated
   * answer's does not lower it (with ordered losers: the last generated answer's).
   */
  readonly directional: boolean;
  /** Whether permuting columns 1…K can change the loss with these parameters. */
  readonly ordersLosers: (params: P) => boolean;
  /** Parameters = defaults overridden by `params`; throws a TypeError naming a bad or unknown key. */
  readonly resolveParams: (params?: Partial<P>) => P;
  /** `compute(ops)(list, params?)` → `{ loss [B], metrics }`; mis-shaped inputs throw. */
  readonly compute: <T>(ops: TensorOps<T>) => (list: ResponseList<T>, params?: Partial<P>) => LossOutput<T>;
}
