/**
 * The mapping between a Hugging Face `config.json` and a {@link ModelConfig}: {@link configFromHf}
 * reads gpt2, llama, mistral, qwen2, gemma and gemma2 configs and refuses other `model_type`s by name;
 * {@link configToHf} writes a config.json that maps back to the same config.
 *
 * @example
 * ```ts
 * import { configFromHf } from "./hf-config.ts";
 * import { readFile } from "node:fs/promises";
 * const config = configFromHf(JSON.parse(await readFile("gpt2/config.json", "utf8")));
 * console.log(config.family, config.numLayers); // "gpt2" 12
 * ```
 *
 * @module
 */
import {
  type Activation,
  makeConfig,
  type ModelConfig,
  type RopeScaling,
  supportedModelTypes,
} from "./config.ts";

type Json = Record<string, unknown>;

const field = (json: Json, key: string, fallback?: number): number => {
  const v = json[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new RangeError(`config.json: missing "${key}"`);
  }
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new RangeError(`config.json: "${key}" must be a number, got ${JSON.stringify(v)}`);
  }
  return v;
};

const flag = (json: Json, key: string, fallback: boolean): boolean => {
  const v = json[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "boolean") {
    throw new RangeError(`config.json: "${key}" must be true or false, got ${JSON.stringify(v)}`);
  }
  return v;
};

const optionalId = (json: Json, key: string): number | null => {
  const v = json[key];
  return typeof v === "number" ? v : Array.isArray(v) && typeof v[0] === "number" ? v[0] : null;
};

const idList = (json: Json, key: string): number[] => {
  const v = json[key];
  if (typeof v === "number") return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === "number");
  return [];
};

const activationFromHf = (name: unknown): Activation => {
  switch (name) {
    case "gelu_new":
    case "gelu_pytorch_tanh":
    case "gelu_fast":
      return "gelu_tanh";
    case "gelu":
      return "gelu";
    case "silu":
    case "swish":
      return "silu";
    case "relu":
      return "relu";
    default:
      throw new RangeError(
        `config.json: unsupported activation ${
          JSON.stringify(name)
        } (supported: gelu_new, gelu_pytorch_tanh, gelu, silu, relu)`,
      );
  }
};

const ropeScalingFromHf = (json: Json): RopeScaling | null => {
  const s = json["rope_scaling"];
  if (s === undefined || s === null) return null;
  const r = s as Json;
  const type = r["rope_type"] ?? r["type"];
  if (type === "default") return null;
  if (type === "linear") return { type: "linear", factor: field(r, "factor") };
  if (type === "llama3") {
    return {
      type: "llama3",
      factor: field(r, "factor"),
      lowFreqFactor: field(r, "low_freq_factor"),
      highFreqFactor: field(r, "high_freq_factor"),
      originalMaxPositions: field(r, "original_max_position_embeddings"),
    };
  }
  throw new RangeError(
    `config.json: unsupported rope_scaling type ${JSON.stringify(type)} (supported: default, linear, llama3)`,
  );
};

/**
 * Map a Hugging Face `config.json` (parsed) to a {@link ModelConfig}. Accepts `model_type` gpt2,
 * llama, mistral, qwen2, gemma and gemma2; anything else is refused with an error naming it and the
 * supported types. Gemma 2 reads `query_pre_attn_scalar`, `attn_logit_softcapping`,
 * `final_logit_softcapping` (null = off) and `sliding_window` (on the even layers; a `layer_types`
 * list, when given, must say the same), with Hugging Face's defaults when absent.
 *
 * @example
 * ```ts
 * const c = configFromHf({ model_type: "qwen2", vocab_size: 151936, hidden_size: 896, intermediate_size: 4864,
 *   num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, rms_norm_eps: 1e-6,
 *   rope_theta: 1000000, tie_word_embeddings: true, max_position_embeddings: 32768 });
 * c.qkvBias; // true
 * ```
 */
export const configFromHf = (json: Json): ModelConfig => {
  const modelType = json["model_type"];
  const common = {
    bosTokenId: optionalId(json, "bos_token_id"),
    eosTokenIds: idList(json, "eos_token_id"),
    padTokenId: optionalId(json, "pad_token_id"),
    vocabSize: field(json, "vocab_size"),
  };
  if (modelType === "gpt2") {
    if (flag(json, "scale_attn_by_inverse_layer_idx", false)) {
      throw new RangeError("config.json: gpt2 with scale_attn_by_inverse_layer_idx = true is not supported");
    }
    if (!flag(json, "scale_attn_weights", true)) {
      throw new RangeError("config.json: gpt2 with scale_attn_weights = false is not supported");
    }
    const d = field(json, "n_embd"), heads = field(json, "n_head");
    return makeConfig({
      ...common,
      family: "gpt2",
      modelType,
      hiddenSize: d,
      numLayers: field(json, "n_layer"),
      numHeads: heads,
      headDim: d / heads,
      intermediateSize: field(json, "n_inner", 4 * d),
      maxPositions: field(json, "n_positions", field(json, "n_ctx", 1024)),
      normEps: field(json, "layer_norm_epsilon", 1e-5),
      tieWordEmbeddings: flag(json, "tie_word_embeddings", true),
      activation: activationFromHf(json["activation_function"] ?? "gelu_new"),
    });
  }
  if (
    modelType === "llama" || modelType === "mistral" || modelType === "qwen2" || modelType === "gemma" ||
    modelType === "gemma2"
  ) {
    if (modelType === "qwen2" && flag(json, "use_sliding_window", false)) {
      throw new RangeError("config.json: qwen2 with use_sliding_window = true is not supported");
    }
    const d = field(json, "hidden_size"), heads = field(json, "num_attention_heads");
    const gemma2 = modelType === "gemma2";
    const gemma = modelType === "gemma" || gemma2;
    const attentionBias = flag(json, "attention_bias", false);
    const window = modelType === "mistral" ? json["sliding_window"] : gemma2 ? field(json, "sliding_window", 4096) : null;
    if (gemma2) checkGemma2LayerTypes(json, field(json, "num_hidden_layers"));
    return makeConfig({
      ...common,
      family: "llama",
      modelType,
      hiddenSize: d,
      numLayers: field(json, "num_hidden_layers"),
      numHeads: heads,
      numKeyValueHeads: field(json, "num_key_value_heads", heads),
      headDim: field(json, "head_dim", d / heads),
      intermediateSize: field(json, "intermediate_size"),
      maxPositions: field(json, "max_position_embeddings", 2048),
      normEps: field(json, "rms_norm_eps", 1e-6),
      ropeTheta: field(json, "rope_theta", 10000),
      ropeScaling: ropeScalingFromHf(json),
      tieWordEmbeddings: flag(json, "tie_word_embeddings", gemma),
      activation: gemma
        ? activationFromHf(json["hidden_activation"] ?? "gelu_pytorch_tanh")
        : activationFromHf(json["hidden_act"] ?? "silu"),
      qkvBias: modelType === "qwen2" || attentionBias,
      outputBias: attentionBias,
      mlpBias: flag(json, "mlp_bias", false),
      normWeightOffset: gemma ? 1 : 0,
      embeddingScale: gemma ? Math.sqrt(d) : 1,
      slidingWindow: typeof window === "number" ? window : null,
      ...(gemma2
        ? {
          slidingWindowLayers: "even" as const,
          sandwichNorms: true,
          // Hugging Face's Gemma2Config defaults (gemma-2-2b/9b values).
          queryPreAttnScalar: field(json, "query_pre_attn_scalar", 256),
          attnLogitSoftcap: optionalPositive(json, "attn_logit_softcapping", 50),
          finalLogitSoftcap: optionalPositive(json, "final_logit_softcapping", 30),
        }
        : {}),
    });
  }
  throw new RangeError(
    `config.json: unsupported model_type ${JSON.stringify(modelType)}; supported: ${
      supportedModelTypes.join(", ")
    }` +
      " (gemma3, phi and others are not implemented)",
  );
};

/** A positive number, null when the key holds null (the feature is off), `fallback` when absent. */
const optionalPositive = (json: Json, key: string, fallback: number): number | null => {
  if (json[key] === null) return null;
  const v = field(json, key, fallback);
  if (!(v > 0)) throw new RangeError(`config.json: "${key}" must be > 0 or null, got ${v}`);
  return v;
};

/** Gemma 2 windows the even layers; a `layer_types` list saying otherwise is refused, not ignored. */
const checkGemma2LayerTypes = (json: Json, layers: number): void => {
  const types = json["layer_types"];
  if (types === undefined || types === null) return;
  const expected = Array.from({ length: layers }, (_, i) => (i % 2 === 0 ? "sliding_attention" : "full_attention"));
  if (!Array.isArray(types) || JSON.stringify(types) !== JSON.stringify(expected)) {
    throw new RangeError(
      `config.json: gemma2 "layer_types" ${JSON.stringify(types)} is not supported; only the alternating ` +
        `pattern ${JSON.stringify(expected)} (sliding window on even layers) is`,
    );
  }
};

const activationToHf = (a: Activation, gemma: boolean): string =>
  a === "gelu_tanh" ? (gemma ? "gelu_pytorch_tanh" : "gelu_new") : a;

/**
 * The Hugging Face `config.json` object for a {@link ModelConfig} (what `saveHfModel` writes); it
 * maps back to the same config through {@link configFromHf}.
 *
 * @example
 * ```ts
 * import { makeConfig } from "./config.ts";
 * const config = makeConfig({ family: "llama", vocabSize: 32, hiddenSize: 16, numLayers: 2, numHeads: 4 });
 * const json = configToHf(config);
 * configFromHf(json); // deep-equals config
 * ```
 */
export const configToHf = (config: ModelConfig): Record<string, unknown> => {
  const ids = {
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenIds.length === 1
      ? config.eosTokenIds[0]
      : config.eosTokenIds.length
      ? [...config.eosTokenIds]
      : null,
    pad_token_id: config.padTokenId,
  };
  if (config.family === "gpt2") {
    return {
      architectures: ["GPT2LMHeadModel"],
      model_type: "gpt2",
      vocab_size: config.vocabSize,
      n_embd: config.hiddenSize,
      n_layer: config.numLayers,
      n_head: config.numHeads,
      n_inner: config.intermediateSize,
      n_positions: config.maxPositions,
      n_ctx: config.maxPositions,
      layer_norm_epsilon: config.normEps,
      activation_function: activationToHf(config.activation, false),
      tie_word_embeddings: config.tieWordEmbeddings,
      torch_dtype: "float32",
      ...ids,
    };
  }
  const type = config.modelType === "gpt2" ? "llama" : config.modelType;
  const arch = {
    llama: "LlamaForCausalLM",
    mistral: "MistralForCausalLM",
    qwen2: "Qwen2ForCausalLM",
    gemma: "GemmaForCausalLM",
    gemma2: "Gemma2ForCausalLM",
  }[type];
  const gemma = type === "gemma" || type === "gemma2";
  const scaling = config.ropeScaling === null
    ? null
    : config.ropeScaling.type === "linear"
    ? { rope_type: "linear", factor: config.ropeScaling.factor }
    : {
      rope_type: "llama3",
      factor: config.ropeScaling.factor,
      low_freq_factor: config.ropeScaling.lowFreqFactor,
      high_freq_factor: config.ropeScaling.highFreqFactor,
      original_max_position_embeddings: config.ropeScaling.originalMaxPositions,
    };
  return {
    architectures: [arch],
    model_type: type,
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKeyValueHeads,
    head_dim: config.headDim,
    max_position_embeddings: config.maxPositions,
    rms_norm_eps: config.normEps,
    rope_theta: config.ropeTheta,
    rope_scaling: scaling,
    tie_word_embeddings: config.tieWordEmbeddings,
    [gemma ? "hidden_activation" : "hidden_act"]: activationToHf(config.activation, gemma),
    ...(type === "llama" ? { attention_bias: config.qkvBias, mlp_bias: config.mlpBias } : {}),
    ...(type === "mistral" ? { sliding_window: config.slidingWindow } : {}),
    ...(type === "gemma2"
      ? {
        sliding_window: config.slidingWindow,
        query_pre_attn_scalar: config.queryPreAttnScalar ?? config.headDim,
        attn_logit_softcapping: config.attnLogitSoftcap,
        final_logit_softcapping: config.finalLogitSoftcap,
      }
      : {}),
    torch_dtype: "float32",
    ...ids,
  };
};
