/**
 * The key/value cache of incremental decoding: per layer, the keys and values [B, K, S, h] of every
 * column seen so far, and the 0/1 attention mask [B, S] of those columns (pads are 0).
 *
 * A forward pass with a cache computes keys and values only for the new tokens and attends over the
 * cached columns followed by the new ones; the cache then holds S + T columns. Growth is by
 * concatenation: one step copies the O(S) cache once, the same order as the attention step itself
 * reads, so decoding n tokens costs O(n) weight passes plus O(n²) cache traffic (like the attention).
 * tfjs has no in-place slice write, so a preallocated buffer would be copied in full on every update
 * and would attend over unused slots: never cheaper.
 *
 * The cache owns its tensors: {@link KvCache.commit} disposes the previous ones, and
 * {@link KvCache.dispose} frees everything (call it when generation ends).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import type { Transformer } from "./transformer.ts";
 * declare const model: Transformer;
 * declare const promptIds: tf.Tensor2D, promptMask: tf.Tensor2D; // [B, P]
 * declare const stepIds: tf.Tensor2D, stepMask: tf.Tensor2D;     // [B, 1]
 * import { KvCache } from "./kv-cache.ts";
 * const cache = new KvCache(model.config.numLayers);
 * const first = model.forward(promptIds, promptMask, { cache });   // prefill
 * const next = model.forward(stepIds, stepMask, { cache });        // one new column
 * cache.dispose();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Cached keys and values of one layer, [B, K, S, h] each. */
export interface LayerKv {
  /** Keys [B, K, S, h] (after RoPE for the llama family). */
  readonly keys: tf.Tensor4D;
  /** Values [B, K, S, h]. */
  readonly values: tf.Tensor4D;
}

/** Keys, values and mask of an incremental decoding run; see the module doc. */
export class KvCache {
  /** Number of layers the cache holds. */
  readonly numLayers: number;
  #layers: LayerKv[] = [];
  #mask: tf.Tensor2D | null = null;
  #disposed = false;

  /**
   * An empty cache for a model with `numLayers` layers.
   *
   * @example
   * ```ts
   * import type { ModelConfig } from "./config.ts";
   * declare const config: ModelConfig;
   * const cache = new KvCache(config.numLayers);
   * ```
   */
  constructor(numLayers: number) {
    this.numLayers = numLayers;
  }

  /** Number of cached columns S (0 when empty). */
  get length(): number {
    return this.#mask?.shape[1] ?? 0;
  }

  /** Batch size B (0 when empty). */
  get batchSize(): number {
    return this.#mask?.shape[0] ?? 0;
  }

  /** The 0/1 float mask [B, S] of the cached columns, or null when empty. */
  get mask(): tf.Tensor2D | null {
    this.#check();
    return this.#mask;
  }

  /** Cached keys and values of layer `i`, or null when empty. */
  layer(i: number): LayerKv | null {
    this.#check();
    return this.#layers[i] ?? null;
  }

  /**
   * Replace the contents by `layers` (one entry per layer, S' columns each) and `mask` [B, S']; the
   * cache takes ownership of the new tensors and disposes the old ones.
   */
  commit(layers: readonly LayerKv[], mask: tf.Tensor2D): void {
    this.#check();
    if (layers.length !== this.numLayers) {
      throw new RangeError(`KvCache: commit of ${layers.length} layers into a ${this.numLayers}-layer cache`);
    }
    const old = this.#layers, oldMask = this.#mask;
    this.#layers = [...layers];
    this.#mask = mask;
    for (const { keys, values } of old) {
      if (!layers.some((l) => l.keys === keys)) keys.dispose();
      if (!layers.some((l) => l.values === values)) values.dispose();
    }
    if (oldMask !== null && oldMask !== mask) oldMask.dispose();
  }

  /** Free every cached tensor; the cache cannot be used afterwards. */
  dispose(): void {
    if (this.#disposed) return;
    for (const { keys, values } of this.#layers) {
      keys.dispose();
      values.dispose();
    }
    this.#mask?.dispose();
    this.#layers = [];
    this.#mask = null;
    this.#disposed = true;
  }

  /** Number of tensors the cache holds (2 per layer + the mask), for leak accounting in tests. */
  get tensorCount(): number {
    return this.#layers.length * 2 + (this.#mask === null ? 0 : 1);
  }

  #check(): void {
    if (this.#disposed) throw new Error("KvCache: used after dispose()");
  }
}

/**
 * Append new keys and values [B, K, T, h] to a layer's cached ones (or start them) → [B, K, S + T, h].
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * const cache = new KvCache(2);
 * declare const k: tf.Tensor4D, v: tf.Tensor4D; // the new keys and values, [B, K, T, h]
 * const { keys, values } = appendKv(cache.layer(0), k, v);
 * ```
 */
export const appendKv = (past: LayerKv | null, keys: tf.Tensor4D, values: tf.Tensor4D): LayerKv =>
  past === null ? { keys, values } : {
    keys: tf.concat([past.keys, keys], 2) as tf.Tensor4D,
    values: tf.concat([past.values, values], 2) as tf.Tensor4D,
  };
