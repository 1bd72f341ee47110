/**
 * Engines that hand the loop's heavy work to an existing server: sampling
 * ({@link OpenAiGenerationEngine}) and reference log-probs ({@link OpenAiReferenceEngine}) on any
 * OpenAI-compatible server (vLLM first; `alpha-spin serve` for tests). This folder sits at the
 * train/selfplay layer: it may import core/, data/ and models/, and the training loop imports it.
 * The loop uses them with `generation.engine` / `reference.engine: "openai"` (selfplay/generation-openai.ts,
 * selfplay/phases/references.ts; docs/scale-out.md).
 *
 * @example
 * ```ts
 * import { checkOpenAiEngineConfig, OpenAiGenerationEngine } from "./mod.ts";
 * declare const block: unknown; // the "generation.openai" block of run.json
 * const engine = new OpenAiGenerationEngine(checkOpenAiEngineConfig(block, "run.json: generation.openai"), process.env);
 * ```
 *
 * @module
 */
export * from "./openai-config.ts";
export * from "./openai-client.ts";
export * from "./retry.ts";
export * from "./openai-generation.ts";
export * from "./openai-reference.ts";
