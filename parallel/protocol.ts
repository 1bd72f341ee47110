/**
 * What the main thread and the data-parallel workers say to each other, and the options every
 * replica is built from. Everything here is plain data (structured-clone safe): a worker gets the
 * loss by registry name, not as a function.
 *
 * @module
 */
import type { ModelConfig } from "../models/config.ts";
import type { LoraOptions, LoraRecord } from "../models/lora.ts";
import type { GenerateOptions } from "../models/generate.ts";
import type { AdamWOptions } from "../selfplay/optim.ts";
import type { PreferenceBatch } from "./preference-step.ts";

/** The tfjs backends a worker can run on (all on the CPU; wasm and cpu one thread each). */
export type WorkerBackend = "wasm" | "blas" | "cpu";

/** How one replica is built: model, optional LoRA, loss, optimizer, reference. */
export interface ReplicaOptions {
  /** The model's configuration (e.g. from `makeConfig` or `configFromHf`). */
  readonly modelConfig: ModelConfig;
  /** Base weights by Hugging Face name (a loaded checkpoint); absent = random init from `seed`. */
  readonly weights?: Readonly<Record<string, Float32Array>>;
  /** Seed of the random initialization when no `weights` are given. Default 0. */
  readonly seed?: number;
  /** Standard deviation of the random initialization. Default 0.02. */
  readonly initStd?: number;
  /** Train a LoRA adapter on the frozen base (null or absent: full fine-tuning). */
  readonly lora?: LoraOptions | null;
  /** Start the adapter from these weights (e.g. the previous iterate); needs `lora`. */
  readonly adapter?: LoraRecord;
  /** Loss name in the registry. Default "sigmoid". */
  readonly loss?: string;
  /** The loss's parameters, e.g. `{ beta: 0.1 }`. */
  readonly lossParams?: Readonly<Record<string, unknown>>;
  /**
   * Pairs per forward/backward pass inside a worker (default: its whole shard); gradients of the
   * passes are accumulated, so only memory changes.
   */
  readonly microBatch?: number;
  /** AdamW hyper-parameters (weight decay, clipping, betas). */
  readonly optimizer?: AdamWOptions;
  /** Learning rate of a step when `step` is not given one. Default 1e-5. */
  readonly learningRate?: number;
  /**
   * Where reference log-probs come from: `"precomputed"` (every batch carries refChosen and
   * refRejected: α-SPIN's way) or `"initial"` (a frozen copy of the starting weights; with LoRA,
   * the base model with adapters off). Default "precomputed".
   */
  readonly reference?: "precomputed" | "initial";
  /** The tfjs backend of each worker. Default "wasm". */
  readonly backend?: WorkerBackend;
  /** Install the fast wasm matrix-product kernels (backends/wasm-kernels.ts). Default true. */
  readonly fastKernels?: boolean;
  /**
   * BLAS threads with backend "blas" (one process-wide setting, shared by the workers). Default 1:
   * the workers are the parallelism.
   */
  readonly threads?: number;
  /** Module URLs every worker imports first (e.g. one that registers a custom loss). */
  readonly workerImports?: readonly string[];
}

/**
 * Generation options a worker accepts: those of `generate` (models/generate.ts) except the rng and
 * the mixture's policy, which cannot cross threads. `mixtureAlpha` decodes from the geometric
 * mixture with the replica's base (adapters off under LoRA; the frozen initial weights under full
 * fine-tuning with `reference: "initial"`).
 */
export type WorkerGenerateOptions = Omit<GenerateOptions, "rng" | "mixture"> & {
  readonly mixtureAlpha?: number;
};

/** What a worker's generation returns (models/generate.ts's Generation without the rng). */
export interface WorkerGeneration {
  readonly completions: number[][];
  readonly finished: boolean[];
  readonly samplingLogProbs: number[];
  readonly modelLogProbs: number[];
  readonly logZ: number[];
}

/** Main → worker. */
export type ToWorker =
  | {
    readonly type: "init";
    readonly options: ReplicaOptions;
    readonly index: number;
    readonly workers: number;
  }
  | { readonly type: "buffer"; readonly buffer: SharedArrayBuffer }
  | {
    readonly type: "gradients";
    readonly id: number;
    readonly batch: PreferenceBatch;
    readonly weight: number;
  }
  | { readonly type: "apply"; readonly id: number; readonly learningRate: number }
  | { readonly type: "weights"; readonly id: number }
  | {
    readonly type: "generate";
    readonly id: number;
    readonly prompts: readonly (readonly number[])[];
    readonly options: WorkerGenerateOptions;
    /** Which random stream of the seed this worker samples from (its index). */
    readonly stream: number;
  }
  | { readonly type: "close"; readonly id: number };

/** Worker → main. */
export type FromWorker =
  | { readonly type: "ready"; readonly trainableSizes: readonly number[]; readonly backend: string }
  | {
    readonly type: "gradients";
    readonly id: number;
    readonly metrics: Readonly<Record<string, number>>;
    /** Seconds the worker spent computing and writing its gradients. */
    readonly seconds: number;
  }
  | { readonly type: "applied"; readonly id: number; readonly gradNorm: number; readonly seconds: number }
  | {
    readonly type: "weights";
    readonly id: number;
    readonly weights: Readonly<Record<string, Float32Array>>;
  }
  | { readonly type: "generated"; readonly id: number; readonly generation: WorkerGeneration }
  | { readonly type: "closed"; readonly id: number; readonly tensorsLeft: number }
  | { readonly type: "error"; readonly id: number | null; readonly message: string };
