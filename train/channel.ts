/**
 * What the worker pool (pool.ts) is built on: a request/reply channel to one
 * `node:worker_threads` worker, the backend the workers run on, and the base model's weights as
 * plain data.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Worker } from "node:worker_threads";
import type { Transformer } from "../models/transformer.ts";
import { blasKernelsLibrary } from "../backends/blas-kernels.ts";

/** A reply carries the request's id; an error reply its message. */
export type Reply = { readonly id: number; readonly type: string; readonly message?: string };

/** A message before its request id is added (distributes over a union's members). */
export type WithoutId<M> = M extends unknown ? Omit<M, "id"> : never;

type Pending = { resolve: (m: Reply) => void; reject: (e: Error) => void };

/** One worker with request/reply bookkeeping; an exit or error fails every pending request. */
export class WorkerChannel<Out extends { readonly id: number }, In extends Reply> {
  readonly worker: Worker;
  readonly index: number;
  #pending = new Map<number, Pending>();
  #failure: Error | null = null;
  #next = 1;

  /**
   * @example
   * ```ts
   * import type { FromWorker, ToWorker } from "./protocol.ts";
   * import { startWorker } from "./spawn.ts";
   * const url = new URL("./worker.ts", import.meta.url);
   * const channel = new WorkerChannel<ToWorker, FromWorker>(startWorker(url), 1, "worker");
   * ```
   */
  constructor(worker: Worker, index: number, label: string) {
    this.worker = worker;
    this.index = index;
    worker.on("message", (m: In) => {
      const p = this.#pending.get(m.id);
      if (p === undefined) return;
      this.#pending.delete(m.id);
      if (m.type === "error") p.reject(new Error(`${label} ${index}: ${m.message}`));
      else p.resolve(m);
    });
    worker.on("error", (e: unknown) => this.#fail(e instanceof Error ? e : new Error(String(e))));
    worker.on("exit", (code: number) => this.#fail(new Error(`${label} ${index} exited (code ${code})`)));
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
  }

  /** Send `message` with a fresh id and wait for the reply with that id. */
  request<T extends In>(message: WithoutId<Out>): Promise<T> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    const id = this.#next++;
    const reply = new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (m: Reply) => void, reject });
    });
    this.worker.postMessage({ ...message, id });
    return reply;
  }
}

/**
 * The backend workers start: this thread's, which must be wasm, blas (tfjs's wasm with the BLAS
 * matrix products installed; the workers keep this thread's BLAS thread count) or cpu.
 */
export const workerBackend = (): "wasm" | "blas" | "cpu" => {
  const name = tf.getBackend();
  if (name === "wasm") return blasKernelsLibrary() === null ? "wasm" : "blas";
  if (name === "cpu") return name;
  throw new RangeError(
    `workers > 1 runs extra threads on the wasm, blas or cpu backend; this run uses "${name}" ` +
      "(set workers to 1, or backend to wasm)",
  );
};

/** A model's weights by name, as plain data for a worker. */
export type PlainWeights = Record<string, { readonly shape: readonly number[]; readonly values: Float32Array }>;

/** `model`'s weights, copied out as plain data. */
export const plainWeights = (model: Transformer): PlainWeights =>
  Object.fromEntries(
    Object.entries(model.weights).map(([name, v]) => [name, { shape: v.shape, values: new Float32Array(v.dataSync()) }]),
  );

/** A frozen Transformer from plain weights (the worker side of {@link plainWeights}). */
export const weightsTensors = (weights: PlainWeights): Map<string, tf.Tensor> =>
  new Map(Object.entries(weights).map(([name, { shape, values }]) => [name, tf.tensor(values, [...shape], "float32")]));
