/**
 * Training π_t for E epochs on the pairs of one iteration with any registered loss, AdamW
 * (optim.ts), a warm-up schedule (schedule.ts), global-norm clipping and gradient accumulation,
 * one {@link optimizerStep} (step.ts) per update.
 *
 * Each micro-batch runs the policy once on the 2B rows prompt ++ chosen and prompt ++ rejected and
 * takes the stored reference log-probs lp_ref = α·lp_prev + (1 − α)·lp_base of each pair (computed
 * once by the reference phase: the reference cannot move while the policy trains). Per optimizer
 * step the metrics are averaged on the device and read back once, together with the gradient norm;
 * a NaN or infinite loss stops training with an error naming the iteration and the step.
 *
 * With `workers` > 1 each micro-batch is split between this thread and gradient worker threads
 * (pool.ts), which run the same `alphaSpinGradients` on their shards; the optimizer, the EMA and
 * the checkpoints stay here.
 *
 * Training runs in segments of one epoch (see params.ts): each starts from a snapshot and ends with
 * a checkpoint, so a killed run resumes at the last epoch boundary and repeats exactly the steps an
 * uninterrupted run takes. The data order of epoch e and the LoRA dropout of epoch e are derived from
 * (seed, t, e) alone.
 *
 * @example
 * ```ts
 * import { forkRng, rngFromSeed } from "../core/rng.ts";
 * import { lossRegistry } from "../losses/mod.ts";
 * import type { Transformer } from "../models/transformer.ts";
 * import type { FinetuneSpec, ParamSnapshot } from "./params.ts";
 * import type { TrainingPair } from "./step.ts";
 * declare const pairs: TrainingPair[];
 * declare const base: Transformer;
 * declare const spec: FinetuneSpec;
 * declare const init: ParamSnapshot; // π_{t−1}'s parameters
 * declare const training: TrainingSettings;
 * const result = await trainIteration({ iteration: 1, pairs, base, spec, init, beta: 0.1, lr: 5e-5,
 *   epochs: 2, loss: lossRegistry.get("sigmoid"), lossParams: {}, training, ema: null,
 *   rng: forkRng(rngFromSeed(42), "train-1"), checkpointDir: "runs/demo/iter-1/work/train" });
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { forkRng, nextUint32, type Rng, shuffleArray } from "../core/rng.ts";
import type { AnyLoss } from "../losses/types.ts";
import type { Transformer } from "../models/transformer.ts";
import { type MetricsRow, readTrainCheckpoint, type TrainCheckpoint, writeTrainCheckpoint } from "./checkpoint.ts";
import { AdamW, type AdamWState, GradientAccumulator } from "./optim.ts";
import { buildTrainable, type FinetuneSpec, type ParamSnapshot, snapshotOf, type Trainable } from "./params.ts";
import type { WorkerPool } from "./pool.ts";
import { type LrSchedule, learningRateAt, makeSchedule, type ScheduleKind } from "./schedule.ts";
import { type GradientSource, localGradients, optimizerStep, type StepSpec, type TrainingPair } from "./step.ts";

export type { TrainingPair } from "./step.ts";

/** A NaN or infinite loss (or gradient norm): training stopped at this step. */
export class NonFiniteLossError extends Error {
  override readonly name = "NonFiniteLossError";
  readonly iteration: number;
  readonly step: number;
  constructor(iteration: number, step: number, what: string, value: number) {
    super(
      `iteration ${iteration}, step ${step}: the ${what} is ${value}; training stopped (earlier iterates are kept). ` +
        "Lower the learning rate or beta, or check the data",
    );
    this.iteration = iteration;
    this.step = step;
  }
}

/** The inputs a self-play batch can give a loss (others must come from the user). */
export const selfPlayLossInputs: readonly string[] = ["chosenTokens", "rejectedTokens", "sftNll"];
/** The inputs the SPPO loop adds: each response's estimated win rate against π_{t−1} (selfplay/win-rates.ts). */
export const sppoLossInputs: readonly string[] = ["winRateChosen", "winRateRejected"];

/** Optimizer, schedule and batching of one iteration's training (the run config's `training`). */
export interface TrainingSettings {
  readonly batchSize: number;
  readonly gradientAccumulation: number;
  readonly warmupRatio: number;
  readonly schedule: ScheduleKind;
  readonly weightDecay: number;
  readonly maxGradNorm: number;
  readonly adamBeta1: number;
  readonly adamBeta2: number;
  readonly adamEps: number;
}

/** Options of {@link trainIteration}. */
export interface TrainIterationOptions {
  readonly iteration: number;
  readonly pairs: readonly TrainingPair[];
  /** The frozen base model (LoRA adapters go on it; full fine-tuning copies it). */
  readonly base: Transformer;
  readonly spec: FinetuneSpec;
  /** π_t's starting parameters (π_{t−1}'s, or a fresh adapter at t = 1). */
  readonly init: ParamSnapshot;
  readonly beta: number;
  readonly lr: number;
  readonly epochs: number;
  readonly loss: AnyLoss;
  /** The loss's own parameters (β is added from `beta` when the loss has one). */
  readonly lossParams: Readonly<Record<string, unknown>>;
  readonly training: TrainingSettings;
  /** Keep an EMA of the parameters with this decay, starting from `init` (null: none). */
  readonly ema: { readonly decay: number; readonly init: ParamSnapshot } | null;
  /** This iteration's training stream; epoch e uses forkRng(rng, "epoch-e"). */
  readonly rng: Rng;
  /** Where the per-epoch checkpoints go (and are resumed from). */
  readonly checkpointDir: string;
  /** Called after every optimizer step with its metrics (a throw stops training). */
  readonly onStep?: (row: MetricsRow, total: number) => void | Promise<void>;
  /** Called when training resumes from a checkpoint. */
  readonly onResume?: (epochsDone: number, steps: number) => void | Promise<void>;
  readonly signal?: AbortSignal;
  /**
   * Threads computing each micro-batch's gradient (default 1: this thread alone). With n > 1 the
   * micro-batch is split into n contiguous shards: this thread computes the first and n − 1 worker
   * threads (pool.ts) the others, on their own wasm or cpu backend; the optimizer, the EMA and
   * the checkpoints stay here. Results differ from one thread's by float32 summation order only.
   */
  readonly workers?: number;
  /** Module URLs each worker imports first (e.g. one that registers a custom loss). */
  readonly workerImports?: readonly string[];
}

/** The trained parameters, the EMA (or null), and every step's metrics. */
export interface TrainIterationResult {
  readonly weights: ParamSnapshot;
  readonly ema: ParamSnapshot | null;
  readonly metrics: readonly MetricsRow[];
}

const alignTo = (names: readonly string[], snapshot: ParamSnapshot, values: readonly Float32Array[]): Float32Array[] => {
  const index = new Map(snapshot.names.map((n, i) => [n, i]));
  return names.map((n) => {
    const k = index.get(n);
    if (k === undefined) throw new RangeError(`checkpoint: no state for ${n}`);
    return values[k];
  });
};

/** A 31-bit integer seed from a stream (for tfjs's seeded dropout). */
const seedOf = (rng: Rng): number => nextUint32(rng)[0] >>> 1;

/** Where an iteration's training stands: the last segment's results, or the start. */
interface Progress {
  weights: ParamSnapshot;
  ema: ParamSnapshot | null;
  optimizer: AdamWState | null;
  metrics: MetricsRow[];
  epochsDone: number;
}

/** The start, or the checkpoint in `o.checkpointDir` when there is one. */
const startingPoint = async (options: TrainIterationOptions): Promise<Progress> => {
  const saved: TrainCheckpoint | null = await readTrainCheckpoint(options.checkpointDir);
  if (saved === null || saved.epochsDone > options.epochs) {
    return { weights: options.init, ema: options.ema?.init ?? null, optimizer: null, metrics: [], epochsDone: 0 };
  }
  await options.onResume?.(saved.epochsDone, saved.optimizer.step);
  return { weights: saved.weights, ema: saved.ema, optimizer: saved.optimizer, metrics: [...saved.metrics], epochsDone: saved.epochsDone };
};

/** What every epoch of an iteration shares. */
interface Plan {
  readonly options: TrainIterationOptions;
  readonly step: StepSpec;
  readonly schedule: LrSchedule;
  readonly microPerEpoch: number;
  readonly totalSteps: number;
  readonly pool: WorkerPool | null;
}

/**
 * Train one iteration; see the module doc. Resumes from the checkpoint in `checkpointDir` when
 * there is one.
 *
 * @example
 * ```ts
 * declare const options: TrainIterationOptions;
 * const { weights, metrics } = await trainIteration(options);
 * ```
 */
export const trainIteration = async (options: TrainIterationOptions): Promise<TrainIterationResult> => {
  const { training } = options;
  const n = options.pairs.length;
  if (n === 0) throw new RangeError(`iteration ${options.iteration}: no training pairs`);
  const microPerEpoch = Math.ceil(n / training.batchSize);
  const totalSteps = Math.ceil(microPerEpoch / training.gradientAccumulation) * options.epochs;
  const schedule = makeSchedule({ kind: training.schedule, peakLr: options.lr, totalSteps, warmupRatio: training.warmupRatio });
  const lossParams: Record<string, unknown> = { ...options.lossParams, ...("beta" in options.loss.defaults ? { beta: options.beta } : {}) };
  const step: StepSpec = { loss: options.loss, lossParams };
  let progress = await startingPoint(options);
  const pool = (options.workers ?? 1) > 1 && progress.epochsDone < options.epochs
    ? await (await import("./pool.ts")).createWorkerPool({ threads: options.workers!, base: options.base, spec: options.spec, workerImports: options.workerImports ?? [] })
    : null;
  const plan: Plan = { options, step, schedule, microPerEpoch, totalSteps, pool };
  try {
    for (let epoch = progress.epochsDone; epoch < options.epochs; epoch++) {
      progress = await trainEpoch(plan, progress, epoch);
      const { weights, optimizer, ema, metrics } = progress;
      await writeTrainCheckpoint(options.checkpointDir, { epochsDone: epoch + 1, weights, optimizer: optimizer!, ema, metrics });
    }
  } finally {
    await pool?.close();
  }
  return { weights: progress.weights, ema: progress.ema, metrics: progress.metrics };
};

/** The trainable policy, its optimizer (state restored) and the EMA variables of one epoch. */
const epochState = (plan: Plan, progress: Progress, dropoutSeed: number) => {
  const { options } = plan, { training } = options;
  const trainable = buildTrainable(options.base, options.spec, progress.weights, dropoutSeed);
  const optimizer = new AdamW(trainable.variables, {
    beta1: training.adamBeta1,
    beta2: training.adamBeta2,
    eps: training.adamEps,
    weightDecay: training.weightDecay,
    maxGradNorm: training.maxGradNorm,
    decay: trainable.decay,
  });
  const accumulator = new GradientAccumulator(trainable.variables);
  const ema = progress.ema;
  const emaVars = ema === null ? [] : alignTo(trainable.names, ema, ema.values).map((v, i) =>
    tf.tidy(() => tf.variable(tf.tensor(v, trainable.variables[i].shape, "float32"), false))
  );
  const dispose = (): void => {
    optimizer.dispose();
    accumulator.dispose();
    tf.dispose(emaVars);
    trainable.dispose();
  };
  try {
    const st = progress.optimizer;
    if (st !== null) {
      optimizer.loadState({ step: st.step, m: alignTo(trainable.names, progress.weights, st.m), v: alignTo(trainable.names, progress.weights, st.v) });
    }
  } catch (e) {
    dispose();
    throw e;
  }
  return { trainable, optimizer, accumulator, emaVars, dispose };
};

/** One epoch: a segment from `progress`'s snapshot to the next; see the module doc. */
const trainEpoch = async (plan: Plan, progress: Progress, epoch: number): Promise<Progress> => {
  const { options, pool } = plan;
  const epochRng = forkRng(options.rng, `epoch-${epoch}`);
  const state = epochState(plan, progress, seedOf(forkRng(epochRng, "dropout")));
  const { trainable, optimizer, emaVars } = state;
  const metrics = [...progress.metrics];
  try {
    if (pool !== null) await pool.startSegment(trainable, seedOf(forkRng(epochRng, "dropout")), plan.step);
    const source: GradientSource = pool === null
      ? localGradients(plan.step, trainable)
      : { gradients: (pairs) => pool.gradients(pairs, trainable), weightsChanged: () => pool.weightsChanged() };
    const [order] = shuffleArray(forkRng(epochRng, "order"), Array.from({ length: options.pairs.length }, (_, i) => i));
    for (const group of stepGroups(plan, order)) {
      const row = await trainStep(plan, source, state, group, epoch);
      if (options.ema !== null) updateEma(emaVars, trainable, options.ema.decay);
      metrics.push(row);
      await options.onStep?.(row, plan.totalSteps);
    }
    return {
      weights: await trainable.snapshot(),
      optimizer: await optimizer.exportState(),
      ema: progress.ema === null ? null : await snapshotOf(trainable.names, emaVars),
      metrics,
      epochsDone: epoch + 1,
    };
  } finally {
    state.dispose();
  }
};

/** The epoch's optimizer steps: each a list of micro-batches (of pairs) and where the last one ends. */
const stepGroups = (plan: Plan, order: readonly number[]): { batches: TrainingPair[][]; microDone: number }[] => {
  const { batchSize, gradientAccumulation } = plan.options.training;
  const groups: { batches: TrainingPair[][]; microDone: number }[] = [];
  for (let start = 0; start < plan.microPerEpoch; start += gradientAccumulation) {
    const end = Math.min(plan.microPerEpoch, start + gradientAccumulation);
    const batches = [];
    for (let micro = start; micro < end; micro++) {
      batches.push(order.slice(micro * batchSize, (micro + 1) * batchSize).map((i) => plan.options.pairs[i]));
    }
    groups.push({ batches, microDone: end });
  }
  return groups;
};

/** One optimizer step and its metrics row; a non-finite loss or gradient norm stops training. */
const trainStep = async (
  plan: Plan,
  source: GradientSource,
  state: { readonly optimizer: AdamW; readonly accumulator: GradientAccumulator },
  group: { readonly batches: readonly TrainingPair[][]; readonly microDone: number },
  epoch: number,
): Promise<MetricsRow> => {
  const { options } = plan;
  const step = state.optimizer.stepCount; // 0-based index of this update
  const lr = learningRateAt(plan.schedule, step);
  const out = await optimizerStep(source, group.batches, state.accumulator, state.optimizer, lr, options.signal);
  const row: Record<string, number> = {
    iteration: options.iteration,
    step: step + 1,
    epoch: epoch + group.microDone / plan.microPerEpoch,
    loss: out.loss,
    grad_norm: out.gradNorm,
    learning_rate: lr,
    ...out.metrics,
  };
  if (!Number.isFinite(row.loss)) throw new NonFiniteLossError(options.iteration, step + 1, "loss", row.loss);
  if (!Number.isFinite(row.grad_norm)) throw new NonFiniteLossError(options.iteration, step + 1, "gradient norm", row.grad_norm);
  return row;
};

/** ema ← decay·ema + (1 − decay)·θ, after every optimizer step. */
const updateEma = (emaVars: readonly tf.Variable[], trainable: Trainable, decay: number): void => {
  tf.tidy(() => emaVars.forEach((e, i) => e.assign(tf.add(tf.mul(e, decay), tf.mul(trainable.variables[i], 1 - decay)))));
};
