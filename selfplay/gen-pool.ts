/**
 * Both cores for loser generation: `workers − 1` generation worker threads (gen-worker.ts), each
 * with a copy of the base model on its own wasm, blas or cpu backend, decode whole batches of prompts
 * while the training thread decodes others (generation.ts schedules them). Every batch samples
 * from its own random stream, so who decodes it does not change the losers: a run with two threads
 * generates exactly what a run with one does.
 *
 * Loaded with a dynamic import only when `workers > 1`.
 *
 * @example
 * ```ts
 * const pool = await createGenerationPool({ threads: 2, base, spec });
 * await pool.load(1, "runs/demo/iter-1/adapter");
 * const out = await pool.generate(1, prompts, { maxNewTokens: 64, rng });
 * await pool.close();
 * ```
 *
 * @module
 */
import { siblingModule, startWorker } from "../parallel/spawn.ts";
import type { Transformer } from "../models/transformer.ts";
import type { FromGenWorker, ToGenWorker, WorkerGenerateRequest } from "./gen-worker.ts";
import type { FinetuneSpec } from "./params.ts";
import { plainWeights, workerBackend, WorkerChannel } from "./worker-channel.ts";

export type { WorkerGenerateRequest } from "./gen-worker.ts";

/** What a worker's generation returns. */
export interface WorkerGenerated {
  readonly completions: number[][];
  readonly finished: boolean[];
  readonly logZ: number[];
}

/** A running generation pool; workers are numbered 1 … threads − 1 (0 is the training thread). */
export interface GenerationPool {
  readonly threads: number;
  /** Make worker `w` decode with the iterate stored in `dir` (null: π_base). */
  load(worker: number, dir: string | null): Promise<void>;
  /** Decode `prompts` on worker `w` with its loaded iterate. */
  generate(worker: number, prompts: readonly (readonly number[])[], options: WorkerGenerateRequest): Promise<WorkerGenerated>;
  /** Stop the workers; resolves with the tensors each left (0 when clean). */
  close(): Promise<readonly number[]>;
}

/**
 * Start `threads − 1` generation workers with copies of `base` on this thread's backend.
 *
 * @example
 * ```ts
 * const pool = await createGenerationPool({ threads: 2, base, spec });
 * ```
 */
export const createGenerationPool = async (
  options: { readonly threads: number; readonly base: Transformer; readonly spec: FinetuneSpec },
): Promise<GenerationPool> => {
  const { threads } = options;
  if (!Number.isInteger(threads) || threads < 2) throw new RangeError(`generation pool: threads must be an integer >= 2, got ${threads}`);
  const backend = workerBackend();
  const base = plainWeights(options.base);
  const url = siblingModule(import.meta.url, "gen-worker");
  const channels = Array.from(
    { length: threads - 1 },
    (_, i) => new WorkerChannel<ToGenWorker, FromGenWorker>(startWorker(url), i + 1, "generation worker"),
  );
  try {
    await Promise.all(channels.map((c) => c.request({ type: "init", backend, config: options.base.config, base, spec: options.spec })));
  } catch (e) {
    await Promise.all(channels.map((c) => c.worker.terminate()));
    throw e;
  }
  const channel = (w: number) => {
    const c = channels[w - 1];
    if (c === undefined) throw new RangeError(`generation pool: no worker ${w} (workers 1 … ${channels.length})`);
    return c;
  };
  return {
    threads,
    async load(w, dir) {
      await channel(w).request({ type: "load", dir });
    },
    async generate(w, prompts, request) {
      const r = await channel(w).request<Extract<FromGenWorker, { type: "generated" }>>({ type: "generate", prompts, options: request });
      return { completions: r.completions, finished: r.finished, logZ: r.logZ };
    },
    close: () =>
      Promise.all(channels.map(async (c) => {
        try {
          return (await c.request<Extract<FromGenWorker, { type: "closed" }>>({ type: "close" })).tensorsLeft;
        } catch {
          return -1;
        } finally {
          await c.worker.terminate();
        }
      })),
  };
};
