/**
 * The `Policy` interface the self-play loop depends on, and its implementation over a
 * {@link Transformer} with an optional LoRA adapter.
 *
 * A policy scores sequences (per-sequence Σ log p of a completion given its prompt, through
 * core/logprob), gives logits of padded batches, decodes incrementally with a {@link KvCache}, and
 * generates (generate.ts). The base policy of an adapted one (adapters off: PEFT's reference) is
 * `policy.withoutAdapter()`; both share the same base weights.
 *
 * Sequence scoring convention: row i is prompt ++ completion; the completion's tokens are scored
 * by the logits at the column before each of them (shift by one). A prompt must hold at least one
 * token (the first token is never scored).
 *
 * @example
 * ```ts
 * import type { Transformer } from "./transformer.ts";
import { headName } from "./weights.ts";
 * declare const model: Transformer; // e.g. from loadHfModel
 * import type { LoraAdapter } from "./lora.ts";
 * declare const adapter: LoraAdapter; // e.g. from createLoraAdapter
 * import { TransformerPolicy } from "./policy.ts";
 * const policy = new TransformerPolicy(model, adapter);
 * const { logProbs, tokenCounts } = await policy.sequenceLogProbs([[1, 2]], [[3, 4, 5]], { batchSize: 8 });
 * const reference = policy.withoutAdapter();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { tfjsOps } from "../backends/tfjs.ts";
import { sequenceLogProbs as sequenceLogProbsOf } from "../core/logprob.ts";
import { checkpointBudgetBytes, layerActivationBytes } from "./checkpoint.ts";
import type { ModelConfig } from "./config.ts";
import { chunkRanges, padBatch, type PaddingSide } from "./batch.ts";
import { generate, type GenerateOptions, type Generation } from "./generate.ts";
import { defaultChunkElements, headTokenLogProbs } from "./head-logprobs.ts";
import { KvCache } from "./kv-cache.ts";
import type { LoraAdapter } from "./lora.ts";
import type { Transformer } from "./transformer.ts";
import { headName } from "./weights.ts";

/** Options of differentiable sequence scoring. */
export interface ScoreTensorOptions {
  /** Training mode (adapter dropout on). Default false. */
  readonly training?: boolean;
  /** Padding side of the scored batch (the result does not depend on it). Default "right". */
  readonly paddingSide?: PaddingSide;
  /**
   * Logit elements (rows × V) per chunk of the head's log-prob computation (head-logprobs.ts), the
   * bound on its memory. Where all the [B, T, V] logits fit in one chunk (and for a model with a
   * final logit soft-cap) they are formed at once, with no recomputation in the backward pass; so
   * Infinity always takes that plain path. Default 2²² (16 MiB of float32).
   */
  readonly headChunkElements?: number;
  /**
   * Activation checkpointing of the layers in a training pass (checkpoint.ts): about 1.5× the work
   * of a LoRA step, a fraction of its memory. "auto" (default) checkpoints a training pass whose
   * layers would keep more than 1.5 GiB of intermediates (`checkpointBudgetBytes`), unless adapter
   * dropout is on (the recomputed pass would draw other masks); true with dropout on is an error.
   */
  readonly checkpointLayers?: boolean | "auto";
}

/** Options of batched sequence scoring. */
export interface ScoreOptions extends ScoreTensorOptions {
  /** Rows per forward pass (memory: batchSize × length × vocab floats of logits). Default 8. */
  readonly batchSize?: number;
}

/** Per-sequence scores on the host. */
export interface SequenceScores {
  /** Σ log p(completion token | prefix) per row. */
  readonly logProbs: number[];
  /** Number of scored (completion) tokens per row. */
  readonly tokenCounts: number[];
}

/** The same as tensors [B] (differentiable in `logProbs`). */
export interface SequenceScoreTensors {
  /** Σ log p(completion token | prefix) per row, [B]. */
  readonly logProbs: tf.Tensor1D;
  /** Number of scored (completion) tokens per row, [B]. */
  readonly tokenCounts: tf.Tensor1D;
}

/** What the self-play loop needs from a language model. */
export interface Policy {
  /** The model's configuration (vocabulary size, EOS ids, …). */
  readonly config: ModelConfig;
  /** Logits [B, T, V] of a padded batch: ids int32 [B, T], mask [B, T] (1 = real token). */
  logits(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, options?: { training?: boolean }): tf.Tensor3D;
  /** An empty key/value cache for {@link Policy.decode}. */
  newCache(): KvCache;
  /**
   * Incremental decoding: run the new tokens `inputIds` [B, T] (mask [B, T]) after the cache's
   * columns, extend the cache, and return the logits [B, V] at column `lastIndex[b]` of the new
   * tokens (default T − 1 for every row).
   */
  decode(
    inputIds: tf.Tensor2D,
    attentionMask: tf.Tensor2D,
    cache: KvCache,
    lastIndex?: readonly number[],
  ): tf.Tensor2D;
  /** Per-row Σ log p(completion | prompt) and completion lengths, computed in batches. */
  sequenceLogProbs(
    prompts: readonly (readonly number[])[],
    completions: readonly (readonly number[])[],
    options?: ScoreOptions,
  ): Promise<SequenceScores>;
  /** The same for one batch, as tensors, differentiable (call it inside `tf.variableGrads`). */
  sequenceLogProbsTensor(
    prompts: readonly (readonly number[])[],
    completions: readonly (readonly number[])[],
    options?: ScoreTensorOptions,
  ): SequenceScoreTensors;
  /** Batched, KV-cached generation (generate.ts): new tokens per prompt, stopping at EOS. */
  generate(prompts: readonly (readonly number[])[], options: GenerateOptions): Promise<Generation>;
  /** The variables training updates (the adapter's, or every trainable base variable). */
  trainableVariables(): tf.Variable[];
}

/** A {@link Policy} over a transformer and an optional LoRA adapter. */
export class TransformerPolicy implements Policy {
  /** The base model (shared with {@link TransformerPolicy.withoutAdapter}). */
  readonly model: Transformer;
  /** The LoRA adapter applied on top of the base, or null for the base itself. */
  readonly adapter: LoraAdapter | null;

  /**
   * @example
   * ```ts
   * import type { Transformer } from "./transformer.ts";
   * declare const model: Transformer; // e.g. from loadHfModel
   * import { createLoraAdapter } from "./lora.ts";
   * const policy = new TransformerPolicy(model, createLoraAdapter(model, { r: 8 }));
   * ```
   */
  constructor(model: Transformer, adapter: LoraAdapter | null = null) {
    if (adapter !== null && adapter.model !== model) {
      throw new Error("TransformerPolicy: the adapter belongs to another model");
    }
    this.model = model;
    this.adapter = adapter;
  }

  /** The base model's configuration. */
  get config(): ModelConfig {
    return this.model.config;
  }

  /** The same base model with adapters off (PEFT's reference policy). */
  withoutAdapter(): TransformerPolicy {
    return new TransformerPolicy(this.model, null);
  }

  logits(
    inputIds: tf.Tensor2D,
    attentionMask: tf.Tensor2D,
    options: { training?: boolean } = {},
  ): tf.Tensor3D {
    return this.model.logits(inputIds, attentionMask, {
      adapter: this.adapter,
      training: options.training ?? false,
    });
  }

  newCache(): KvCache {
    return new KvCache(this.model.config.numLayers);
  }

  decode(
    inputIds: tf.Tensor2D,
    attentionMask: tf.Tensor2D,
    cache: KvCache,
    lastIndex?: readonly number[],
  ): tf.Tensor2D {
    const hidden = this.model.forward(inputIds, attentionMask, { adapter: this.adapter, cache });
    return tf.tidy(() => {
      const [b, t, d] = hidden.shape;
      let last: tf.Tensor2D;
      if (lastIndex === undefined) last = tf.reshape(tf.slice(hidden, [0, t - 1, 0], [b, 1, d]), [b, d]);
      else {
        const rows = tf.tensor1d(lastIndex.map((j, i) => i * t + j), "int32");
        last = tf.gather(tf.reshape(hidden, [b * t, d]), rows) as tf.Tensor2D;
      }
      const out = this.model.head(last) as tf.Tensor2D;
      hidden.dispose();
      return out;
    });
  }

  sequenceLogProbsTensor(
    prompts: readonly (readonly number[])[],
    completions: readonly (readonly number[])[],
    options: ScoreTensorOptions = {},
  ): SequenceScoreTensors {
    if (prompts.length !== completions.length) {
      throw new RangeError(
        `sequenceLogProbs: ${prompts.length} prompts but ${completions.length} completions`,
      );
    }
    prompts.forEach((p, i) => {
      if (p.length === 0) {
        throw new RangeError(`sequenceLogProbs: prompt ${i} is empty (the first token cannot be scored)`);
      }
    });
    const rows = prompts.map((p, i) => [...p, ...completions[i]]);
    const batch = padBatch(rows, {
      side: options.paddingSide ?? "right",
      padId: 0,
      vocabSize: this.config.vocabSize,
    });
    const b = batch.rows, t = batch.width;
    // Columns before `start` hold no completion token and no prediction of one: skip their logits.
    const start = Math.max(0, Math.min(...prompts.map((p, i) => batch.offsets[i] + p.length)) - 1);
    const width = t - start;
    const mask = new Float32Array(b * Math.max(width - 1, 0));
    for (let i = 0; i < b; i++) {
      const first = batch.offsets[i] + prompts[i].length, end = batch.offsets[i] + rows[i].length;
      for (let j = 0; j < width - 1; j++) {
        const column = start + j + 1; // the token column j's logits predict
        mask[i * (width - 1) + j] = column >= first && column < end ? 1 : 0;
      }
    }
    if (width < 2) {
      return tf.tidy(() => ({
        logProbs: tf.zeros([b]) as tf.Tensor1D,
        tokenCounts: tf.zeros([b]) as tf.Tensor1D,
      }));
    }
    return tf.tidy(() => {
      const ids = tf.tensor2d(batch.ids, [b, t], "int32");
      const attention = tf.tensor2d(batch.mask, [b, t]);
      const checkpoint = this.#checkpoint(options, b, t);
      const hidden = this.model.forward(ids, attention, {
        adapter: this.adapter,
        training: options.training ?? false,
        ...(checkpoint ? { checkpoint: this.trainableVariables() } : {}),
      });
      const kept = tf.slice(hidden, [0, start, 0], [b, width, this.config.hiddenSize]);
      const scored = tf.slice(ids, [0, start], [b, width]);
      const completion = tf.tensor2d(mask, [b, width - 1]);
      // The plain path where the logits fit in one chunk anyway (no recomputation in the backward pass).
      const chunkElements = options.headChunkElements ?? defaultChunkElements;
      const oneChunk = b * (width - 1) * this.config.vocabSize <= chunkElements;
      if (oneChunk || this.config.finalLogitSoftcap !== null) {
        const { sum, tokens } = sequenceLogProbsOf(tfjsOps)(this.model.head(kept), scored, completion);
        return { logProbs: sum as tf.Tensor1D, tokenCounts: tokens as tf.Tensor1D };
      }
      const lp = this.#chunkedLogProbs(kept, scored, chunkElements);
      return {
        logProbs: tf.sum(tf.mul(lp, completion), -1) as tf.Tensor1D,
        tokenCounts: tf.sum(completion, -1) as tf.Tensor1D,
      };
    });
  }

  /** Whether a pass over `rows` sequences of `width` tokens checkpoints its layers (see ScoreTensorOptions). */
  #checkpoint(options: ScoreTensorOptions, rows: number, width: number): boolean {
    const wanted = options.checkpointLayers ?? "auto";
    const training = options.training ?? false;
    const dropout = training && (this.adapter?.settings.dropout ?? 0) > 0;
    if (wanted === true && dropout) {
      throw new RangeError(
        "sequenceLogProbs: checkpointLayers needs adapter dropout 0 in training (the recomputed pass would draw other masks)",
      );
    }
    if (wanted !== "auto") return wanted;
    const bytes = this.config.numLayers * layerActivationBytes(this.config, rows, width);
    return training && !dropout && bytes > checkpointBudgetBytes;
  }

  /**
   * Next-token log-probs [B, W − 1] of `scored` [B, W] from the final hidden states `kept` [B, W, d]
   * through the head, a chunk of rows at a time (head-logprobs.ts). Under an adapter the head is
   * frozen, so its weight gets no gradient (nor its product in the backward pass).
   */
  #chunkedLogProbs(kept: tf.Tensor, scored: tf.Tensor2D, chunkElements: number): tf.Tensor2D {
    const [b, width, d] = kept.shape;
    const rows = tf.reshape(tf.slice(kept, [0, 0, 0], [b, width - 1, d]), [-1, d]) as tf.Tensor2D;
    const targets = tf.reshape(tf.slice(scored, [0, 1], [b, width - 1]), [-1]) as tf.Tensor1D;
    const weight = this.model.weights[headName(this.config)];
    const lp = headTokenLogProbs(rows, weight as tf.Tensor2D, targets, {
      chunkElements,
      weightGradient: this.adapter === null && weight.trainable,
    });
    return tf.reshape(lp, [b, width - 1]) as tf.Tensor2D;
  }

  async sequenceLogProbs(
    prompts: readonly (readonly number[])[],
    completions: readonly (readonly number[])[],
    options: ScoreOptions = {},
  ): Promise<SequenceScores> {
    if (prompts.length !== completions.length) {
      throw new RangeError(
        `sequenceLogProbs: ${prompts.length} prompts but ${completions.length} completions`,
      );
    }
    const logProbs: number[] = [], tokenCounts: number[] = [];
    for (const [s, e] of chunkRanges(prompts.length, options.batchSize ?? 8)) {
      const out = this.sequenceLogProbsTensor(prompts.slice(s, e), completions.slice(s, e), options);
      const [lp, n] = await Promise.all([out.logProbs.data(), out.tokenCounts.data()]);
      out.logProbs.dispose(), out.tokenCounts.dispose();
      logProbs.push(...lp), tokenCounts.push(...n);
    }
    return { logProbs, tokenCounts };
  }

  generate(prompts: readonly (readonly number[])[], options: GenerateOptions): Promise<Generation> {
    return generate(this, prompts, options);
  }

  trainableVariables(): tf.Variable[] {
    return this.adapter !== null
      ? this.adapter.variables()
      : this.model.variables().filter((v) => v.trainable);
  }
}
