/**
 * Where an `openai` engine sends its requests: an OpenAI-compatible server (vLLM first; also
 * `alpha-spin serve`, llama.cpp's server, TGI), the served model name, the name of the environment
 * variable that holds the API key (the key itself is never part of a config, so it is never written
 * to a run folder), and the limits: requests in flight, per-request timeout, retries with
 * exponential backoff. No dependency beyond the language, so the run config can check an
 * `openai` block without loading the `openai` package (the client is made in openai-client.ts).
 *
 * @example
 * ```ts
 * import { checkOpenAiEngineConfig } from "./openai-config.ts";
 * const config = checkOpenAiEngineConfig({ baseUrl: "http://127.0.0.1:8000/v1", model: "gemma-2b", apiKeyEnv: "VLLM_API_KEY" }, "run.json: generation");
 * config.concurrency; // 8
 * ```
 *
 * @module
 */
/** The settings of an `openai` engine. */
export interface OpenAiEngineConfig {
  /** The server's OpenAI base URL, ending in `/v1` (e.g. `http://127.0.0.1:8000/v1`). */
  readonly baseUrl: string;
  /** The served model name (vLLM: `--served-model-name`, else the model path). */
  readonly model: string;
  /** The environment variable holding the API key; none: the key "EMPTY" (vLLM without --api-key). */
  readonly apiKeyEnv?: string;
  /** Requests in flight at once. Default 8. */
  readonly concurrency: number;
  /** Milliseconds before a request is abandoned (and retried). Default 600 000. */
  readonly timeoutMs: number;
  /** Retries of a request after a 429, a 5xx, a timeout or a lost connection. Default 5. */
  readonly maxRetries: number;
  /** First backoff in milliseconds; doubled per retry up to `maxBackoffMs`. Default 500. */
  readonly backoffMs: number;
  /** Longest backoff in milliseconds. Default 30 000. */
  readonly maxBackoffMs: number;
}

/**
 * The defaults of the optional fields.
 *
 * @example
 * ```ts
 * openAiEngineDefaults.concurrency; // 8
 * ```
 */
export const openAiEngineDefaults = {
  concurrency: 8,
  timeoutMs: 600_000,
  maxRetries: 5,
  backoffMs: 500,
  maxBackoffMs: 30_000,
} as const;

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

/**
 * Check a config object (e.g. the `generation.openai` block of a run config) and fill in the
 * defaults. Errors name the field, prefixed by `where`.
 *
 * @example
 * ```ts
 * checkOpenAiEngineConfig({ baseUrl: "http://h:8000/v1", model: "m", concurrency: 0 }, "run.json");
 * // throws: run.json: concurrency must be an integer >= 1, got 0
 * ```
 */
export const checkOpenAiEngineConfig = (value: unknown, where: string): OpenAiEngineConfig => {
  const fail = (message: string): never => {
    throw new Error(`${where}: ${message}`);
  };
  if (!isRecord(value)) return fail("the openai engine settings must be an object");
  const known = new Set(["baseUrl", "model", "apiKeyEnv", "apiKey", ...Object.keys(openAiEngineDefaults)]);
  for (const k of Object.keys(value)) if (!known.has(k)) fail(`unknown field "${k}"`);
  if ("apiKey" in value) {
    fail(
      '"apiKey" may not be written in a config: put the key in an environment variable and name it in "apiKeyEnv"',
    );
  }
  const { baseUrl, model, apiKeyEnv } = value;
  if (typeof baseUrl !== "string" || !/^https?:\/\/[^/]+/.test(baseUrl)) {
    fail(`baseUrl must be an http(s) URL, got ${JSON.stringify(baseUrl)}`);
  }
  if (typeof model !== "string" || model === "") {
    fail(`model must be a non-empty string, got ${JSON.stringify(model)}`);
  }
  if (
    apiKeyEnv !== undefined && (typeof apiKeyEnv !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(apiKeyEnv))
  ) {
    fail(`apiKeyEnv must be an environment variable name, got ${JSON.stringify(apiKeyEnv)}`);
  }
  const int = (name: keyof typeof openAiEngineDefaults, min: number): number => {
    const v = value[name] ?? openAiEngineDefaults[name];
    return typeof v === "number" && Number.isInteger(v) && v >= min
      ? v
      : fail(`${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  };
  return {
    baseUrl: (baseUrl as string).replace(/\/+$/, ""),
    model: model as string,
    ...(apiKeyEnv === undefined ? {} : { apiKeyEnv: apiKeyEnv as string }),
    concurrency: int("concurrency", 1),
    timeoutMs: int("timeoutMs", 1),
    maxRetries: int("maxRetries", 0),
    backoffMs: int("backoffMs", 0),
    maxBackoffMs: int("maxBackoffMs", 0),
  };
};
