/**
 * The options of one forward pass of a Transformer (transformer.ts) and what it asks of a
 * LoRA adapter, kept apart so the model file holds the computation only.
 *
 * @example
 * ```ts
 * import type { ForwardOptions } from "./forward-options.ts";
 * const options: ForwardOptions = { adapter: null, training: false };
 * ```
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { ModelConfig } from "./config.ts";
import type { KvCache } from "./kv-cache.ts";

/** What the forward pass asks of a LoRA adapter (implemented by `LoraAdapter` in lora.ts). */
export interface ProjectionAdapter {
  /** True while the adapter is merged into the base weights (its update is then not added again). */
  readonly merged: boolean;
  /** The low-rank update of `module` for rows `x` [N, in] → [N, out], or null if not adapted. */
  delta(module: string, x: tf.Tensor2D, training: boolean): tf.Tensor2D | null;
}

/** Options of one forward pass. */
export interface ForwardOptions {
  /** A LoRA adapter to apply; null or absent runs the base weights. */
  readonly adapter?: ProjectionAdapter | null;
  /** Training mode (enables the adapter's dropout). Default false. */
  readonly training?: boolean;
  /** Incremental decoding: attend over this cache's columns too, and extend it by the new tokens. */
  readonly cache?: KvCache;
  /**
   * Activation checkpointing (checkpoint.ts; not with a cache): each layer is run again in the
   * backward pass instead of keeping its intermediates, and the gradient reaches these variables.
   */
  readonly checkpoint?: readonly tf.Variable[];
}

/**
 * Whether layer i masks keys beyond the sliding window (every layer, or the even ones for gemma2).
 *
 * @example
 * ```ts
 * import { makeConfig } from "./config.ts";
 * usesWindow(makeConfig({ family: "llama", vocabSize: 8, hiddenSize: 8, numLayers: 2, numHeads: 2 }), 0); // false
 * ```
 */
export const usesWindow = (config: ModelConfig, i: number): boolean =>
  config.slidingWindow !== null && (config.slidingWindowLayers === "all" || i % 2 === 0);
