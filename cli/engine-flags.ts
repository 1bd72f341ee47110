/**
 * The command-line flags that send a run's generation and reference scoring to an OpenAI-compatible
 * server (`generation.engine`, `reference.engine` and their `openai` blocks; docs/config.md):
 * `--generation-engine`, `--reference-engine`, `--openai-base-url`, `--openai-model`,
 * `--openai-api-key-env`. They override the run config's keys; the config codec then checks the
 * result, so a bad value is reported by its key.
 *
 * @example
 * ```ts
 * import { withEngineFlags } from "./engine-flags.ts";
 * withEngineFlags({ name: "x" }, { generationEngine: "openai", openaiBaseUrl: "http://127.0.0.1:8000/v1", openaiModel: "gemma" });
 * // { name: "x", generation: { engine: "openai", openai: { baseUrl: "http://127.0.0.1:8000/v1", model: "gemma" } } }
 * ```
 *
 * @module
 */

/** The flag specs, to spread into a command's `flags`. */
export const engineFlagSpecs = {
  generationEngine: {
    type: "string",
    valueName: "local|openai",
    description: "where losers are sampled: tfjs here, or an OpenAI-compatible server (vLLM); overrides generation.engine",
  },
  referenceEngine: {
    type: "string",
    valueName: "local|openai",
    description: "where the reference log-probs are computed; overrides reference.engine",
  },
  openaiBaseUrl: {
    type: "string",
    valueName: "url",
    description: "the server of every openai engine, e.g. http://127.0.0.1:8000/v1 (openai.baseUrl)",
  },
  openaiModel: { type: "string", valueName: "name", description: "the served name of the base model (openai.model)" },
  openaiApiKeyEnv: {
    type: "string",
    valueName: "var",
    description: "the environment variable holding the server's API key (openai.apiKeyEnv)",
  },
} as const;

/** The parsed values of {@link engineFlagSpecs}. */
export interface EngineFlags {
  readonly generationEngine?: string;
  readonly referenceEngine?: string;
  readonly openaiBaseUrl?: string;
  readonly openaiModel?: string;
  readonly openaiApiKeyEnv?: string;
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u);

/**
 * The raw run config with the flags applied: the engines set, and the server flags written into the
 * `openai` block of each phase whose engine is then "openai". A config that is not an object, or
 * whose block is not one, is returned as it is for the codec to report.
 *
 * @example
 * ```ts
 * withEngineFlags({ reference: "arithmetic" }, { referenceEngine: "openai", openaiBaseUrl: "http://h:8000/v1", openaiModel: "m" });
 * // { reference: { mixture: "arithmetic", engine: "openai", openai: { baseUrl: "http://h:8000/v1", model: "m" } } }
 * ```
 */
export const withEngineFlags = (raw: unknown, flags: EngineFlags): unknown => {
  if (!isRecord(raw)) return raw;
  const server = {
    ...(flags.openaiBaseUrl === undefined ? {} : { baseUrl: flags.openaiBaseUrl }),
    ...(flags.openaiModel === undefined ? {} : { model: flags.openaiModel }),
    ...(flags.openaiApiKeyEnv === undefined ? {} : { apiKeyEnv: flags.openaiApiKeyEnv }),
  };
  const apply = (block: Record<string, unknown>, engine: string | undefined): Record<string, unknown> => {
    const out: Record<string, unknown> = engine === undefined ? { ...block } : { ...block, engine };
    if (out.engine === "openai" && Object.keys(server).length > 0) {
      out.openai = isRecord(block.openai) ? { ...block.openai, ...server } : server;
    }
    return out;
  };
  const out: Record<string, unknown> = { ...raw };
  const generation = raw.generation ?? {};
  if (isRecord(generation)) {
    const applied = apply(generation, flags.generationEngine);
    if (raw.generation !== undefined || Object.keys(applied).length > 0) out.generation = applied;
  }
  const reference = typeof raw.reference === "string" ? { mixture: raw.reference } : raw.reference ?? {};
  if (isRecord(reference) && (flags.referenceEngine !== undefined || reference.engine === "openai")) {
    out.reference = apply(reference, flags.referenceEngine);
  }
  return out;
};
