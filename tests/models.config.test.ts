/**
 * config.json mapping: published configs give the published parameter counts; qwen2, mistral and
 * gemma get their family quirks; unsupported types are refused by name; configToHf round-trips.
 */
import { assert, test } from "./harness.ts";
import { makeConfig, validateConfig } from "../models/config.ts";
import { configFromHf, configToHf } from "../models/hf-config.ts";
import { parameterCount, parameterShapes } from "../models/weights.ts";

// The published config.json of openai-community/gpt2 (fields that matter).
const gpt2Json = {
  model_type: "gpt2",
  activation_function: "gelu_new",
  vocab_size: 50257,
  n_ctx: 1024,
  n_embd: 768,
  n_head: 12,
  n_layer: 12,
  n_positions: 1024,
  layer_norm_epsilon: 1e-5,
  bos_token_id: 50256,
  eos_token_id: 50256,
};

// HuggingFaceTB/SmolLM-135M.
const smolJson = {
  model_type: "llama",
  hidden_act: "silu",
  hidden_size: 576,
  intermediate_size: 1536,
  max_position_embeddings: 2048,
  num_attention_heads: 9,
  num_hidden_layers: 30,
  num_key_value_heads: 3,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: true,
  vocab_size: 49152,
  bos_token_id: 0,
  eos_token_id: 0,
};

test("config: gpt2 and SmolLM-135M configs give their published parameter counts", () => {
  const gpt2 = configFromHf(gpt2Json);
  assert.equal(gpt2.family, "gpt2");
  assert.equal(gpt2.intermediateSize, 3072);
  assert.equal(gpt2.tieWordEmbeddings, true);
  assert.equal(gpt2.activation, "gelu_tanh");
  assert.deepEqual(gpt2.eosTokenIds, [50256]);
  assert.equal(parameterCount(gpt2), 124_439_808);
  assert.deepEqual(parameterShapes(gpt2).get("transformer.h.11.attn.c_attn.weight")?.shape, [768, 2304]);
  const smol = configFromHf(smolJson);
  assert.equal(smol.headDim, 64);
  assert.equal(smol.numKeyValueHeads, 3);
  assert.equal(parameterCount(smol), 134_515_008);
  assert.deepEqual(parameterShapes(smol).get("model.layers.0.self_attn.k_proj.weight")?.shape, [192, 576]);
  assert.ok(!parameterShapes(smol).has("lm_head.weight"));
});

test("config: qwen2 biases, mistral window, gemma's (1 + w), √d and GeGLU, llama3 rope scaling", () => {
  const base = {
    hidden_size: 64,
    intermediate_size: 128,
    num_attention_heads: 4,
    num_hidden_layers: 2,
    vocab_size: 100,
  };
  const qwen = configFromHf({
    ...base,
    model_type: "qwen2",
    num_key_value_heads: 2,
    rope_theta: 1e6,
    tie_word_embeddings: true,
  });
  assert.deepEqual([qwen.qkvBias, qwen.outputBias, qwen.mlpBias, qwen.ropeTheta], [true, false, false, 1e6]);
  assert.ok(parameterShapes(qwen).has("model.layers.1.self_attn.v_proj.bias"));
  assert.ok(!parameterShapes(qwen).has("model.layers.1.self_attn.o_proj.bias"));
  const mistral = configFromHf({ ...base, model_type: "mistral", sliding_window: 4096 });
  assert.equal(mistral.slidingWindow, 4096);
  assert.equal(mistral.tieWordEmbeddings, false);
  const gemma = configFromHf({ ...base, model_type: "gemma", head_dim: 32, hidden_act: "gelu" });
  assert.deepEqual([gemma.normWeightOffset, gemma.embeddingScale, gemma.activation], [1, 8, "gelu_tanh"]);
  assert.equal(gemma.tieWordEmbeddings, true);
  assert.deepEqual(parameterShapes(gemma).get("model.layers.0.self_attn.q_proj.weight")?.shape, [128, 64]);
  const llama3 = configFromHf({
    ...base,
    model_type: "llama",
    rope_scaling: {
      rope_type: "llama3",
      factor: 32,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    },
  });
  assert.deepEqual(llama3.ropeScaling, {
    type: "llama3",
    factor: 32,
    lowFreqFactor: 1,
    highFreqFactor: 4,
    originalMaxPositions: 8192,
  });
  assert.throws(
    () => configFromHf({ ...base, model_type: "llama", rope_scaling: { type: "yarn", factor: 4 } }),
    /rope_scaling type "yarn"/,
  );
});

test("config: unsupported model_type is refused with the supported list; bad fields are named", () => {
  assert.throws(
    () => configFromHf({ model_type: "phi3", vocab_size: 10 }),
    /unsupported model_type "phi3"; supported: gpt2, llama, mistral, qwen2, gemma/,
  );
  assert.throws(() => configFromHf({ ...gpt2Json, n_embd: "768" }), /"n_embd" must be a number/);
  assert.throws(
    () => configFromHf({ ...smolJson, num_key_value_heads: 4 }),
    /numHeads 9 is not a multiple of numKeyValueHeads 4/,
  );
  assert.throws(() => configFromHf({ ...smolJson, hidden_act: "mish" }), /unsupported activation "mish"/);
  assert.throws(() => validateConfig({ ...configFromHf(smolJson), headDim: 7 }), /even headDim/);
});

test("config: configToHf → configFromHf is the identity for every family", () => {
  const configs = [
    configFromHf(gpt2Json),
    configFromHf(smolJson),
    makeConfig({
      family: "llama",
      modelType: "qwen2",
      vocabSize: 9,
      hiddenSize: 8,
      numLayers: 1,
      numHeads: 2,
      qkvBias: true,
    }),
    makeConfig({
      family: "llama",
      modelType: "mistral",
      vocabSize: 9,
      hiddenSize: 8,
      numLayers: 1,
      numHeads: 2,
      slidingWindow: 16,
    }),
    configFromHf({
      model_type: "gemma",
      hidden_size: 8,
      intermediate_size: 16,
      num_attention_heads: 2,
      num_hidden_layers: 1,
      vocab_size: 9,
      head_dim: 4,
    }),
    configFromHf({
      model_type: "gemma2",
      hidden_size: 8,
      intermediate_size: 16,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      num_hidden_layers: 2,
      vocab_size: 9,
      head_dim: 4,
      sliding_window: 3,
      final_logit_softcapping: null,
    }),
    makeConfig({
      family: "llama",
      vocabSize: 9,
      hiddenSize: 8,
      numLayers: 1,
      numHeads: 2,
      qkvBias: true,
      outputBias: true,
      mlpBias: true,
      ropeScaling: { type: "linear", factor: 2 },
      eosTokenIds: [1, 2],
    }),
  ];
  for (const c of configs) {
    assert.deepEqual(configFromHf(JSON.parse(JSON.stringify(configToHf(c)))), c, c.modelType);
  }
});

test("config: gemma2 reads HF's keys and defaults; a layer_types list other than alternating is refused", () => {
  const base = {
    model_type: "gemma2",
    hidden_size: 8,
    intermediate_size: 16,
    num_attention_heads: 2,
    num_hidden_layers: 3,
    vocab_size: 9,
    head_dim: 4,
  };
  const c = configFromHf(base);
  assert.deepEqual(
    [c.queryPreAttnScalar, c.attnLogitSoftcap, c.finalLogitSoftcap, c.slidingWindow, c.slidingWindowLayers],
    [256, 50, 30, 4096, "even"],
  );
  assert.deepEqual([c.sandwichNorms, c.normWeightOffset, c.tieWordEmbeddings, c.activation], [true, 1, true, "gelu_tanh"]);
  assert.equal(configFromHf({ ...base, attn_logit_softcapping: null }).attnLogitSoftcap, null);
  const alternating = ["sliding_attention", "full_attention", "sliding_attention"];
  assert.equal(configFromHf({ ...base, layer_types: alternating }).slidingWindowLayers, "even");
  assert.throws(
    () => configFromHf({ ...base, layer_types: ["full_attention", "full_attention", "full_attention"] }),
    /gemma2 "layer_types" .* is not supported/,
  );
  assert.throws(() => configFromHf({ ...base, final_logit_softcapping: -1 }), /final_logit_softcapping/);
});
