/**
 * Masked scaled-dot-product attention with grouped-query heads, and the masks and positions it uses.
 *
 * Layout: queries [B, H, T, h], keys and values [B, K, S, h] with H = K·g (query head i uses key head
 * ⌊i / g⌋, as Hugging Face's `repeat_kv`). Grouping is a reshape of the queries to [B, K, g·T, h], so
 * keys and values are never repeated and every head is computed by one batched matMul.
 *
 * Columns are the S key slots (past cache slots followed by the T new tokens); the attention mask
 * [B, S] says which hold real tokens. Positions come from the mask (cumsum − 1), so a left-padded
 * or right-padded batch gives each real token the same position it has unpadded.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { attentionBias, groupedQueryAttention, positionsFromMask } from "./attention.ts";
 * declare const q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D; // queries [1, H, 3, h]; keys and values [1, K, 3, h]
 * const mask = tf.tensor2d([[0, 1, 1]]);                  // one left pad
 * const positions = positionsFromMask(mask);               // [[0, 0, 1]]
 * const bias = attentionBias(mask, 0, 3, null, positions); // [1, 1, 3, 3]
 * const out = groupedQueryAttention(q, k, v, bias);                       // [1, 3, H·h]
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The additive bias of a masked score: large and negative, finite (a fully masked row stays finite). */
export const MASKED_SCORE = -1e9;

/**
 * Positions of every column from a 0/1 attention mask [B, S]: cumsum(mask) − 1, clamped at 0 (pad
 * columns get a harmless position; they are masked anyway). Float [B, S].
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * positionsFromMask(tf.tensor2d([[0, 0, 1, 1], [1, 1, 1, 0]])); // [[0,0,0,1],[0,1,2,2]]
 * ```
 */
export const positionsFromMask = (mask: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => tf.relu(tf.sub(tf.cumsum(tf.cast(mask, "int32"), 1), 1)).toFloat() as tf.Tensor2D);

/**
 * The additive attention bias [B, 1, T, S] for T new queries at columns `past … past + T − 1` over
 * S = past + T key columns: 0 where the key column is real (mask 1), not in the future (causal), and
 * (with a sliding window w) fewer than w positions behind the query; {@link MASKED_SCORE} elsewhere.
 * `positions` [B, S] (from {@link positionsFromMask}) is needed only for the window.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * attentionBias(tf.tensor2d([[1, 1]]), 0, 2, null, null); // [[[[0, -1e9], [0, 0]]]]
 * ```
 */
export const attentionBias = (
  mask: tf.Tensor2D,
  past: number,
  queries: number,
  slidingWindow: number | null,
  positions: tf.Tensor2D | null,
): tf.Tensor4D =>
  tf.tidy(() => {
    const [b, s] = mask.shape;
    if (s !== past + queries) {
      throw new RangeError(
        `attentionBias: mask has ${s} columns, expected past ${past} + queries ${queries}`,
      );
    }
    const queryColumn = tf.reshape(tf.range(past, past + queries, 1, "int32"), [queries, 1]);
    const keyColumn = tf.reshape(tf.range(0, s, 1, "int32"), [1, s]);
    const causal = tf.reshape(tf.lessEqual(keyColumn, queryColumn).toFloat(), [1, 1, queries, s]);
    let allowed = tf.mul(causal, tf.reshape(tf.cast(mask, "float32"), [b, 1, 1, s]));
    if (slidingWindow !== null) {
      if (positions === null) throw new RangeError("attentionBias: a sliding window needs the positions");
      const queryPos = tf.reshape(tf.slice(positions, [0, past], [b, queries]), [b, 1, queries, 1]);
      const keyPos = tf.reshape(positions, [b, 1, 1, s]);
      allowed = tf.mul(allowed, tf.less(tf.sub(queryPos, keyPos), slidingWindow).toFloat());
    }
    return tf.mul(tf.sub(allowed, 1), -MASKED_SCORE) as tf.Tensor4D; // +0 where allowed
  });

/** How raw scores q·kᵀ become logits: the scale (default 1/√h) and an optional soft cap. */
export interface AttentionScoreOptions {
  /** Multiplies q·kᵀ (default 1/√h; gemma2: 1/√query_pre_attn_scalar). */
  readonly scale?: number;
  /** Scores s → c·tanh(s/c) after scaling, before the mask (gemma2's attn_logit_softcapping). */
  readonly softcap?: number | null;
}

/**
 * c·tanh(x/c): squashes x smoothly into (−c, c), the identity near 0 (Gemma 2's soft-capping).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * softcap(tf.tensor1d([0, 100]), 30); // [0, ≈29.9]
 * ```
 */
export const softcap = (x: tf.Tensor, cap: number): tf.Tensor =>
  tf.tidy(() => tf.mul(tf.tanh(tf.div(x, cap)), cap));

/**
 * Attention of queries [B, H, T, h] over keys and values [B, K, S, h] with the additive `bias`
 * [B, 1, T, S]: softmax(cap(q·kᵀ·scale) + bias)·v, heads concatenated → [B, T, H·h]; by default
 * scale = 1/√h and no cap.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * declare const q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D; // [B, H, T, h], [B, K, T, h], [B, K, T, h]
 * declare const mask: tf.Tensor2D; // [B, T], 1 for real tokens
 * const T = q.shape[2];
 * const bias = attentionBias(mask, 0, T, null, null);
 * groupedQueryAttention(q, k, v, bias); // [B, T, H·h]
 * groupedQueryAttention(q, k, v, bias, { scale: 1 / Math.sqrt(256), softcap: 50 }); // gemma2
 * ```
 */
export const groupedQueryAttention = (
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  bias: tf.Tensor4D,
  options: AttentionScoreOptions = {},
): tf.Tensor3D =>
  tf.tidy(() => {
    const [b, heads, t, headDim] = q.shape;
    const kvHeads = k.shape[1], s = k.shape[2];
    if (heads % kvHeads !== 0) throw new RangeError(`attend: ${heads} query heads for ${kvHeads} key heads`);
    const group = heads / kvHeads;
    const grouped = tf.reshape(q, [b, kvHeads, group * t, headDim]);
    const scores = tf.reshape(tf.matMul(grouped, k, false, true), [b, heads, t, s]);
    const scaled = tf.mul(scores, options.scale ?? 1 / Math.sqrt(headDim));
    const capped = options.softcap === undefined || options.softcap === null ? scaled : softcap(scaled, options.softcap);
    const weights = tf.softmax(tf.add(capped, bias));
    const mixed = tf.matMul(tf.reshape(weights, [b, kvHeads, group * t, s]), v); // [B, K, g·T, h]
    return tf.reshape(tf.transpose(tf.reshape(mixed, [b, heads, t, headDim]), [0, 2, 1, 3]), [b, t, heads * headDim]);
  });

/**
 * Split projected rows [B·T, n·h] into heads [B, n, T, h].
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * splitHeads(tf.zeros([6, 8]), 2, 3, 4, 2); // [2, 4, 3, 2]
 * ```
 */
export const splitHeads = (
  x: tf.Tensor2D,
  batch: number,
  time: number,
  heads: number,
  headDim: number,
): tf.Tensor4D =>
  tf.tidy(() => tf.transpose(tf.reshape(x, [batch, time, heads, headDim]), [0, 2, 1, 3]) as tf.Tensor4D);
