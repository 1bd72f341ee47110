/**
 * The one message protocol between the training thread and its worker threads (pool.ts, worker.ts).
 * A worker holds a copy of the frozen base model and answers two kinds of work: gradients of a shard
 * of a micro-batch (after a `segment` shared the trained weights) and loser generation with an
 * iterate it loaded from the run's store. Everything is plain data: the loss travels by registry
 * name, the base weights by value, the trained weights and the gradients through shared memory.
 *
 * @module
 */
import type { ModelConfig } from "../models/config.ts";
import type { GenerateOptions } from "../models/generate.ts";
import type { FinetuneSpec } from "./params.ts";
import type { TrainingPair } from "./step.ts";
import type { PlainWeights } from "./channel.ts";

/** Generation options that cross threads: the mixture by its α only (the worker has the base). */
export type WorkerGenerateRequest = Omit<GenerateOptions, "mixture"> & { readonly mixtureAlpha?: number };

/** What a worker's generation returns. */
export interface WorkerGenerated {
  readonly completions: number[][];
  readonly finished: boolean[];
  readonly logZ: number[];
}

/** Training thread → worker. */
export type ToWorker =
  | {
    readonly type: "init";
    readonly id: number;
    /** 1-based: worker w computes shard w (shard 0 is the training thread's). */
    readonly index: number;
    readonly backend: "wasm" | "blas" | "cpu";
    /** Module URLs imported first (e.g. one that registers a custom loss). */
    readonly imports: readonly string[];
    readonly config: ModelConfig;
    /** The frozen base model's weights by name. */
    readonly base: PlainWeights;
    readonly spec: FinetuneSpec;
  }
  | {
    /** A training segment starts: build the trained variables from the shared weights. */
    readonly type: "segment";
    readonly id: number;
    /** The loss by registry name and its parameters (β included). */
    readonly loss: string;
    readonly lossParams: Readonly<Record<string, unknown>>;
    readonly names: readonly string[];
    readonly shapes: readonly (readonly number[])[];
    /** The trained weights, concatenated in `names` order (written by the training thread). */
    readonly weights: SharedArrayBuffer;
    /** One gradient slot per worker, each the size of the weights. */
    readonly grads: SharedArrayBuffer;
    /** Seed of this worker's LoRA dropout in the segment. */
    readonly seed: number;
  }
  | {
    readonly type: "gradients";
    readonly id: number;
    readonly pairs: readonly TrainingPair[];
    /** The weights changed since the last request: reload them from the shared buffer first. */
    readonly reload: boolean;
  }
  | {
    /** Decode with the iterate stored in `dir` from now on (null: π_base). */
    readonly type: "load";
    readonly id: number;
    readonly dir: string | null;
  }
  | {
    readonly type: "generate";
    readonly id: number;
    readonly prompts: readonly (readonly number[])[];
    readonly options: WorkerGenerateRequest;
  }
  | { readonly type: "close"; readonly id: number };

/** Worker → training thread. */
export type FromWorker =
  | { readonly type: "ok"; readonly id: number }
  | {
    readonly type: "gradients";
    readonly id: number;
    /** The shard's mean loss, then its metric means in `names` order. */
    readonly pack: readonly number[];
    readonly names: readonly string[];
  }
  | ({ readonly type: "generated"; readonly id: number } & WorkerGenerated)
  | { readonly type: "closed"; readonly id: number; readonly tensorsLeft: number }
  | { readonly type: "error"; readonly id: number; readonly message: string };
