/**
 * What the training thread and its gradient workers (grad-pool.ts, grad-worker.ts) say to each
 * other. Everything is plain data: the loss travels by registry name, the base weights by value,
 * the trained weights and the gradients through shared memory.
 *
 * @module
 */
import type { ModelConfig } from "../models/config.ts";
import type { FinetuneSpec } from "./params.ts";
import type { TrainingPair } from "./step.ts";
import type { PlainWeights } from "./worker-channel.ts";

/** Training thread → worker. */
export type ToGradWorker =
  | {
    readonly type: "init";
    readonly id: number;
    /** 1-based: worker w computes shard w (shard 0 is the training thread's). */
    readonly index: number;
    readonly backend: "wasm" | "blas" | "cpu";
    readonly imports: readonly string[];
    readonly config: ModelConfig;
    /** The frozen base model's weights by name. */
    readonly base: PlainWeights;
    readonly spec: FinetuneSpec;
    readonly loss: string;
    readonly lossParams: Readonly<Record<string, unknown>>;
    readonly alpha: number;
    readonly allowNonInvariant?: "per-prompt-normalizer-ignored";
  }
  | {
    /** A training segment starts: build the trained variables from the shared weights. */
    readonly type: "segment";
    readonly id: number;
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
  | { readonly type: "close"; readonly id: number };

/** Worker → training thread. */
export type FromGradWorker =
  | { readonly type: "ok"; readonly id: number }
  | {
    readonly type: "gradients";
    readonly id: number;
    /** The shard's mean loss, then its metric means in `names` order. */
    readonly pack: readonly number[];
    readonly names: readonly string[];
  }
  | { readonly type: "closed"; readonly id: number; readonly tensorsLeft: number }
  | { readonly type: "error"; readonly id: number; readonly message: string };
