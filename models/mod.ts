/**
 * Language models in tfjs: GPT-2 and Llama-family decoder transformers, LoRA adapters, KV-cached
 * generation, the `Policy` interface of the self-play loop, and Hugging Face checkpoint interop.
 *
 * @example
 * ```ts
 * import { createLoraAdapter, loadHfModel, TransformerPolicy } from "./mod.ts";
 * const model = await loadHfModel("./SmolLM-135M");
 * const policy = new TransformerPolicy(model, createLoraAdapter(model, { r: 8, alpha: 16 }));
 * ```
 *
 * @module
 */
export * from "./config.ts";
export * from "./hf-config.ts";
export * from "./weights.ts";
export * from "./layers.ts";
export * from "./attention.ts";
export * from "./kv-cache.ts";
export * from "./transformer.ts";
export * from "./head-logprobs.ts";
export * from "./checkpoint.ts";
export * from "./lora.ts";
export * from "./batch.ts";
export * from "./policy.ts";
export * from "./generate.ts";
export * from "./hf-load.ts";
export * from "./float-formats.ts";
export * from "./safetensors-dtypes.ts";
export * from "./safetensors.ts";
export * from "./safetensors-file.ts";
export * from "./tokenizer.ts";
export * from "./hf-tokenizer.ts";
export * from "./chat-template.ts";
export * from "./peft.ts";
