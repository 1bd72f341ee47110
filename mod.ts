/**
 * alpha-spin: regularized self-play fine-tuning (α-SPIN) of language models, for Deno and Node.
 *
 * The public API is re-exported here from each layer's own `mod.ts`.
 *
 * @example
 * ```ts
 * import { referenceOps, lossRegistry } from "alpha-spin";
 * ```
 *
 * @module
 */
export * from "./core/mod.ts";
export * from "./backends/mod.ts";
export * from "./losses/mod.ts";
export * from "./samplers/mod.ts";
export * from "./models/mod.ts";
export * from "./data/mod.ts";
export * from "./eval/mod.ts";
export * from "./train/mod.ts";
export * from "./selfplay/mod.ts";
