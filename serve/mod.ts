/**
 * `alpha-spin serve`: an OpenAI-compatible HTTP server for a model folder and its LoRA adapters by
 * name, so existing evaluators (lm-evaluation-harness `local-completions`, FastChat's MT-Bench
 * answer generation, the `openai` client) can score an iterate without new code. See
 * docs/scale-out.md.
 *
 * @example
 * ```ts
 * import { ModelRegistry, startServer } from "./mod.ts";
 * const models = await ModelRegistry.load({ modelDir: "./gpt2", adapters: [{ name: "iter-1", path: "runs/x/iter-1/adapter" }] });
 * const server = await startServer(models, { port: 8000 });
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./params.ts";
export * from "./registry.ts";
export * from "./reply.ts";
export * from "./context.ts";
export * from "./stop-text.ts";
export * from "./token-logprobs.ts";
export * from "./sample.ts";
export * from "./completions.ts";
export * from "./chat.ts";
export * from "./http.ts";
