/**
 * The decoder transformer (GPT-2 and Llama families) over a flat record of tf.Variables keyed by
 * Hugging Face parameter names (see weights.ts for the names and layouts).
 *
 * `forward(inputIds [B, T], attentionMask [B, T])` returns the final-norm hidden states [B, T, d];
 * `logits` applies the output head → [B, T, V]. The mask marks real tokens (1) and pads (0); any
 * mix of left and right padding works, since positions are cumsum(mask) − 1 and pad keys are masked.
 * With a {@link KvCache}, only the new tokens are computed and the cache is extended (incremental
 * decoding); the mask passed is then the new tokens' mask, the cache holds the past one.
 * With a LoRA adapter, every adapted projection adds the adapter's low-rank update.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { makeConfig } from "./config.ts";
 * import { createTransformer } from "./transformer.ts";
 * const model = createTransformer(makeConfig({ family: "gpt2", vocabSize: 50, hiddenSize: 16, numLayers: 2, numHeads: 2 }));
 * const ids = tf.tensor2d([[1, 2, 3]], [1, 3], "int32");
 * const logits = model.logits(ids, tf.ones([1, 3]));  // [1, 3, 50]
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ModelConfig } from "./config.ts";
import { validateConfig } from "./config.ts";
import { attentionBias, groupedQueryAttention, positionsFromMask, softcap, splitHeads } from "./attention.ts";
import { checkpointed, layerVariables } from "./checkpoint.ts";
import { type ForwardOptions, usesWindow } from "./forward-options.ts";
import { appendKv, type LayerKv } from "./kv-cache.ts";
import {
  applyActivation,
  applyRotary,
  gatherEmbeddings,
  layerNorm,
  projectRows,
  rmsNorm,
  ropeInverseFrequencies,
  rotaryAngles,
} from "./layers.ts";
import type { RotaryAngles } from "./layers.ts";
import { embeddingName, headName, layerPrefix, parameterShapes, projectionLayout } from "./weights.ts";
import type { WeightLayout } from "./weights.ts";

export type { ForwardOptions, ProjectionAdapter } from "./forward-options.ts";

let instanceCounter = 0;

/** tf.tidy for any result shape (tfjs types its result as a TensorContainer). */
const tidy = <R>(fn: () => R): R => tf.tidy(fn as () => tf.TensorContainer) as R;

/** A decoder transformer: config, weights (tf.Variables by Hugging Face name), forward pass. */
export class Transformer {
  /** Dimensions, norms, positions and biases of the model. */
  readonly config: ModelConfig;
  /** The parameters, keyed by Hugging Face name (weights.ts documents names and layouts). */
  readonly weights: Readonly<Record<string, tf.Variable>>;
  /** A unique prefix of this instance's tf.Variable names. */
  readonly id: string;
  readonly #layout: WeightLayout;
  readonly #inverseFrequencies: tf.Tensor1D | null;
  #disposed = false;

  /**
   * A model over existing tensors (keyed by Hugging Face name, in the Hugging Face layout). Every
   * parameter of the config must be present with its shape; the tensors become variables (no copy)
   * and the caller's tensors may be disposed afterwards.
   *
   * @example
   * ```ts
   * import * as tf from "@tensorflow/tfjs";
   * import type { ModelConfig } from "./config.ts";
   * declare const config: ModelConfig;
   * declare const tensorsByName: Map<string, tf.Tensor>; // every parameter by its Hugging Face name
   * const model = new Transformer(config, tensorsByName, { trainable: false });
   * ```
   */
  constructor(
    config: ModelConfig,
    tensors: ReadonlyMap<string, tf.Tensor>,
    options: { trainable?: boolean } = {},
  ) {
    this.config = validateConfig(config);
    this.id = `transformer_${instanceCounter++}`;
    this.#layout = projectionLayout(config);
    const specs = parameterShapes(config);
    const weights: Record<string, tf.Variable> = {};
    for (const [name, spec] of specs) {
      const t = tensors.get(name);
      if (t === undefined) throw new RangeError(`Transformer: missing parameter ${name} [${spec.shape}]`);
      if (t.shape.join() !== spec.shape.join()) {
        throw new RangeError(
          `Transformer: parameter ${name} has shape [${t.shape}], the config needs [${spec.shape}]`,
        );
      }
      const value = t.dtype === "float32" ? t : tf.cast(t, "float32");
      weights[name] = tf.variable(value, options.trainable ?? true, `${this.id}/${name}`);
      if (value !== t) value.dispose();
    }
    this.weights = weights;
    this.#inverseFrequencies = config.family === "llama"
      ? tf.keep(tf.tensor1d(ropeInverseFrequencies(config)))
      : null;
  }

  /** All parameter variables, in the stable order of weights.ts. */
  variables(): tf.Variable[] {
    return Object.values(this.weights);
  }

  /** Make every base parameter trainable (full fine-tuning) or frozen (LoRA). */
  setTrainable(trainable: boolean): void {
    for (const v of this.variables()) v.trainable = trainable;
  }

  /** Free the parameters. */
  dispose(): void {
    if (this.#disposed) return;
    for (const v of this.variables()) v.dispose();
    this.#inverseFrequencies?.dispose();
    this.#disposed = true;
  }

  /**
   * Final-norm hidden states [B, T, d] of `inputIds` (int32 [B, T]) under `attentionMask` ([B, T], 1 for
   * real tokens; default all ones). With `options.cache`, the cache is extended by these T columns.
   *
   * @example
   * ```ts
   * import * as tf from "@tensorflow/tfjs";
   * import { makeConfig } from "./config.ts";
   * const model = createTransformer(makeConfig({ family: "llama", vocabSize: 64, hiddenSize: 32, numLayers: 2, numHeads: 4 }), { seed: 1 });
   * const ids = tf.tensor2d([[1, 2, 3]], undefined, "int32"); // [B = 1, T = 3]
   * const mask = tf.ones([1, 3]) as tf.Tensor2D;
   * const h = model.forward(ids, mask); // [B, T, d]
   * ```
   */
  forward(inputIds: tf.Tensor2D, attentionMask?: tf.Tensor2D, options: ForwardOptions = {}): tf.Tensor3D {
    if (this.#disposed) throw new Error("Transformer: used after dispose()");
    const [b, t] = inputIds.shape;
    const cache = options.cache;
    if (cache !== undefined && cache.length > 0 && cache.batchSize !== b) {
      throw new RangeError(`Transformer.forward: batch of ${b} rows with a cache of ${cache.batchSize} rows`);
    }
    const past = cache?.length ?? 0;
    if (this.config.family === "gpt2" && past + t > this.config.maxPositions) {
      throw new RangeError(
        `Transformer.forward: ${past + t} columns exceed gpt2's ${this.config.maxPositions} positions`,
      );
    }
    const result = tidy(() => {
      const mask = attentionMask === undefined
        ? tf.ones([b, t]) as tf.Tensor2D
        : tf.cast(attentionMask, "float32");
      const pastMask = cache?.mask ?? null;
      const fullMask = pastMask === null ? mask : tf.concat([pastMask, mask], 1) as tf.Tensor2D;
      const allPositions = positionsFromMask(fullMask);
      const positions = tf.slice(allPositions, [0, past], [b, t]) as tf.Tensor2D;
      // Two masks when only some layers use the window (gemma2): the causal one and the windowed one.
      const windowed = attentionBias(fullMask, past, t, this.config.slidingWindow, allPositions);
      const causal = this.config.slidingWindow === null || this.config.slidingWindowLayers === "all"
        ? windowed
        : attentionBias(fullMask, past, t, null, null);
      const angles = this.#inverseFrequencies === null
        ? null
        : rotaryAngles(positions, this.#inverseFrequencies);
      let x = this.#gatherEmbeddings(inputIds, positions);
      const layers: LayerKv[] = [];
      for (let i = 0; i < this.config.numLayers; i++) {
        const bias = usesWindow(this.config, i) ? windowed : causal;
        if (cache !== undefined || options.checkpoint === undefined) {
          // A tidy per layer: without a gradient tape a layer's intermediates go at its end, not the pass's.
          const step = tidy(() => this.#block(i, x, b, t, bias, angles, cache?.layer(i) ?? null, options));
          x = step.x, layers.push(step.kv);
        } else x = this.#checkpointedBlock(i, x, bias, angles, options);
      }
      const hidden = this.#finalNorm(x);
      return { hidden: tf.reshape(hidden, [b, t, this.config.hiddenSize]) as tf.Tensor3D, layers, fullMask };
    });
    if (cache !== undefined) {
      for (const { keys, values } of result.layers) tf.keep(keys), tf.keep(values);
      cache.commit(result.layers, tf.keep(result.fullMask));
    } else {
      for (const { keys, values } of result.layers) keys.dispose(), values.dispose();
      result.fullMask.dispose();
    }
    return result.hidden;
  }

  /**
   * Output head: hidden states [..., d] → logits [..., V] (the embedding matrix when tied).
   *
   * @example
   * ```ts
   * import * as tf from "@tensorflow/tfjs";
   * import { makeConfig } from "./config.ts";
   * const model = createTransformer(makeConfig({ family: "llama", vocabSize: 64, hiddenSize: 32, numLayers: 2, numHeads: 4 }), { seed: 1 });
   * const lastHidden = tf.zeros([1, 32]); // [B, d]: the final hidden state of each sequence
   * const next = model.head(lastHidden); // [B, V]
   * ```
   */
  head(hidden: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const d = this.config.hiddenSize;
      const rows = tf.reshape(hidden, [-1, d]) as tf.Tensor2D;
      const raw = tf.matMul(rows, this.weights[headName(this.config)], false, true);
      const cap = this.config.finalLogitSoftcap;
      const logits = cap === null ? raw : softcap(raw, cap);
      return tf.reshape(logits, [...hidden.shape.slice(0, -1), this.config.vocabSize]);
    });
  }

  /**
   * Logits [B, T, V] of `inputIds` [B, T] (int32) under `attentionMask` [B, T].
   *
   * @example
   * ```ts
   * import * as tf from "@tensorflow/tfjs";
   * import { makeConfig } from "./config.ts";
   * import { createLoraAdapter } from "./lora.ts";
   * const model = createTransformer(makeConfig({ family: "llama", vocabSize: 64, hiddenSize: 32, numLayers: 2, numHeads: 4 }), { seed: 1 });
   * const ids = tf.tensor2d([[1, 2, 3]], undefined, "int32"); // [B = 1, T = 3]
   * const mask = tf.ones([1, 3]) as tf.Tensor2D;
   * const adapter = createLoraAdapter(model, { r: 4 });
   * const logits = model.logits(ids, mask, { adapter }); // [B, T, V]
   * ```
   */
  logits(inputIds: tf.Tensor2D, attentionMask?: tf.Tensor2D, options: ForwardOptions = {}): tf.Tensor3D {
    const hidden = this.forward(inputIds, attentionMask, options);
    const out = this.head(hidden) as tf.Tensor3D;
    hidden.dispose();
    return out;
  }

  /** Layer i run by checkpoint.ts: its intermediates are recomputed in the backward pass. */
  #checkpointedBlock(i: number, x: tf.Tensor2D, bias: tf.Tensor4D, rope: RotaryAngles | null, options: ForwardOptions) {
    const [b, t] = [bias.shape[0], bias.shape[2]];
    const run = (input: tf.Tensor2D, [mask, cos, sin]: readonly tf.Tensor[]) => {
      const angles = cos === undefined ? null : { cos, sin } as RotaryAngles;
      return this.#block(i, input, b, t, mask as tf.Tensor4D, angles, null, options).x;
    };
    const constants = rope === null ? [bias] : [bias, rope.cos, rope.sin];
    return checkpointed(run, x, constants, layerVariables(options.checkpoint ?? [], layerPrefix(this.config, i)));
  }

  #w(name: string): tf.Variable {
    const w = this.weights[name];
    if (w === undefined) throw new RangeError(`Transformer: no parameter ${name}`);
    return w;
  }

  #project(module: string, x: tf.Tensor2D, options: ForwardOptions): tf.Tensor2D {
    const bias = this.weights[`${module}.bias`] ?? null;
    const base = projectRows(x, this.#w(`${module}.weight`), bias, this.#layout);
    const adapter = options.adapter;
    if (adapter === undefined || adapter === null || adapter.merged) return base;
    const delta = adapter.delta(module, x, options.training ?? false);
    return delta === null ? base : tf.add(base, delta);
  }

  #gatherEmbeddings(inputIds: tf.Tensor2D, positions: tf.Tensor2D): tf.Tensor2D {
    const ids = tf.reshape(tf.cast(inputIds, "int32"), [-1]) as tf.Tensor1D;
    let x = gatherEmbeddings(this.#w(embeddingName(this.config)) as tf.Tensor2D, ids);
    if (this.config.embeddingScale !== 1) x = tf.mul(x, this.config.embeddingScale);
    if (this.config.family === "gpt2") {
      const pos = tf.reshape(tf.cast(positions, "int32"), [-1]) as tf.Tensor1D;
      x = tf.add(x, gatherEmbeddings(this.#w("transformer.wpe.weight") as tf.Tensor2D, pos));
    }
    return x;
  }

  #norm(name: string, x: tf.Tensor2D): tf.Tensor2D {
    const c = this.config;
    return (c.family === "gpt2"
      ? layerNorm(x, this.#w(`${name}.weight`), this.#w(`${name}.bias`), c.normEps)
      : rmsNorm(x, this.#w(`${name}.weight`), c.normEps, c.normWeightOffset)) as tf.Tensor2D;
  }

  #finalNorm(x: tf.Tensor2D): tf.Tensor2D {
    return this.#norm(this.config.family === "gpt2" ? "transformer.ln_f" : "model.norm", x);
  }

  #block(
    i: number,
    x: tf.Tensor2D,
    b: number,
    t: number,
    bias: tf.Tensor4D,
    angles: RotaryAngles | null,
    past: LayerKv | null,
    options: ForwardOptions,
  ): { x: tf.Tensor2D; kv: LayerKv } {
    const c = this.config, p = layerPrefix(c, i), headDim = c.headDim;
    const gpt2 = c.family === "gpt2";
    const normed = this.#norm(gpt2 ? `${p}.ln_1` : `${p}.input_layernorm`, x);
    let q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D;
    if (gpt2) {
      const [q2, k2, v2] = tf.split(
        this.#project(`${p}.attn.c_attn`, normed, options),
        3,
        1,
      ) as tf.Tensor2D[];
      q = splitHeads(q2, b, t, c.numHeads, headDim);
      k = splitHeads(k2, b, t, c.numHeads, headDim);
      v = splitHeads(v2, b, t, c.numHeads, headDim);
    } else {
      q = splitHeads(this.#project(`${p}.self_attn.q_proj`, normed, options), b, t, c.numHeads, headDim);
      k = splitHeads(
        this.#project(`${p}.self_attn.k_proj`, normed, options),
        b,
        t,
        c.numKeyValueHeads,
        headDim,
      );
      v = splitHeads(
        this.#project(`${p}.self_attn.v_proj`, normed, options),
        b,
        t,
        c.numKeyValueHeads,
        headDim,
      );
      q = applyRotary(q, angles!);
      k = applyRotary(k, angles!);
    }
    const kv = appendKv(past, k, v);
    const scores = {
      scale: 1 / Math.sqrt(c.queryPreAttnScalar ?? headDim),
      softcap: c.attnLogitSoftcap,
    };
    const attended = tf.reshape(groupedQueryAttention(q, kv.keys, kv.values, bias, scores), [
      b * t,
      c.numHeads * headDim,
    ]) as tf.Tensor2D;
    let out = this.#project(gpt2 ? `${p}.attn.c_proj` : `${p}.self_attn.o_proj`, attended, options);
    if (c.sandwichNorms) out = this.#norm(`${p}.post_attention_layernorm`, out);
    const x1 = tf.add(x, out) as tf.Tensor2D;
    const normed2 = this.#norm(
      gpt2 ? `${p}.ln_2` : c.sandwichNorms ? `${p}.pre_feedforward_layernorm` : `${p}.post_attention_layernorm`,
      x1,
    );
    let mlp: tf.Tensor2D;
    if (gpt2) {
      const hidden = applyActivation(
        this.#project(`${p}.mlp.c_fc`, normed2, options),
        c.activation,
      ) as tf.Tensor2D;
      mlp = this.#project(`${p}.mlp.c_proj`, hidden, options);
    } else {
      const gate = applyActivation(this.#project(`${p}.mlp.gate_proj`, normed2, options), c.activation);
      const up = this.#project(`${p}.mlp.up_proj`, normed2, options);
      mlp = this.#project(`${p}.mlp.down_proj`, tf.mul(gate, up) as tf.Tensor2D, options);
      if (c.sandwichNorms) mlp = this.#norm(`${p}.post_feedforward_layernorm`, mlp);
    }
    return { x: tf.add(x1, mlp) as tf.Tensor2D, kv };
  }
}

/** Options of {@link createTransformer}. */
export interface InitOptions {
  /** Seed of the random initialization (default 0). */
  readonly seed?: number;
  /** Standard deviation of the normal initialization of matrices (default 0.02, as GPT-2). */
  readonly initStd?: number;
  /** Whether the base parameters are trainable (default true). */
  readonly trainable?: boolean;
}

/**
 * A freshly initialized model: matrices ~ N(0, initStd²) (seeded), biases 0, norm scales 1 (0 for
 * gemma's (1 + w) convention).
 *
 * @example
 * ```ts
 * import { makeConfig } from "./config.ts";
 * const model = createTransformer(makeConfig({ family: "llama", vocabSize: 64, hiddenSize: 32, numLayers: 2, numHeads: 4 }), { seed: 1 });
 * ```
 */
export const createTransformer = (config: ModelConfig, options: InitOptions = {}): Transformer => {
  const seed = options.seed ?? 0, std = options.initStd ?? 0.02;
  const tensors = new Map<string, tf.Tensor>();
  let k = 0;
  for (const [name, spec] of parameterShapes(config)) {
    const shape = [...spec.shape];
    tensors.set(
      name,
      spec.kind === "matrix"
        ? tf.randomNormal(shape, 0, std, "float32", seed * 100003 + k++)
        : spec.kind === "bias" || config.normWeightOffset !== 0
        ? tf.zeros(shape)
        : tf.ones(shape),
    );
  }
  const model = new Transformer(config, tensors, { trainable: options.trainable ?? true });
  for (const t of tensors.values()) t.dispose();
  return model;
};
