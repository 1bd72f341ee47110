/**
 * Parameter names and shapes: the model's weights are a flat record keyed by the Hugging Face
 * parameter name, in the Hugging Face layout, so loading a checkpoint is a copy and saving one is a
 * dump. With L layers (i = 0 … L − 1), d = hiddenSize, V = vocabSize, P = maxPositions,
 * H·h = numHeads × headDim, K·h = numKeyValueHeads × headDim, F = intermediateSize:
 *
 * GPT-2 (Conv1D weights are [in, out]):
 * ```
 * transformer.wte.weight               [V, d]      token embeddings (also the head when tied)
 * transformer.wpe.weight               [P, d]      learned positions
 * transformer.h.i.ln_1.{weight,bias}   [d]
 * transformer.h.i.attn.c_attn.{weight [d, 3d], bias [3d]}   fused q | k | v
 * transformer.h.i.attn.c_proj.{weight [d, d], bias [d]}
 * transformer.h.i.ln_2.{weight,bias}   [d]
 * transformer.h.i.mlp.c_fc.{weight [d, F], bias [F]}
 * transformer.h.i.mlp.c_proj.{weight [F, d], bias [d]}
 * transformer.ln_f.{weight,bias}       [d]
 * lm_head.weight                       [V, d]      only when not tied
 * ```
 * Llama family (Linear weights are [out, in]):
 * ```
 * model.embed_tokens.weight                       [V, d]
 * model.layers.i.input_layernorm.weight           [d]
 * model.layers.i.self_attn.q_proj.weight          [H·h, d]   (+ .bias [H·h] with qkvBias)
 * model.layers.i.self_attn.k_proj.weight          [K·h, d]   (+ .bias with qkvBias)
 * model.layers.i.self_attn.v_proj.weight          [K·h, d]   (+ .bias with qkvBias)
 * model.layers.i.self_attn.o_proj.weight          [d, H·h]   (+ .bias with outputBias)
 * model.layers.i.post_attention_layernorm.weight  [d]
 * model.layers.i.mlp.gate_proj.weight             [F, d]     (+ .bias with mlpBias, also up/down)
 * model.layers.i.mlp.up_proj.weight               [F, d]
 * model.layers.i.mlp.down_proj.weight             [d, F]
 * model.norm.weight                               [d]
 * lm_head.weight                                  [V, d]     only when not tied
 * ```
 * Gemma 2 (`sandwichNorms`) adds, per layer, `pre_feedforward_layernorm.weight` and
 * `post_feedforward_layernorm.weight` [d] after `post_attention_layernorm` (which there normalizes
 * the attention output, not the MLP input).
 *
 * @example
 * ```ts
 * import { parameterShapes } from "./weights.ts";
 * parameterShapes(config).get("transformer.h.0.attn.c_attn.weight"); // [d, 3d]
 * ```
 *
 * @module
 */
import type { ModelConfig } from "./config.ts";

/** How a projection's weight is stored: GPT-2 Conv1D [in, out] or torch Linear [out, in]. */
export type WeightLayout = "in_out" | "out_in";

/** The weight layout the family uses for every projection. */
export const projectionLayout = (config: ModelConfig): WeightLayout =>
  config.family === "gpt2" ? "in_out" : "out_in";

/** Name prefix of layer `i` (e.g. `transformer.h.3` or `model.layers.3`). */
export const layerPrefix = (config: ModelConfig, i: number): string =>
  config.family === "gpt2" ? `transformer.h.${i}` : `model.layers.${i}`;

/** Name of the token embedding matrix [V, d]. */
export const embeddingName = (config: ModelConfig): string =>
  config.family === "gpt2" ? "transformer.wte.weight" : "model.embed_tokens.weight";

/** Name of the output head matrix [V, d] (the embedding when tied). */
export const headName = (config: ModelConfig): string =>
  config.tieWordEmbeddings ? embeddingName(config) : "lm_head.weight";

/** One projection (a Linear or Conv1D module): its module path and its input and output widths. */
export interface Projection {
  /** The Hugging Face module path, e.g. `model.layers.0.self_attn.q_proj` (weight = path + ".weight"). */
  readonly module: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias: boolean;
}

/**
 * Every projection of the model (the modules LoRA can adapt), in layer order.
 *
 * @example
 * ```ts
 * projections(config).map((p) => p.module); // ["model.layers.0.self_attn.q_proj", ...]
 * ```
 */
export const projections = (config: ModelConfig): Projection[] => {
  const d = config.hiddenSize, f = config.intermediateSize;
  const q = config.numHeads * config.headDim, kv = config.numKeyValueHeads * config.headDim;
  const out: Projection[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const p = layerPrefix(config, i);
    if (config.family === "gpt2") {
      out.push(
        { module: `${p}.attn.c_attn`, inFeatures: d, outFeatures: 3 * d, bias: true },
        { module: `${p}.attn.c_proj`, inFeatures: d, outFeatures: d, bias: true },
        { module: `${p}.mlp.c_fc`, inFeatures: d, outFeatures: f, bias: true },
        { module: `${p}.mlp.c_proj`, inFeatures: f, outFeatures: d, bias: true },
      );
    } else {
      out.push(
        { module: `${p}.self_attn.q_proj`, inFeatures: d, outFeatures: q, bias: config.qkvBias },
        { module: `${p}.self_attn.k_proj`, inFeatures: d, outFeatures: kv, bias: config.qkvBias },
        { module: `${p}.self_attn.v_proj`, inFeatures: d, outFeatures: kv, bias: config.qkvBias },
        { module: `${p}.self_attn.o_proj`, inFeatures: q, outFeatures: d, bias: config.outputBias },
        { module: `${p}.mlp.gate_proj`, inFeatures: d, outFeatures: f, bias: config.mlpBias },
        { module: `${p}.mlp.up_proj`, inFeatures: d, outFeatures: f, bias: config.mlpBias },
        { module: `${p}.mlp.down_proj`, inFeatures: f, outFeatures: d, bias: config.mlpBias },
      );
    }
  }
  return out;
};

/** What a parameter is, for initialization: a projection/embedding matrix, a bias, or a norm scale. */
export type ParameterKind = "matrix" | "bias" | "norm";

/** One parameter: its shape in the Hugging Face layout and its kind. */
export interface ParameterSpec {
  readonly shape: readonly number[];
  readonly kind: ParameterKind;
}

/**
 * All parameters of the model, keyed by Hugging Face name, in a stable order (embeddings, layers,
 * final norm, head).
 *
 * @example
 * ```ts
 * [...parameterShapes(config).keys()].length; // 4 + 12·L for a GPT-2 with a tied head
 * ```
 */
export const parameterShapes = (config: ModelConfig): Map<string, ParameterSpec> => {
  const d = config.hiddenSize, v = config.vocabSize;
  const specs = new Map<string, ParameterSpec>();
  const matrix = (name: string, shape: number[]): void => void specs.set(name, { shape, kind: "matrix" });
  const bias = (name: string, n: number): void => void specs.set(name, { shape: [n], kind: "bias" });
  const norm = (name: string, withBias: boolean): void => {
    specs.set(`${name}.weight`, { shape: [d], kind: "norm" });
    if (withBias) bias(`${name}.bias`, d);
  };
  const gpt2 = config.family === "gpt2";
  const layout = projectionLayout(config);
  matrix(embeddingName(config), [v, d]);
  if (gpt2) matrix("transformer.wpe.weight", [config.maxPositions, d]);
  const byLayer = new Map<number, Projection[]>();
  const all = projections(config);
  const perLayer = all.length / config.numLayers;
  for (let i = 0; i < config.numLayers; i++) byLayer.set(i, all.slice(i * perLayer, (i + 1) * perLayer));
  const addProjection = (p: Projection): void => {
    matrix(
      `${p.module}.weight`,
      layout === "in_out" ? [p.inFeatures, p.outFeatures] : [p.outFeatures, p.inFeatures],
    );
    if (p.bias) bias(`${p.module}.bias`, p.outFeatures);
  };
  for (let i = 0; i < config.numLayers; i++) {
    const p = layerPrefix(config, i);
    const [a, b, c, e, f, g, h] = byLayer.get(i)!;
    if (gpt2) {
      norm(`${p}.ln_1`, true);
      addProjection(a), addProjection(b);
      norm(`${p}.ln_2`, true);
      addProjection(c), addProjection(e);
    } else {
      norm(`${p}.input_layernorm`, false);
      addProjection(a), addProjection(b), addProjection(c), addProjection(e);
      norm(`${p}.post_attention_layernorm`, false);
      if (config.sandwichNorms) norm(`${p}.pre_feedforward_layernorm`, false), norm(`${p}.post_feedforward_layernorm`, false);
      addProjection(f), addProjection(g), addProjection(h);
    }
  }
  norm(gpt2 ? "transformer.ln_f" : "model.norm", gpt2);
  if (!config.tieWordEmbeddings) matrix("lm_head.weight", [v, d]);
  return specs;
};

/**
 * Number of scalar parameters (a tied head counted once).
 *
 * @example
 * ```ts
 * parameterCount(configFromHf(gpt2Json)); // 124439808 for gpt2 (124M)
 * ```
 */
export const parameterCount = (config: ModelConfig): number => {
  let n = 0;
  for (const { shape } of parameterShapes(config).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
};
