/**
 * Training π_t for E epochs on the pairs of one iteration through `alphaSpin` (losses/alpha-spin.ts)
 * with any registered loss, AdamW (optim.ts), a warm-up schedule (schedule.ts), global-norm
 * clipping and gradient accumulation.
 *
 * Each micro-batch runs the policy once on the 2B rows prompt ++ chosen and prompt ++ rejected,
 * takes the pre-computed reference log-probs (never recomputed: the reference cannot move while the
 * policy trains), and asks `alphaSpin` for the loss with the geometric reference
 * α·lp_prev + (1 − α)·lp_base (lp_prev is π_{t−1}'s, the EMA's, or the window mixture's, as the
 * pre-compute made it). Per optimizer step the metrics are averaged on the device and read
 * back once, together with the gradient norm; a NaN or infinite loss stops training with an error
 * naming the iteration and the step.
 *
 * With `workers` > 1 each micro-batch is split between this thread and gradient worker threads
 * (grad-pool.ts), which run the same `alphaSpinGradients` on their shards; the optimizer, the EMA and
 * the checkpoints stay here.
 *
 * Training runs in segments of one epoch (see params.ts): each starts from a snapshot and ends with
 * a checkpoint, so a killed run resumes at the last epoch boundary and repeats exactly the steps an
 * uninterrupted run takes. The data order of epoch e and the LoRA dropout of epoch e are derived from
 * (seed, t, e) alone.
 *
 * @example
 * ```ts
 * const result = await trainIteration({ iteration: 1, pairs, base, spec, init, alpha: 1, beta: 0.1, lr: 5e-5,
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
import { type MetricsRow, readTrainCheckpoint, writeTrainCheckpoint } from "./checkpoint.ts";
import { AdamW, type AdamWState, GradientAccumulator } from "./optim.ts";
import { buildTrainable, type FinetuneSpec, type ParamSnapshot, snapshotOf } from "./params.ts";
import { learningRateAt, makeSchedule } from "./schedule.ts";
import type { TrainingConfig } from "./config.ts";
import { alphaSpinGradients, type StepSpec, type TrainingPair } from "./step.ts";

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

/** Options of {@link trainIteration}. */
export interface TrainIterationOptions {
  readonly iteration: number;
  readonly pairs: readonly TrainingPair[];
  /** The frozen base model (LoRA adapters go on it; full fine-tuning copies it). */
  readonly base: Transformer;
  readonly spec: FinetuneSpec;
  /** π_t's starting parameters (π_{t−1}'s, or a fresh adapter at t = 1). */
  readonly init: ParamSnapshot;
  readonly alpha: number;
  readonly beta: number;
  readonly lr: number;
  readonly epochs: number;
  readonly loss: AnyLoss;
  /** The loss's own parameters (β is added from `beta` when the loss has one). */
  readonly lossParams: Readonly<Record<string, unknown>>;
  /** Passed to `alphaSpin` (allows a non-margin-only loss with 0 < α < 1). */
  readonly allowNonInvariant?: "per-prompt-normalizer-ignored";
  readonly training: TrainingConfig;
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
   * threads (grad-pool.ts) the others, on their own wasm, blas or cpu backend; the optimizer, the EMA and
   * the checkpoints stay here. Results differ from one thread's by float32 summation order only.
   */
  readonly workers?: number;
  /** Module URLs each worker imports first (e.g. one that registers a custom loss). */
  readonly workerImports?: readonly string[];
}

/** The trained parameters, the EMA (or null), and every step's metrics. */
export interface TrainIterationResult {
  readonly params: ParamSnapshot;
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

const throwIfAborted = (signal: AbortSignal | undefined): void => {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error("aborted");
};

/** A 31-bit integer seed from a stream (for tfjs's seeded dropout). */
const seedOf = (rng: Rng): number => nextUint32(rng)[0] >>> 1;

/**
 * Train one iteration; see the module doc. Resumes from the checkpoint in `checkpointDir` when
 * there is one.
 *
 * @example
 * ```ts
 * const { params, metrics } = await trainIteration(options);
 * ```
 */
export const trainIteration = async (o: TrainIterationOptions): Promise<TrainIterationResult> => {
  const { training } = o;
  const n = o.pairs.length;
  if (n === 0) throw new RangeError(`iteration ${o.iteration}: no training pairs`);
  const microPerEpoch = Math.ceil(n / training.batchSize);
  const stepsPerEpoch = Math.ceil(microPerEpoch / training.gradientAccumulation);
  const totalSteps = stepsPerEpoch * o.epochs;
  const schedule = makeSchedule({ kind: training.schedule, peakLr: o.lr, totalSteps, warmupRatio: training.warmupRatio });
  const lossParams: Record<string, unknown> = { ...o.lossParams, ...("beta" in o.loss.defaults ? { beta: o.beta } : {}) };
  const stepSpec: StepSpec = {
    loss: o.loss,
    lossParams,
    alpha: o.alpha,
    ...(o.allowNonInvariant === undefined ? {} : { allowNonInvariant: o.allowNonInvariant }),
  };

  let params = o.init, ema = o.ema?.init ?? null;
  let optimizerState: AdamWState | null = null;
  let metrics: MetricsRow[] = [];
  let startEpoch = 0;
  const saved = await readTrainCheckpoint(o.checkpointDir);
  if (saved !== null && saved.epochsDone <= o.epochs) {
    params = saved.params;
    ema = saved.ema;
    optimizerState = saved.optimizer;
    metrics = [...saved.metrics];
    startEpoch = saved.epochsDone;
    await o.onResume?.(startEpoch, saved.optimizer.step);
  }

  const pool = (o.workers ?? 1) > 1 && startEpoch < o.epochs
    ? await (await import("./grad-pool.ts")).createGradientPool({
      threads: o.workers!,
      base: o.base,
      spec: o.spec,
      step: stepSpec,
      workerImports: o.workerImports ?? [],
    })
    : null;
  try {
    for (let epoch = startEpoch; epoch < o.epochs; epoch++) {
      const epochRng = forkRng(o.rng, `epoch-${epoch}`);
      const trainable = buildTrainable(o.base, o.spec, params, seedOf(forkRng(epochRng, "dropout")));
      const optimizer = new AdamW(trainable.variables, {
        beta1: training.adamBeta1,
        beta2: training.adamBeta2,
        eps: training.adamEps,
        weightDecay: training.weightDecay,
        maxGradNorm: training.maxGradNorm,
        decay: trainable.decay,
      });
      const accumulator = new GradientAccumulator(trainable.variables);
      if (pool !== null) await pool.startSegment(trainable, seedOf(forkRng(epochRng, "dropout")));
      const emaVars = ema === null ? [] : alignTo(trainable.names, ema, ema.values).map((v, i) =>
        tf.tidy(() => tf.variable(tf.tensor(v, trainable.variables[i].shape, "float32"), false))
      );
      try {
        if (optimizerState !== null) {
          const st = optimizerState;
          optimizer.loadState({ step: st.step, m: alignTo(trainable.names, params, st.m), v: alignTo(trainable.names, params, st.v) });
        }
        const [order] = shuffleArray(forkRng(epochRng, "order"), Array.from({ length: n }, (_, i) => i));
        let metricNames: string[] | null = null;
        let packSum: tf.Tensor | null = null;
        for (let micro = 0; micro < microPerEpoch; micro++) {
          throwIfAborted(o.signal);
          const batch = order.slice(micro * training.batchSize, (micro + 1) * training.batchSize).map((i) => o.pairs[i]);
          const part = pool === null
            ? alphaSpinGradients(stepSpec, trainable.policy, trainable.variables, batch)
            : await pool.gradients(batch, trainable);
          accumulator.add(part.grads);
          tf.dispose(part.grads);
          const pack = part.pack;
          metricNames ??= [...part.names];
          const previous: tf.Tensor | null = packSum;
          packSum = previous === null ? pack : tf.tidy(() => tf.add(previous, pack));
          if (previous !== null) tf.dispose([previous, pack]);
          const endOfGroup = (micro + 1) % training.gradientAccumulation === 0 || micro === microPerEpoch - 1;
          if (!endOfGroup) continue;
          const count = accumulator.count;
          const step = optimizer.stepCount; // 0-based index of this update
          const lr = learningRateAt(schedule, step);
          const grads = accumulator.take();
          const norm = optimizer.step(grads, lr);
          tf.dispose(grads);
          pool?.weightsChanged();
          if (o.ema !== null) {
            const d = o.ema.decay;
            tf.tidy(() => emaVars.forEach((e, i) => e.assign(tf.add(tf.mul(e, d), tf.mul(trainable.variables[i], 1 - d)))));
          }
          const summed: tf.Tensor = packSum!;
          const out = tf.tidy(() => tf.concat([tf.div(summed, count), tf.reshape(norm, [1])]));
          tf.dispose([summed, norm]);
          packSum = null;
          const values = await out.data();
          out.dispose();
          const names: string[] = metricNames ?? [];
          const row: Record<string, number> = {
            iteration: o.iteration,
            step: step + 1,
            epoch: epoch + (micro + 1) / microPerEpoch,
            loss: values[0],
            grad_norm: values[values.length - 1],
            learning_rate: lr,
          };
          names.forEach((name, k) => (row[name] = values[k + 1]));
          if (!Number.isFinite(row.loss)) throw new NonFiniteLossError(o.iteration, step + 1, "loss", row.loss);
          if (!Number.isFinite(row.grad_norm)) throw new NonFiniteLossError(o.iteration, step + 1, "gradient norm", row.grad_norm);
          metrics.push(row);
          await o.onStep?.(row, totalSteps);
        }
        params = await trainable.snapshot();
        optimizerState = await optimizer.exportState();
        ema = ema === null ? null : await snapshotOf(trainable.names, emaVars);
      } finally {
        optimizer.dispose();
        accumulator.dispose();
        tf.dispose(emaVars);
        trainable.dispose();
      }
      await writeTrainCheckpoint(o.checkpointDir, { epochsDone: epoch + 1, params, optimizer: optimizerState, ema, metrics });
    }
  } finally {
    await pool?.close();
  }
  return { params, ema, metrics };
};
