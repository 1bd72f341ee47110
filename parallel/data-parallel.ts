/**
 * Data-parallel preference training on several CPU cores. tfjs's wasm backend runs one thread in
 * Node and Deno, so one process uses one core; this trainer starts `workers` worker threads, each
 * with its own tfjs backend and a replica of the model, and per step:
 *
 * 1. splits the batch of pairs into contiguous shards, one per worker (sizes differ by at most 1);
 * 2. each worker computes the gradient of its shard's mean loss, scaled by its share n_w / n, into
 *    its slot of one SharedArrayBuffer (no copy through the message channel);
 * 3. each worker sums all slots in the same order — the gradient of the full batch's mean loss —
 *    and applies the same AdamW update (clipping included) to its own replica.
 *
 * Replicas stay bit-identical (same sums, same update code), so weights are never sent. The main
 * thread only shards the batch and exchanges a few small messages per step.
 *
 * @example
 * ```ts
 * import { makeConfig } from "../models/config.ts";
 * import { createDataParallelTrainer } from "./data-parallel.ts";
 * const trainer = await createDataParallelTrainer({
 *   workers: 2,
 *   modelConfig: makeConfig({ family: "gpt2", vocabSize: 512, hiddenSize: 256, numLayers: 4, numHeads: 4 }),
 *   lora: { r: 8, targetModules: ["c_attn", "attn.c_proj"] },
 *   loss: "sigmoid", lossParams: { beta: 0.1 },
 *   optimizer: { weightDecay: 0, maxGradNorm: 1 }, learningRate: 5e-5,
 * });
 * const { loss, metrics, gradNorm } = await trainer.step({ prompts, chosen, rejected, refChosen, refRejected });
 * const adapter = await trainer.trainableWeights();
 * await trainer.close();
 * ```
 *
 * @module
 */
import type { Worker } from "node:worker_threads";
import type { PreferenceBatch } from "./preference-step.ts";
import type {
  FromWorker,
  ReplicaOptions,
  ToWorker,
  WorkerGenerateOptions,
  WorkerGeneration,
} from "./protocol.ts";
import { siblingModule, startWorker } from "./spawn.ts";

/** Options of {@link createDataParallelTrainer}: the replica's options and the worker count. */
export interface DataParallelOptions extends ReplicaOptions {
  /** Number of worker threads (≥ 1); one per core is the useful maximum. */
  readonly workers: number;
}

/** What one training step reports. */
export interface DataParallelStep {
  /** Mean loss over the batch's pairs. */
  readonly loss: number;
  /** Batch means of the loss's TRL-named metrics (`rewards/margins`, `logps/chosen`, ...). */
  readonly metrics: Readonly<Record<string, number>>;
  /** Global gradient norm before clipping (Hugging Face's `grad_norm`). */
  readonly gradNorm: number;
  /**
   * Seconds each worker spent on its shard's gradients and on the update (the summing of the
   * slots and AdamW), for profiling; index = worker (0 for a worker without pairs).
   */
  readonly workerSeconds: { readonly gradients: readonly number[]; readonly apply: readonly number[] };
}

/** A running data-parallel trainer; see the module doc. */
export interface DataParallelTrainer {
  /** Number of workers (replicas). */
  readonly workers: number;
  /** Number of trainable scalars. */
  readonly trainableSize: number;
  /** The backend the workers run on, as the first worker reported it. */
  readonly backend: string;
  /** One optimizer step on `batch` (all pairs), at `learningRate` (default: the options'). */
  step(batch: PreferenceBatch, options?: { readonly learningRate?: number }): Promise<DataParallelStep>;
  /**
   * Generate completions of `prompts` on every worker at once (contiguous shards, concatenated in
   * prompt order) with the current weights. Worker w samples from stream w of `options.seed`:
   * deterministic for a given seed and worker count.
   */
  generate(
    prompts: readonly (readonly number[])[],
    options: WorkerGenerateOptions,
  ): Promise<WorkerGeneration>;
  /** The trainable weights of replica `worker` (default 0) by Hugging Face / PEFT name. */
  trainableWeights(worker?: number): Promise<Record<string, Float32Array>>;
  /** Free every replica and stop the workers; resolves with the tensors each left (0 when clean). */
  close(): Promise<{ readonly tensorsLeft: readonly number[] }>;
}

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

const sliceBatch = (batch: PreferenceBatch, [s, e]: [number, number]): PreferenceBatch => ({
  prompts: batch.prompts.slice(s, e),
  chosen: batch.chosen.slice(s, e),
  rejected: batch.rejected.slice(s, e),
  ...(batch.refChosen !== undefined ? { refChosen: batch.refChosen.slice(s, e) } : {}),
  ...(batch.refRejected !== undefined ? { refRejected: batch.refRejected.slice(s, e) } : {}),
});

type Pending = { resolve: (m: FromWorker) => void; reject: (e: Error) => void };

/** One worker thread with request/response bookkeeping. */
class WorkerChannel {
  readonly worker: Worker;
  readonly index: number;
  #pending = new Map<number | "init", Pending>();
  #failure: Error | null = null;

  constructor(worker: Worker, index: number) {
    this.worker = worker;
    this.index = index;
    worker.on("message", (m: FromWorker) => this.#receive(m));
    worker.on("error", (e: unknown) => this.#fail(e instanceof Error ? e : new Error(String(e))));
    // After an exit every request fails at once instead of waiting for a reply that cannot come.
    worker.on(
      "exit",
      (code: number) => this.#fail(new Error(`data-parallel worker ${index} exited (code ${code})`)),
    );
  }

  #receive(m: FromWorker): void {
    const key = m.type === "ready" ? "init" : m.id;
    if (m.type === "error") {
      const error = new Error(`data-parallel worker ${this.index}: ${m.message}`);
      if (key !== null && this.#pending.has(key)) this.#settle(key).reject(error);
      else this.#fail(error);
      return;
    }
    if (key !== null && this.#pending.has(key)) this.#settle(key).resolve(m);
  }

  #settle(key: number | "init"): Pending {
    const p = this.#pending.get(key)!;
    this.#pending.delete(key);
    return p;
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
  }

  /** Send `message` and wait for the reply with the same id ("init" waits for "ready"). */
  request<T extends FromWorker>(message: ToWorker): Promise<T> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    const key = message.type === "init" ? "init" : "id" in message ? message.id : null;
    if (key === null) throw new Error(`data-parallel: message ${message.type} expects no reply`);
    const reply = new Promise<T>((resolve, reject) => {
      this.#pending.set(key, { resolve: resolve as (m: FromWorker) => void, reject });
    });
    this.worker.postMessage(message);
    return reply;
  }

  post(message: ToWorker): void {
    this.worker.postMessage(message);
  }
}

/**
 * Start `options.workers` workers, build one replica in each (same seed or weights: identical
 * replicas) and return the trainer. Throws (after stopping the workers) if a replica cannot be
 * built, e.g. an unknown loss name or backend.
 *
 * @example
 * ```ts
 * const trainer = await createDataParallelTrainer({ workers: 2, modelConfig: config, reference: "initial" });
 * ```
 */
export const createDataParallelTrainer = async (
  options: DataParallelOptions,
): Promise<DataParallelTrainer> => {
  const { workers: count, ...replicaOptions } = options;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`data-parallel: workers must be an integer >= 1, got ${count}`);
  }
  const url = siblingModule(import.meta.url, "worker");
  const channels = Array.from({ length: count }, (_, i) => new WorkerChannel(startWorker(url), i));
  let ready: Extract<FromWorker, { type: "ready" }>[];
  try {
    ready = await Promise.all(
      channels.map((c) =>
        c.request<Extract<FromWorker, { type: "ready" }>>({
          type: "init",
          options: replicaOptions,
          index: c.index,
          workers: count,
        })
      ),
    );
  } catch (e) {
    await Promise.all(channels.map((c) => c.worker.terminate()));
    throw e;
  }
  const trainableSize = ready[0].trainableSizes.reduce((a, b) => a + b, 0);
  const buffer = new SharedArrayBuffer(4 * trainableSize * count);
  for (const c of channels) c.post({ type: "buffer", buffer });
  const slot = (w: number): Float32Array => new Float32Array(buffer, 4 * w * trainableSize, trainableSize);
  let nextId = 1;
  let closed = false;
  const defaultLearningRate = options.learningRate ?? 1e-5;
  const check = (): void => {
    if (closed) throw new Error("data-parallel: trainer used after close()");
  };

  return {
    workers: count,
    trainableSize,
    backend: ready[0].backend,
    async step(batch, stepOptions = {}) {
      check();
      const n = batch.prompts.length;
      if (n === 0) throw new RangeError("data-parallel: empty batch");
      const ranges = shardRanges(n, count);
      const id = nextId++;
      const replies = await Promise.all(channels.map((c, w) => {
        const [s, e] = ranges[w];
        if (e === s) {
          slot(w).fill(0);
          return Promise.resolve(null);
        }
        return c.request<Extract<FromWorker, { type: "gradients" }>>({
          type: "gradients",
          id,
          batch: sliceBatch(batch, ranges[w]),
          weight: (e - s) / n,
        });
      }));
      const learningRate = stepOptions.learningRate ?? defaultLearningRate;
      const applied = await Promise.all(
        channels.map((c) =>
          c.request<Extract<FromWorker, { type: "applied" }>>({ type: "apply", id, learningRate })
        ),
      );
      const metrics: Record<string, number> = {};
      for (const r of replies) {
        if (r === null) continue;
        for (const [k, v] of Object.entries(r.metrics)) metrics[k] = (metrics[k] ?? 0) + v;
      }
      return {
        loss: metrics.loss,
        metrics,
        gradNorm: applied[0].gradNorm,
        workerSeconds: {
          gradients: replies.map((r) => r?.seconds ?? 0),
          apply: applied.map((a) => a.seconds),
        },
      };
    },
    async generate(prompts, generateOptions) {
      check();
      const ranges = shardRanges(prompts.length, count);
      const id = nextId++;
      const parts = await Promise.all(channels.map((c, w) => {
        const [s, e] = ranges[w];
        if (e === s) return Promise.resolve(null);
        return c.request<Extract<FromWorker, { type: "generated" }>>({
          type: "generate",
          id,
          prompts: prompts.slice(s, e),
          options: generateOptions,
          stream: w,
        });
      }));
      const out: WorkerGeneration = {
        completions: [],
        finished: [],
        samplingLogProbs: [],
        modelLogProbs: [],
        logZ: [],
      };
      for (const part of parts) {
        if (part === null) continue;
        const g = part.generation;
        out.completions.push(...g.completions);
        out.finished.push(...g.finished);
        out.samplingLogProbs.push(...g.samplingLogProbs);
        out.modelLogProbs.push(...g.modelLogProbs);
        out.logZ.push(...g.logZ);
      }
      return out;
    },
    async trainableWeights(worker = 0) {
      check();
      if (!(worker >= 0 && worker < count)) {
        throw new RangeError(`data-parallel: no worker ${worker} (of ${count})`);
      }
      const reply = await channels[worker].request<Extract<FromWorker, { type: "weights" }>>({
        type: "weights",
        id: nextId++,
      });
      return { ...reply.weights };
    },
    async close() {
      if (closed) return { tensorsLeft: [] };
      closed = true;
      const id = nextId++;
      try {
        const replies = await Promise.all(
          channels.map((c) => c.request<Extract<FromWorker, { type: "closed" }>>({ type: "close", id })),
        );
        return { tensorsLeft: replies.map((r) => r.tensorsLeft) };
      } finally {
        await Promise.all(channels.map((c) => c.worker.terminate()));
      }
    },
  };
};
