/**
 * Model configuration: one plain record for the two decoder families this library implements, and
 * the mapping from and to a Hugging Face `config.json`.
 *
 * - `gpt2` family: learned absolute positions, LayerNorm (weight and bias), tanh-GELU MLP, a fused
 *   query/key/value projection `c_attn`, Conv1D weights stored [in, out], tied head by default.
 * - `llama` family (llama, mistral, qwen2, gemma): RMSNorm, rotary position embeddings (RoPE, Hugging
 *   Face rotate-half convention) with a configurable base θ, a gated MLP (SwiGLU; GeGLU for gemma),
 *   grouped-query attention, Linear weights stored [out, in]; qwen2 adds biases on q, k, v; gemma
 *   scales the embeddings by √d and its RMSNorm multiplies by (1 + w).
 *
 * The Hugging Face `config.json` mapping is in hf-config.ts.
 *
 * @example
 * ```ts
 * import { makeConfig } from "./config.ts";
 * const config = makeConfig({ family: "gpt2", vocabSize: 100, hiddenSize: 32, numLayers: 2, numHeads: 4 });
 * console.log(config.intermediateSize); // 128
 * ```
 *
 * @module
 */

/** The layout family: which blocks and parameter names the model has. */
export type ModelFamily = "gpt2" | "llama";

/** The Hugging Face `model_type` values this library loads. */
export type HfModelType = "gpt2" | "llama" | "mistral" | "qwen2" | "gemma" | "gemma2";

/** Every `model_type` that {@link configFromHf} accepts. */
export const supportedModelTypes: readonly HfModelType[] = ["gpt2", "llama", "mistral", "qwen2", "gemma", "gemma2"];

/** Which layers the sliding window applies to: every layer (mistral) or layers 0, 2, 4, … (gemma2). */
export type SlidingWindowLayers = "all" | "even";

/** The MLP non-linearity: `gelu_tanh` is GPT-2's `gelu_new` (= torch's gelu(approximate="tanh")). */
export type Activation = "gelu_tanh" | "gelu" | "silu" | "relu";

/** RoPE frequency scaling (Hugging Face `rope_scaling`): none, linear, or Llama 3's piecewise rule. */
export type RopeScaling =
  | { readonly type: "linear"; readonly factor: number }
  | {
    readonly type: "llama3";
    readonly factor: number;
    readonly lowFreqFactor: number;
    readonly highFreqFactor: number;
    readonly originalMaxPositions: number;
  };

/** The full description of a decoder transformer (dimensions, norms, positions, biases). */
export interface ModelConfig {
  /** Layout family; decides the block structure and the parameter names. */
  readonly family: ModelFamily;
  /** The Hugging Face `model_type` written back by `saveHfModel`. */
  readonly modelType: HfModelType;
  readonly vocabSize: number;
  /** Width d of the residual stream. */
  readonly hiddenSize: number;
  readonly numLayers: number;
  /** Query heads H. */
  readonly numHeads: number;
  /** Key/value heads H_kv (H_kv = H: multi-head; H_kv < H: grouped-query attention). */
  readonly numKeyValueHeads: number;
  /** Per-head width (d / H unless the checkpoint says otherwise, e.g. gemma's 256). */
  readonly headDim: number;
  /** Hidden width of the MLP. */
  readonly intermediateSize: number;
  /** Longest sequence (positions) the model supports; GPT-2's learned table has this many rows. */
  readonly maxPositions: number;
  /** ε of LayerNorm (gpt2) or RMSNorm (llama family). */
  readonly normEps: number;
  /** The output head reuses the token embedding matrix (no separate `lm_head.weight`). */
  readonly tieWordEmbeddings: boolean;
  readonly activation: Activation;
  /** RoPE base θ (llama family). */
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling | null;
  /** Biases on the q, k, v projections (qwen2; llama with `attention_bias`). */
  readonly qkvBias: boolean;
  /** Bias on the attention output projection (llama with `attention_bias`). */
  readonly outputBias: boolean;
  /** Biases on the gated MLP projections (llama with `mlp_bias`). */
  readonly mlpBias: boolean;
  /** RMSNorm multiplies by (offset + w): 0 for llama/mistral/qwen2, 1 for gemma. */
  readonly normWeightOffset: number;
  /** The token embeddings are multiplied by this (gemma: √d, else 1). */
  readonly embeddingScale: number;
  /**
   * A query at position p sees keys at positions p − w + 1 … p, w of them counting itself (mistral,
   * gemma2; the rule of Hugging Face's sliding-window mask); null = no window.
   */
  readonly slidingWindow: number | null;
  /** The layers the window applies to (HF gemma2: even layer indices; mistral: all). */
  readonly slidingWindowLayers: SlidingWindowLayers;
  /**
   * Gemma 2's block: `post_attention_layernorm` normalizes the attention output before the residual
   * add, `pre_feedforward_layernorm` is the MLP's input norm and `post_feedforward_layernorm`
   * normalizes the MLP output. False: `post_attention_layernorm` is the MLP's input norm (llama).
   */
  readonly sandwichNorms: boolean;
  /** Attention scores are q·k/√s with s = this (HF `query_pre_attn_scalar`); null = headDim. */
  readonly queryPreAttnScalar: number | null;
  /** Attention scores s → c·tanh(s/c) before the mask (HF `attn_logit_softcapping`); null = none. */
  readonly attnLogitSoftcap: number | null;
  /** Output logits z → c·tanh(z/c) (HF `final_logit_softcapping`); null = none. */
  readonly finalLogitSoftcap: number | null;
  readonly bosTokenId: number | null;
  /** End-of-sequence id(s); generation stops at any of them. */
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number | null;
}

/**
 * A compact set of dimensions for {@link makeConfig}; the rest is filled by family defaults. Each
 * field means what the {@link ModelConfig} field of the same name means.
 */
export interface ConfigSpec {
  readonly family: ModelFamily;
  readonly modelType?: HfModelType;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKeyValueHeads?: number;
  readonly headDim?: number;
  readonly intermediateSize?: number;
  readonly maxPositions?: number;
  readonly normEps?: number;
  readonly tieWordEmbeddings?: boolean;
  readonly activation?: Activation;
  readonly ropeTheta?: number;
  readonly ropeScaling?: RopeScaling | null;
  readonly qkvBias?: boolean;
  readonly outputBias?: boolean;
  readonly mlpBias?: boolean;
  readonly normWeightOffset?: number;
  readonly embeddingScale?: number;
  readonly slidingWindow?: number | null;
  readonly slidingWindowLayers?: SlidingWindowLayers;
  readonly sandwichNorms?: boolean;
  readonly queryPreAttnScalar?: number | null;
  readonly attnLogitSoftcap?: number | null;
  readonly finalLogitSoftcap?: number | null;
  readonly bosTokenId?: number | null;
  readonly eosTokenIds?: readonly number[];
  readonly padTokenId?: number | null;
}

/**
 * A full {@link ModelConfig} from a few dimensions, with each family's usual defaults (GPT-2:
 * 4d MLP, ε 1e-5, tied head; llama: ε 1e-6, θ 10000, untied head, SwiGLU). Validates the result.
 *
 * @example
 * ```ts
 * const tiny = makeConfig({ family: "llama", vocabSize: 64, hiddenSize: 32, numLayers: 2, numHeads: 4, numKeyValueHeads: 2 });
 * ```
 */
export const makeConfig = (spec: ConfigSpec): ModelConfig => {
  const gpt2 = spec.family === "gpt2";
  const config: ModelConfig = {
    family: spec.family,
    modelType: spec.modelType ?? (gpt2 ? "gpt2" : "llama"),
    vocabSize: spec.vocabSize,
    hiddenSize: spec.hiddenSize,
    numLayers: spec.numLayers,
    numHeads: spec.numHeads,
    numKeyValueHeads: spec.numKeyValueHeads ?? spec.numHeads,
    headDim: spec.headDim ?? spec.hiddenSize / spec.numHeads,
    intermediateSize: spec.intermediateSize ??
      (gpt2 ? 4 * spec.hiddenSize : Math.ceil((8 * spec.hiddenSize) / 3)),
    maxPositions: spec.maxPositions ?? (gpt2 ? 1024 : 2048),
    normEps: spec.normEps ?? (gpt2 ? 1e-5 : 1e-6),
    tieWordEmbeddings: spec.tieWordEmbeddings ?? gpt2,
    activation: spec.activation ?? (gpt2 ? "gelu_tanh" : "silu"),
    ropeTheta: spec.ropeTheta ?? 10000,
    ropeScaling: spec.ropeScaling ?? null,
    qkvBias: spec.qkvBias ?? gpt2,
    outputBias: spec.outputBias ?? gpt2,
    mlpBias: spec.mlpBias ?? gpt2,
    normWeightOffset: spec.normWeightOffset ?? 0,
    embeddingScale: spec.embeddingScale ?? 1,
    slidingWindow: spec.slidingWindow ?? null,
    slidingWindowLayers: spec.slidingWindowLayers ?? "all",
    sandwichNorms: spec.sandwichNorms ?? false,
    queryPreAttnScalar: spec.queryPreAttnScalar ?? null,
    attnLogitSoftcap: spec.attnLogitSoftcap ?? null,
    finalLogitSoftcap: spec.finalLogitSoftcap ?? null,
    bosTokenId: spec.bosTokenId ?? null,
    eosTokenIds: spec.eosTokenIds ?? [],
    padTokenId: spec.padTokenId ?? null,
  };
  return validateConfig(config);
};

const positiveInt = (name: string, v: number): void => {
  if (!Number.isInteger(v) || v <= 0) {
    throw new RangeError(`model config: ${name} must be a positive integer, got ${v}`);
  }
};

/**
 * Check a config's internal consistency (positive integer sizes, H divisible by H_kv, even head width
 * for RoPE, GPT-2 width = H × head width) and return it; throws a RangeError naming the field.
 *
 * @example
 * ```ts
 * validateConfig({ ...config, numKeyValueHeads: 3 }); // throws: numHeads 4 is not a multiple of numKeyValueHeads 3
 * ```
 */
export const validateConfig = (config: ModelConfig): ModelConfig => {
  for (
    const k of [
      "vocabSize",
      "hiddenSize",
      "numLayers",
      "numHeads",
      "numKeyValueHeads",
      "headDim",
      "intermediateSize",
      "maxPositions",
    ] as const
  ) positiveInt(k, config[k]);
  if (config.numHeads % config.numKeyValueHeads !== 0) {
    throw new RangeError(
      `model config: numHeads ${config.numHeads} is not a multiple of numKeyValueHeads ${config.numKeyValueHeads}`,
    );
  }
  if (config.family === "gpt2") {
    if (config.numHeads * config.headDim !== config.hiddenSize) {
      throw new RangeError(
        `model config: gpt2 needs hiddenSize (${config.hiddenSize}) = numHeads (${config.numHeads}) × headDim (${config.headDim})`,
      );
    }
    if (config.numKeyValueHeads !== config.numHeads) {
      throw new RangeError(
        "model config: gpt2 has no grouped-query attention (numKeyValueHeads must equal numHeads)",
      );
    }
  } else if (config.headDim % 2 !== 0) {
    throw new RangeError(`model config: RoPE needs an even headDim, got ${config.headDim}`);
  }
  if (!(config.normEps > 0)) throw new RangeError(`model config: normEps must be > 0, got ${config.normEps}`);
  if (!(config.ropeTheta > 0)) {
    throw new RangeError(`model config: ropeTheta must be > 0, got ${config.ropeTheta}`);
  }
  if (config.slidingWindow !== null) positiveInt("slidingWindow", config.slidingWindow);
  for (const k of ["queryPreAttnScalar", "attnLogitSoftcap", "finalLogitSoftcap"] as const) {
    const v = config[k];
    if (v !== null && !(Number.isFinite(v) && v > 0)) throw new RangeError(`model config: ${k} must be > 0 or null, got ${v}`);
  }
  if (config.family === "gpt2" && config.sandwichNorms) {
    throw new RangeError("model config: sandwichNorms (gemma2's extra norms) needs the llama family");
  }
  return config;
};
