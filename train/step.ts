/**
 * The one training step of the library, in two parts:
 *
 * - {@link alphaSpinGradients}, the α-SPIN gradient of one micro-batch: the policy's log-probs of the
 *   2B rows prompt ++ chosen and prompt ++ rejected in one forward, the loss against the stored
 *   reference lp_ref = α·lp_prev + (1 − α)·lp_base (computed once, in the reference phase, by core/
 *   mixture's `geometricReference`: α and the check of the loss against it are not the step's
 *   business), and the gradient of the batch-mean loss with respect to the trained variables. The training thread and
 *   the pool's workers (worker.ts) both run exactly this function, so a shard computed on another
 *   core is the same computation as one computed here.
 * - {@link optimizerStep}, one AdamW update from a group of micro-batches (gradient accumulation),
 *   with the metrics read back once. Training (train.ts) and the benchmark (bench/measure.ts) both
 *   run it, so the bench times the code that trains.
 *
 * @example
 * ```ts
 * import type * as tf from "@tensorflow/tfjs";
 * import type { TransformerPolicy } from "../models/policy.ts";
 * declare const trainable: { policy: TransformerPolicy; variables: tf.Variable[] };
 * import type { AdamW, GradientAccumulator } from "./optim.ts";
 * declare const accumulator: GradientAccumulator;
 * declare const optimizer: AdamW;
 * declare const stepSpec: StepSpec;
 * declare const pairs: TrainingPair[];
 * const source = localGradients(stepSpec, trainable);
 * const { loss, gradNorm, metrics } = await optimizerStep(source, [pairs], accumulator, optimizer, 1e-5);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { tfjsOps } from "../backends/tfjs.ts";
import type { AnyLoss, LossOutput } from "../losses/types.ts";
import { isListBatch, listLossOutput } from "./list-step.ts";
import type { TransformerPolicy } from "../models/policy.ts";
import type { AdamW, GradientAccumulator } from "./optim.ts";

/** One training pair with its reference log-probs (the reference phase's stored lp_ref). */
export interface TrainingPair {
  readonly promptIds: readonly number[];
  readonly chosenIds: readonly number[];
  readonly rejectedIds: readonly number[];
  /** lp_ref(y_w) = α·lp_prev(y_w) + (1 − α)·lp_base(y_w). */
  readonly lpRefChosen: number;
  /** lp_ref(y_l). */
  readonly lpRefRejected: number;
  /** SPPO: P̂(y_w ≻ π_{t−1}), the chosen response's estimated win rate (losses that ask for it). */
  readonly winRateChosen?: number;
  /** SPPO: P̂(y_l ≻ π_{t−1}). */
  readonly winRateRejected?: number;
  /**
   * Further losers of the same prompt with their lp_ref (list-step.ts): the pair is then the list
   * [y_w, y_l, …moreRejected], trained with the list form of the loss.
   */
  readonly moreRejected?: readonly { readonly ids: readonly number[]; readonly lpRef: number }[];
}

/** What the gradient of a micro-batch depends on besides the pairs and the policy. */
export interface StepSpec {
  readonly loss: AnyLoss;
  /** The loss's parameters, β included. */
  readonly lossParams: Readonly<Record<string, unknown>>;
}

/** The gradients (aligned with the variables), the metrics pack and its names; the caller owns the tensors. */
export interface MicroBatchGradients {
  readonly grads: tf.Tensor[];
  /** [1 + names.length]: the batch-mean loss, then the batch mean of each metric in `names` order. */
  readonly pack: tf.Tensor1D;
  /** The metric names, sorted. */
  readonly names: readonly string[];
}

/** Extra inputs `loss` asks for that a self-play batch can give. */
const wantedInputs = (loss: AnyLoss): ReadonlySet<string> => new Set([...(loss.requires ?? []), ...(loss.accepts ?? [])]);

/** The pairwise loss of a batch inside a gradient tape: the 2B rows prompt ++ chosen and prompt ++ rejected in one forward. */
const pairLossOutput = (
  spec: StepSpec,
  policy: TransformerPolicy,
  batch: readonly TrainingPair[],
  wants: ReadonlySet<string>,
): LossOutput<tf.Tensor> => {
  const b = batch.length;
  const prompts = batch.map((p) => p.promptIds);
  const scores = policy.sequenceLogProbsTensor([...prompts, ...prompts], [
    ...batch.map((p) => p.chosenIds),
    ...batch.map((p) => p.rejectedIds),
  ], { training: true });
  const policyChosen = tf.slice(scores.logProbs, [0], [b]);
  const policyRejected = tf.slice(scores.logProbs, [b], [b]);
  const column = (f: (p: TrainingPair) => number): tf.Tensor1D => tf.tensor1d(batch.map(f));
  const chosenTokens = column((p) => p.chosenIds.length), rejectedTokens = column((p) => p.rejectedIds.length);
  const extras: Record<string, tf.Tensor> = {};
  if (wants.has("chosenTokens")) extras.chosenTokens = chosenTokens;
  if (wants.has("rejectedTokens")) extras.rejectedTokens = rejectedTokens;
  if (wants.has("sftNll")) extras.sftNll = tf.div(tf.neg(policyChosen), chosenTokens);
  for (const name of ["winRateChosen", "winRateRejected"] as const) {
    if (wants.has(name) && batch.every((p) => p[name] !== undefined)) extras[name] = column((p) => p[name]!);
  }
  return spec.loss.compute(tfjsOps)({
    ...extras,
    policyChosen,
    policyRejected,
    refChosen: tfjsOps.stopGradient(column((p) => p.lpRefChosen)),
    refRejected: tfjsOps.stopGradient(column((p) => p.lpRefRejected)),
  }, spec.lossParams as never);
};

/**
 * The gradient of the mean α-SPIN loss over `batch` (see the module doc).
 *
 * @example
 * ```ts
 * import type * as tf from "@tensorflow/tfjs";
 * import type { TransformerPolicy } from "../models/policy.ts";
 * declare const spec: StepSpec;
 * declare const policy: TransformerPolicy;
 * declare const variables: tf.Variable[]; // policy.trainableVariables()
 * declare const batch: TrainingPair[];
 * const { grads, pack, names } = alphaSpinGradients(spec, policy, variables, batch);
 * ```
 */
export const alphaSpinGradients = (
  spec: StepSpec,
  policy: TransformerPolicy,
  variables: readonly tf.Variable[],
  batch: readonly TrainingPair[],
): MicroBatchGradients => {
  const wants = wantedInputs(spec.loss);
  let pack: tf.Tensor1D | null = null;
  let names: string[] = [];
  const list = isListBatch(batch);
  const { value, grads } = tf.variableGrads(() => {
    const out = list ? listLossOutput(spec.loss, spec.lossParams, policy, batch) : pairLossOutput(spec, policy, batch, wants);
    const lossMean = tf.mean(out.loss) as tf.Scalar;
    names = Object.keys(out.metrics).sort();
    pack = tf.keep(tf.stack([lossMean, ...names.map((k) => tf.mean(out.metrics[k]))]) as tf.Tensor1D);
    return lossMean;
  }, [...variables]);
  value.dispose();
  return { grads: variables.map((v) => grads[v.name]), pack: pack!, names };
};

/** Where the gradients of a micro-batch come from: this thread alone, or the worker pool. */
export interface GradientSource {
  gradients(pairs: readonly TrainingPair[]): MicroBatchGradients | Promise<MicroBatchGradients>;
  /** Told after every optimizer update (the pool shares the new weights with its workers). */
  weightsChanged?(): void;
}

/**
 * Gradients computed on this thread with {@link alphaSpinGradients}.
 *
 * @example
 * ```ts
 * import type * as tf from "@tensorflow/tfjs";
 * import type { TransformerPolicy } from "../models/policy.ts";
 * declare const trainable: { policy: TransformerPolicy; variables: tf.Variable[] };
 * declare const spec: StepSpec;
 * const source = localGradients(spec, trainable);
 * ```
 */
export const localGradients = (
  spec: StepSpec,
  trainable: { readonly policy: TransformerPolicy; readonly variables: readonly tf.Variable[] },
): GradientSource => ({ gradients: (pairs) => alphaSpinGradients(spec, trainable.policy, trainable.variables, pairs) });

/** What one optimizer update reports (read back from the device once). */
export interface OptimizerStepResult {
  /** Mean loss over the micro-batches of the update. */
  readonly loss: number;
  /** Global gradient norm before clipping (Hugging Face's `grad_norm`). */
  readonly gradNorm: number;
  /** Means of the loss's metrics, by name in sorted order. */
  readonly metrics: Readonly<Record<string, number>>;
}

const throwIfAborted = (signal: AbortSignal | undefined): void => {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error("aborted");
};

/**
 * One optimizer update: the gradient of each micro-batch in `microBatches` (accumulated, so the
 * update follows their mean), one AdamW step at `lr`, and the mean loss, metrics and gradient norm
 * read back together.
 *
 * @example
 * ```ts
 * import type * as tf from "@tensorflow/tfjs";
 * import type { TransformerPolicy } from "../models/policy.ts";
 * declare const trainable: { policy: TransformerPolicy; variables: tf.Variable[] };
 * import type { AdamW, GradientAccumulator } from "./optim.ts";
 * declare const accumulator: GradientAccumulator;
 * declare const optimizer: AdamW;
 * declare const spec: StepSpec;
 * declare const batchA: TrainingPair[];
 * declare const batchB: TrainingPair[];
 * const out = await optimizerStep(localGradients(spec, trainable), [batchA, batchB], accumulator, optimizer, 5e-5);
 * ```
 */
export const optimizerStep = async (
  source: GradientSource,
  microBatches: readonly (readonly TrainingPair[])[],
  accumulator: GradientAccumulator,
  optimizer: AdamW,
  lr: number,
  signal?: AbortSignal,
): Promise<OptimizerStepResult> => {
  let names: readonly string[] = [];
  let packSum: tf.Tensor | null = null;
  for (const batch of microBatches) {
    throwIfAborted(signal);
    const part = await source.gradients(batch);
    accumulator.add(part.grads);
    tf.dispose(part.grads);
    if (packSum === null) names = part.names;
    const previous: tf.Tensor | null = packSum;
    packSum = previous === null ? part.pack : tf.tidy(() => tf.add(previous, part.pack));
    if (previous !== null) tf.dispose([previous, part.pack]);
  }
  if (packSum === null) throw new RangeError("optimizerStep: no micro-batches");
  const count = accumulator.count;
  const grads = accumulator.take();
  const norm = optimizer.step(grads, lr);
  tf.dispose(grads);
  source.weightsChanged?.();
  const summed: tf.Tensor = packSum;
  const out = tf.tidy(() => tf.concat([tf.div(summed, count), tf.reshape(norm, [1])]));
  tf.dispose([summed, norm]);
  const values = await out.data();
  out.dispose();
  const metrics: Record<string, number> = {};
  names.forEach((name, k) => (metrics[name] = values[k + 1]));
  return { loss: values[0], gradNorm: values[values.length - 1], metrics };
};
