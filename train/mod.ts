/**
 * Training: the one gradient step of α-SPIN (`alphaSpinGradients`, `optimizerStep`), AdamW with
 * clipping and accumulation, the learning-rate schedule, one iteration's training in resumable
 * epoch segments (`trainIteration`), the trainable parameters as snapshots, and the worker pool
 * that spreads gradients and loser generation over the cores. The self-play loop (selfplay/), the
 * benchmark (bench/) and `alpha-spin train` all train through this layer.
 *
 * @example
 * ```ts
 * import { AdamW, GradientAccumulator, localGradients, optimizerStep, type StepSpec, type TrainingPair } from "./mod.ts";
 * import type * as tf from "@tensorflow/tfjs";
 * import type { TransformerPolicy } from "../models/policy.ts";
 * declare const trainable: { policy: TransformerPolicy; variables: tf.Variable[] };
 * declare const step: StepSpec;
 * declare const pairs: TrainingPair[];
 * const optimizer = new AdamW(trainable.variables, { weightDecay: 0, maxGradNorm: 1 });
 * const accumulator = new GradientAccumulator(trainable.variables);
 * const { loss, gradNorm } = await optimizerStep(localGradients(step, trainable), [pairs], accumulator, optimizer, 5e-5);
 * ```
 *
 * @module
 */
export {
  NonFiniteLossError,
  selfPlayLossInputs,
  trainIteration,
  type TrainIterationOptions,
  type TrainIterationResult,
  type TrainingSettings,
} from "./train.ts";
export {
  alphaSpinGradients,
  type GradientSource,
  localGradients,
  type MicroBatchGradients,
  optimizerStep,
  type OptimizerStepResult,
  type StepSpec,
  type TrainingPair,
} from "./step.ts";
export { createWorkerPool, shardRanges, type WorkerPool, type WorkerPoolOptions } from "./pool.ts";
export type { WorkerGenerated, WorkerGenerateRequest } from "./protocol.ts";
export { AdamW, type AdamWOptions, type AdamWState, globalNorm, GradientAccumulator } from "./optim.ts";
export { learningRateAt, type LrSchedule, makeSchedule, type ScheduleKind, type ScheduleSpec } from "./schedule.ts";
export {
  assignSnapshot,
  buildTrainable,
  type FinetuneSpec,
  freshLoraSnapshot,
  loadIterateSnapshot,
  modelSnapshot,
  type ParamSnapshot,
  policyFromSnapshot,
  saveIterate,
  snapshotOf,
  type Trainable,
} from "./params.ts";
export { type MetricsRow, readTrainCheckpoint, type TrainCheckpoint, writeTrainCheckpoint } from "./checkpoint.ts";
