/**
 * The official `openai` client for an engine config (openai-config.ts): the API key read from the
 * environment variable the config names, the config's timeout, and no retries of the client's own.
 *
 * @example
 * ```ts
 * import { openAiClient } from "./openai-client.ts";
 * import type { OpenAiEngineConfig } from "./openai-config.ts";
 * declare const config: OpenAiEngineConfig;
 * const client = openAiClient(config, process.env);
 * ```
 *
 * @module
 */
import OpenAI from "openai";
import type { OpenAiEngineConfig } from "./openai-config.ts";

/**
 * The `openai` client of a config: the key read from `env[apiKeyEnv]` (an error naming the variable
 * when it is unset), the timeout, and no retries of its own (engines retry themselves, see
 * retry.ts). `fetch` replaces the transport (tests record the requests with it).
 *
 * @example
 * ```ts
 * import type { OpenAiEngineConfig } from "./openai-config.ts";
 * declare const config: OpenAiEngineConfig;
 * const client = openAiClient(config, process.env);
 * ```
 */
export const openAiClient = (
  config: OpenAiEngineConfig,
  env: Readonly<Record<string, string | undefined>>,
  fetch?: typeof globalThis.fetch,
): OpenAI => {
  let apiKey = "EMPTY";
  if (config.apiKeyEnv !== undefined) {
    const value = env[config.apiKeyEnv];
    if (value === undefined || value === "") {
      throw new Error(`the API key variable ${config.apiKeyEnv} (apiKeyEnv) is not set`);
    }
    apiKey = value;
  }
  return new OpenAI({
    baseURL: config.baseUrl,
    apiKey,
    timeout: config.timeoutMs,
    maxRetries: 0,
    ...(fetch === undefined ? {} : { fetch }),
  });
};
