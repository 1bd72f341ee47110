/**
 * Both cores for the self-play trainer: each micro-batch is split into contiguous shards, the
 * training thread computes the first with `alphaSpinGradients` and worker threads (grad-worker.ts,
 * one tfjs backend each) the others, at the same time. The shard gradients come back through one
 * SharedArrayBuffer and are combined, weighted by shard size, into the gradient of the whole
 * micro-batch's mean loss; the metrics likewise. The optimizer, the EMA and the checkpoints stay
 * on the training thread, which writes the updated weights to shared memory after each step; the
 * workers reload them before their next shard.
 *
 * The pool is loaded with a dynamic import only when `workers > 1`, so the rest of the trainer
 * keeps no `node:worker_threads` dependency (browsers train on one thread).
 *
 * @example
 * ```ts
 * const pool = await createGradientPool({ threads: 2, base, spec, step, workerImports: [] });
 * await pool.startSegment(trainable, seed);
 * const { grads, pack, names } = await pool.gradients(pairs, trainable);
 * pool.weightsChanged(); // after the optimizer step
 * await pool.close();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { shardRanges } from "../parallel/data-parallel.ts";
import { siblingModule, startWorker } from "../parallel/spawn.ts";
import type { Transformer } from "../models/transformer.ts";
import type { FromGradWorker, ToGradWorker } from "./grad-protocol.ts";
import type { FinetuneSpec, Trainable } from "./params.ts";
import { plainWeights, workerBackend, WorkerChannel } from "./worker-channel.ts";
import { alphaSpinGradients, type MicroBatchGradients, type StepSpec, type TrainingPair } from "./step.ts";

/** Options of {@link createGradientPool}. */
export interface GradientPoolOptions {
  /** Threads in all, the training thread included (≥ 2). */
  readonly threads: number;
  readonly base: Transformer;
  readonly spec: FinetuneSpec;
  readonly step: StepSpec;
  /** Module URLs each worker imports first (custom losses). */
  readonly workerImports: readonly string[];
}

/** A running pool; see the module doc. */
export interface GradientPool {
  readonly threads: number;
  /** Share `trainable`'s current values and have every worker build its copy (LoRA dropout seeded from `seed`). */
  startSegment(trainable: Trainable, seed: number): Promise<void>;
  /** The gradient and metrics pack of `pairs`' mean loss, computed on every thread at once. */
  gradients(pairs: readonly TrainingPair[], trainable: Trainable): Promise<MicroBatchGradients>;
  /** The trained weights changed (an optimizer step): share them before the next shard. */
  weightsChanged(): void;
  /** Stop the workers; resolves with the tensors each left (0 when clean). */
  close(): Promise<readonly number[]>;
}

type Channel = WorkerChannel<ToGradWorker, FromGradWorker>;

/** Copy the trained variables' values into the shared weights buffer. */
const share = (variables: readonly tf.Variable[], into: Float32Array): void => {
  let offset = 0;
  for (const v of variables) {
    into.set(v.dataSync() as Float32Array, offset);
    offset += v.size;
  }
};

/**
 * Start `threads − 1` gradient workers, each with a copy of `base` on this thread's backend
 * (wasm, blas or cpu). Throws, after stopping the workers, when one cannot start (unknown loss, …).
 *
 * @example
 * ```ts
 * const pool = await createGradientPool({ threads: 2, base, spec, step, workerImports: [] });
 * ```
 */
export const createGradientPool = async (options: GradientPoolOptions): Promise<GradientPool> => {
  const { threads } = options;
  if (!Number.isInteger(threads) || threads < 2) throw new RangeError(`gradient pool: threads must be an integer >= 2, got ${threads}`);
  const backend = workerBackend();
  const base = plainWeights(options.base);
  const url = siblingModule(import.meta.url, "grad-worker");
  const channels = Array.from({ length: threads - 1 }, (_, i) => new WorkerChannel<ToGradWorker, FromGradWorker>(startWorker(url), i + 1, "gradient worker"));
  try {
    await Promise.all(channels.map((c) =>
      c.request({
        type: "init",
        index: c.index,
        backend,
        imports: options.workerImports,
        config: options.base.config,
        base,
        spec: options.spec,
        loss: options.step.loss.name,
        lossParams: options.step.lossParams,
        alpha: options.step.alpha,
        ...(options.step.allowNonInvariant === undefined ? {} : { allowNonInvariant: options.step.allowNonInvariant }),
      })
    ));
  } catch (e) {
    await Promise.all(channels.map((c) => c.worker.terminate()));
    throw e;
  }

  let weights: Float32Array | null = null, slots: Float32Array[] = [];
  let dirty = false;

  return {
    threads,
    async startSegment(trainable, seed) {
      const size = trainable.variables.reduce((a, v) => a + v.size, 0);
      const weightsBuffer = new SharedArrayBuffer(4 * size);
      const gradsBuffer = new SharedArrayBuffer(4 * size * channels.length);
      weights = new Float32Array(weightsBuffer);
      slots = channels.map((_, w) => new Float32Array(gradsBuffer, 4 * size * w, size));
      share(trainable.variables, weights);
      dirty = false;
      await Promise.all(channels.map((c) =>
        c.request({
          type: "segment",
          names: trainable.names,
          shapes: trainable.variables.map((v) => v.shape),
          weights: weightsBuffer,
          grads: gradsBuffer,
          seed: (seed + 7919 * c.index) % 2147483647,
        })
      ));
    },
    async gradients(pairs, trainable) {
      if (weights === null) throw new Error("gradient pool: startSegment first");
      const reload = dirty;
      if (dirty) share(trainable.variables, weights);
      dirty = false;
      const b = pairs.length;
      const ranges = shardRanges(b, threads);
      const remote = channels.map((c) => {
        const [s, e] = ranges[c.index];
        return e === s
          ? Promise.resolve(null)
          : c.request<Extract<FromGradWorker, { type: "gradients" }>>({ type: "gradients", pairs: pairs.slice(s, e), reload });
      });
      const [s0, e0] = ranges[0];
      const local = alphaSpinGradients(options.step, trainable.policy, trainable.variables, pairs.slice(s0, e0));
      let replies: (Extract<FromGradWorker, { type: "gradients" }> | null)[];
      try {
        replies = await Promise.all(remote);
      } catch (e) {
        tf.dispose([...local.grads, local.pack]);
        throw e;
      }
      const share0 = (e0 - s0) / b;
      const combined = tf.tidy(() => {
        const grads = local.grads.map((g) => tf.mul(g, share0));
        let pack: tf.Tensor = tf.mul(local.pack, share0);
        replies.forEach((r, w) => {
          if (r === null) return;
          if (r.names.join() !== local.names.join()) {
            throw new Error(`gradient pool: worker ${w + 1} reports metrics ${r.names} where this thread has ${local.names}`);
          }
          const [s, e] = ranges[w + 1];
          const weight = (e - s) / b;
          let offset = 0;
          trainable.variables.forEach((v, i) => {
            const part = tf.tensor(slots[w].subarray(offset, offset + v.size), v.shape, "float32");
            grads[i] = tf.add(grads[i], tf.mul(part, weight));
            offset += v.size;
          });
          pack = tf.add(pack, tf.mul(tf.tensor1d([...r.pack]), weight));
        });
        return { grads, pack: pack as tf.Tensor1D };
      });
      tf.dispose([...local.grads, local.pack]);
      return { grads: combined.grads, pack: combined.pack, names: local.names };
    },
    weightsChanged() {
      dirty = true;
    },
    async close() {
      const left = await Promise.all(channels.map(async (c) => {
        try {
          const r = await c.request<Extract<FromGradWorker, { type: "closed" }>>({ type: "close" });
          return r.tensorsLeft;
        } catch {
          return -1;
        } finally {
          await c.worker.terminate();
        }
      }));
      return left;
    },
  };
};
