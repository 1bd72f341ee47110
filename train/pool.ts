/**
 * Both cores for self-play: `threads − 1` worker threads (worker.ts), each with a copy of the base
 * model on its own wasm or cpu backend, next to the training thread. One pool, one protocol
 * (protocol.ts), two kinds of work:
 *
 * - **gradients**: each micro-batch is split into contiguous shards; the training thread computes
 *   the first with `alphaSpinGradients` and the workers the others, at the same time. The shard
 *   gradients come back through one SharedArrayBuffer and are combined, weighted by shard size, into
 *   the gradient of the whole micro-batch's mean loss; the metrics likewise. The optimizer, the EMA
 *   and the checkpoints stay on the training thread, which writes the updated weights to shared
 *   memory after each step; the workers reload them before their next shard.
 * - **generation**: a worker loads an iterate from the run's store and decodes whole batches of
 *   prompts while the training thread decodes others (selfplay/generation.ts schedules them).
 *
 * The pool is loaded with a dynamic import only when `workers > 1`, so the rest of the trainer
 * keeps no `node:worker_threads` dependency (browsers train on one thread).
 *
 * @example
 * ```ts
 * import type { Transformer } from "../models/transformer.ts";
 * import type { FinetuneSpec, Trainable } from "./params.ts";
 * import type { StepSpec, TrainingPair } from "./step.ts";
 * import { rngFromSeed } from "../core/rng.ts";
 * declare const base: Transformer;
 * declare const spec: FinetuneSpec;
 * declare const trainable: Trainable;
 * declare const step: StepSpec;
 * declare const pairs: TrainingPair[];
 * declare const prompts: number[][];
 * const seed = 7;
 * const rng = rngFromSeed(seed);
 * const pool = await createWorkerPool({ threads: 2, base, spec, workerImports: [] });
 * await pool.startSegment(trainable, seed, step);
 * const { grads, pack, names } = await pool.gradients(pairs, trainable);
 * pool.weightsChanged(); // after the optimizer step
 * await pool.load(1, "runs/demo/iter-1/adapter");
 * const out = await pool.generate(1, prompts, { maxNewTokens: 64, rng });
 * await pool.close();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Transformer } from "../models/transformer.ts";
import { plainWeights, workerBackend, WorkerChannel } from "./channel.ts";
import type { FinetuneSpec, Trainable } from "./params.ts";
import type { FromWorker, ToWorker, WorkerGenerated, WorkerGenerateRequest } from "./protocol.ts";
import { siblingModule, startWorker } from "./spawn.ts";
import { alphaSpinGradients, type MicroBatchGradients, type StepSpec, type TrainingPair } from "./step.ts";

export type { WorkerGenerated, WorkerGenerateRequest } from "./protocol.ts";

/** Options of {@link createWorkerPool}. */
export interface WorkerPoolOptions {
  /** Threads in all, the training thread included (≥ 2). */
  readonly threads: number;
  readonly base: Transformer;
  readonly spec: FinetuneSpec;
  /** Module URLs each worker imports first (custom losses). */
  readonly workerImports?: readonly string[];
}

/** A running pool; workers are numbered 1 … threads − 1 (0 is the training thread). */
export interface WorkerPool {
  readonly threads: number;
  /** Share `trainable`'s current values and have every worker build its copy (LoRA dropout seeded from `seed`). */
  startSegment(trainable: Trainable, seed: number, step: StepSpec): Promise<void>;
  /** The gradient and metrics pack of `pairs`' mean loss, computed on every thread at once. */
  gradients(pairs: readonly TrainingPair[], trainable: Trainable): Promise<MicroBatchGradients>;
  /** The trained weights changed (an optimizer step): share them before the next shard. */
  weightsChanged(): void;
  /** Make worker `w` decode with the iterate stored in `dir` (null: π_base). */
  load(worker: number, dir: string | null): Promise<void>;
  /** Decode `prompts` on worker `w` with its loaded iterate. */
  generate(worker: number, prompts: readonly (readonly number[])[], options: WorkerGenerateRequest): Promise<WorkerGenerated>;
  /** Stop the workers; resolves with the tensors each left (0 when clean, −1 when it did not answer). */
  close(): Promise<readonly number[]>;
}

type Channel = WorkerChannel<ToWorker, FromWorker>;
type GradientsReply = Extract<FromWorker, { type: "gradients" }>;

/**
 * Contiguous shards of `n` items over `workers` workers, sizes differing by at most one (the first
 * ones larger): `[start, end)` ranges, empty for workers beyond `n`.
 *
 * @example
 * ```ts
 * shardRanges(5, 2); // [[0, 3], [3, 5]]
 * ```
 */
export const shardRanges = (n: number, workers: number): [number, number][] => {
  const base = Math.floor(n / workers), extra = n % workers;
  const out: [number, number][] = [];
  let start = 0;
  for (let w = 0; w < workers; w++) {
    const size = base + (w < extra ? 1 : 0);
    out.push([start, start + size]);
    start += size;
  }
  return out;
};

/** Copy the trained variables' values into the shared weights buffer. */
const share = (variables: readonly tf.Variable[], into: Float32Array): void => {
  let offset = 0;
  for (const v of variables) {
    into.set(v.dataSync() as Float32Array, offset);
    offset += v.size;
  }
};

/** Start the workers and send each the base model; stops them all when one cannot start. */
const startChannels = async (options: WorkerPoolOptions): Promise<Channel[]> => {
  const backend = workerBackend();
  const base = plainWeights(options.base);
  const url = siblingModule(import.meta.url, "worker");
  const channels = Array.from({ length: options.threads - 1 }, (_, i) => new WorkerChannel<ToWorker, FromWorker>(startWorker(url), i + 1, "worker"));
  try {
    await Promise.all(channels.map((c) =>
      c.request({
        type: "init",
        index: c.index,
        backend,
        imports: options.workerImports ?? [],
        config: options.base.config,
        base,
        spec: options.spec,
      })
    ));
  } catch (e) {
    await Promise.all(channels.map((c) => c.worker.terminate()));
    throw e;
  }
  return channels;
};

/**
 * The weighted sum of the training thread's shard (`local`) and the workers' (`replies`, gradients
 * in `slots`): the gradient and metrics of the whole micro-batch's mean loss.
 */
const combine = (
  local: MicroBatchGradients,
  replies: readonly (GradientsReply | null)[],
  slots: readonly Float32Array[],
  ranges: readonly [number, number][],
  variables: readonly tf.Variable[],
): MicroBatchGradients => {
  const b = ranges[ranges.length - 1][1];
  const weightOf = (w: number): number => (ranges[w][1] - ranges[w][0]) / b;
  const combined = tf.tidy(() => {
    const grads = local.grads.map((g) => tf.mul(g, weightOf(0)));
    let pack: tf.Tensor = tf.mul(local.pack, weightOf(0));
    replies.forEach((r, w) => {
      if (r === null) return;
      if (r.names.join() !== local.names.join()) {
        throw new Error(`worker pool: worker ${w + 1} reports metrics ${r.names} where this thread has ${local.names}`);
      }
      const weight = weightOf(w + 1);
      let offset = 0;
      variables.forEach((v, i) => {
        const part = tf.tensor(slots[w].subarray(offset, offset + v.size), v.shape, "float32");
        grads[i] = tf.add(grads[i], tf.mul(part, weight));
        offset += v.size;
      });
      pack = tf.add(pack, tf.mul(tf.tensor1d([...r.pack]), weight));
    });
    return { grads, pack: pack as tf.Tensor1D };
  });
  return { ...combined, names: local.names };
};

/**
 * Start `threads − 1` workers, each with a copy of `base` on this thread's backend (wasm or cpu).
 * Throws, after stopping the workers, when one cannot start.
 *
 * @example
 * ```ts
 * import type { Transformer } from "../models/transformer.ts";
 * import type { FinetuneSpec } from "./params.ts";
 * declare const base: Transformer;
 * declare const spec: FinetuneSpec;
 * const pool = await createWorkerPool({ threads: 2, base, spec });
 * ```
 */
export const createWorkerPool = async (options: WorkerPoolOptions): Promise<WorkerPool> => {
  const { threads } = options;
  if (!Number.isInteger(threads) || threads < 2) throw new RangeError(`worker pool: threads must be an integer >= 2, got ${threads}`);
  const channels = await startChannels(options);
  const channel = (w: number): Channel => {
    const c = channels[w - 1];
    if (c === undefined) throw new RangeError(`worker pool: no worker ${w} (workers 1 … ${channels.length})`);
    return c;
  };
  let weights: Float32Array | null = null, slots: Float32Array[] = [];
  let step: StepSpec | null = null;
  let dirty = false;

  return {
    threads,
    async startSegment(trainable, seed, stepSpec) {
      const size = trainable.variables.reduce((a, v) => a + v.size, 0);
      const weightsBuffer = new SharedArrayBuffer(4 * size);
      const gradsBuffer = new SharedArrayBuffer(4 * size * channels.length);
      weights = new Float32Array(weightsBuffer);
      slots = channels.map((_, w) => new Float32Array(gradsBuffer, 4 * size * w, size));
      share(trainable.variables, weights);
      step = stepSpec;
      dirty = false;
      await Promise.all(channels.map((c) =>
        c.request({
          type: "segment",
          loss: stepSpec.loss.name,
          lossParams: stepSpec.lossParams,
          names: trainable.names,
          shapes: trainable.variables.map((v) => v.shape),
          weights: weightsBuffer,
          grads: gradsBuffer,
          seed: (seed + 7919 * c.index) % 2147483647,
        })
      ));
    },
    async gradients(pairs, trainable) {
      if (weights === null || step === null) throw new Error("worker pool: startSegment first");
      const reload = dirty;
      if (dirty) share(trainable.variables, weights);
      dirty = false;
      const ranges = shardRanges(pairs.length, threads);
      const remote = channels.map((c) => {
        const [s, e] = ranges[c.index];
        return e === s ? Promise.resolve(null) : c.request<GradientsReply>({ type: "gradients", pairs: pairs.slice(s, e), reload });
      });
      const local = alphaSpinGradients(step, trainable.policy, trainable.variables, pairs.slice(...ranges[0]));
      try {
        return combine(local, await Promise.all(remote), slots, ranges, trainable.variables);
      } finally {
        tf.dispose([...local.grads, local.pack]);
      }
    },
    weightsChanged() {
      dirty = true;
    },
    async load(w, dir) {
      await channel(w).request({ type: "load", dir });
    },
    async generate(w, prompts, request) {
      const r = await channel(w).request<Extract<FromWorker, { type: "generated" }>>({ type: "generate", prompts, options: request });
      return { completions: r.completions, finished: r.finished, logZ: r.logZ };
    },
    close: () =>
      Promise.all(channels.map(async (c) => {
        try {
          return (await c.request<Extract<FromWorker, { type: "closed" }>>({ type: "close" })).tensorsLeft;
        } catch {
          return -1;
        } finally {
          await c.worker.terminate();
        }
      })),
  };
};
