/**
 * A generation engine on an OpenAI-compatible server: one `/v1/completions` request per example,
 * the prompt sent as token ids and the answer read back as token ids, so the sequences the loop
 * then scores are exactly those the server sampled (no re-tokenization drift).
 *
 * The request (vLLM's documented completions API):
 * `{"model", "prompt": [ids], "max_tokens", "temperature", "top_p", ["top_k"], ["min_p"], "seed", "n": 1,
 * "logprobs": 0, "return_tokens_as_token_ids": true}` — `logprobs: 0` makes vLLM list the sampled
 * tokens, and `return_tokens_as_token_ids` writes each as `token_id:<id>`. A server that cannot
 * return ids this way (OpenAI itself, servers without the vLLM extension) fails with an error that
 * says so: decoding its text again would silently change the sequences.
 *
 * Each answer is checked: the same model as asked, one choice, every token `token_id:<n>`, no more
 * tokens than `max_tokens`, and exactly `max_tokens` unless the finish reason is "stop" (EOS or a
 * stop string; an EOS ends the ids, as in models/generate.ts). Anything else is an
 * {@link EngineRequestError} naming the request. Requests run `concurrency` at a time with retries
 * (retry.ts); `onResult` is called as each finishes, so a caller can store it at once and a killed
 * run loses only the requests in flight.
 *
 * Opponents that are earlier iterates: load each iterate's adapter by name with
 * {@link OpenAiGenerationEngine.loadAdapter} (vLLM: `--enable-lora`, runtime loading allowed) and
 * ask for it with `model` per request.
 *
 * @example
 * ```ts
 * import { OpenAiGenerationEngine } from "./openai-generation.ts";
 * import type { OpenAiEngineConfig } from "./openai-config.ts";
 * declare const config: OpenAiEngineConfig;
 * const engine = new OpenAiGenerationEngine(config, process.env);
 * await engine.loadAdapter("iter-1", "/runs/demo/iter-1/adapter");
 * const out = await engine.generate([{ id: "p1", promptIds: [2, 651, 6037], maxTokens: 256, temperature: 1, topP: 1, seed: 7, model: "iter-1" }]);
 * out[0].tokenIds; // the sampled ids, the EOS included when it stopped there
 * ```
 *
 * @module
 */
import type OpenAI from "openai";
import { openAiClient } from "./openai-client.ts";
import type { OpenAiEngineConfig } from "./openai-config.ts";
import { EngineRequestError, limitConcurrency, withRetries } from "./retry.ts";

/** One example to answer. */
export interface GenerationRequest {
  /** Names the request in errors and results (e.g. the example id and choice). */
  readonly id: string;
  /** The prompt's token ids (at least one). */
  readonly promptIds: readonly number[];
  readonly maxTokens: number;
  /** 0 = greedy. */
  readonly temperature: number;
  readonly topP: number;
  /** Keep the k most likely tokens (absent: all). */
  readonly topK?: number;
  /** vLLM's `min_p`: drop tokens below minP × the top probability (absent: none). */
  readonly minP?: number;
  readonly seed: number;
  /** Served name to ask (an adapter); default the config's model. */
  readonly model?: string;
}

/** One answer. */
export interface GenerationResult {
  readonly id: string;
  /** The sampled ids (at most `maxTokens`). */
  readonly tokenIds: number[];
  /** Log-probs of the sampled ids under the server's model, as it reports them. */
  readonly logprobs: number[];
  /** "stop": EOS or stop string; "length": `maxTokens` reached. */
  readonly finishReason: "stop" | "length";
}

/**
 * The JSON body sent for one request.
 *
 * @example
 * ```ts
 * generationBody({ id: "p1", promptIds: [1, 2], maxTokens: 8, temperature: 0.7, topP: 0.9, seed: 3 }, "m");
 * // { model: "m", prompt: [1, 2], max_tokens: 8, temperature: 0.7, top_p: 0.9, seed: 3, n: 1, logprobs: 0, return_tokens_as_token_ids: true }
 * ```
 */
export const generationBody = (request: GenerationRequest, model: string): Record<string, unknown> => ({
  model: request.model ?? model,
  prompt: [...request.promptIds],
  max_tokens: request.maxTokens,
  temperature: request.temperature,
  top_p: request.topP,
  ...(request.topK === undefined ? {} : { top_k: request.topK }),
  ...(request.minP === undefined ? {} : { min_p: request.minP }),
  seed: request.seed,
  n: 1,
  logprobs: 0,
  return_tokens_as_token_ids: true,
});

/**
 * Token ids from `token_id:<n>` strings; null when any entry is of another form.
 *
 * @example
 * ```ts
 * parseTokenIds(["token_id:5", "token_id:0"]); // [5, 0]
 * ```
 */
export const parseTokenIds = (tokens: unknown): number[] | null => {
  if (!Array.isArray(tokens)) return null;
  const out: number[] = [];
  for (const t of tokens) {
    const m = typeof t === "string" ? /^token_id:(\d+)$/.exec(t) : null;
    if (m === null) return null;
    out.push(Number(m[1]));
  }
  return out;
};

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

/**
 * Check one completions answer and read its result (throws an {@link EngineRequestError}).
 *
 * @example
 * ```ts
 * import type OpenAI from "openai";
 * declare const client: OpenAI;
 * declare const body: OpenAI.CompletionCreateParamsNonStreaming;
 * declare const request: GenerationRequest; // the request `body` was made from (generationBody)
 * const result = readGeneration(request, "m", await client.completions.create(body));
 * ```
 */
export const readGeneration = (
  request: GenerationRequest,
  model: string,
  answer: unknown,
): GenerationResult => {
  const fail = (message: string): never => {
    throw new EngineRequestError(request.id, message);
  };
  const want = request.model ?? model;
  if (!isRecord(answer) || !Array.isArray(answer.choices)) return fail("malformed answer: no choices list");
  if (answer.model !== want) {
    fail(`the server answered with model ${JSON.stringify(answer.model)}, asked for ${JSON.stringify(want)}`);
  }
  if (answer.choices.length !== 1) fail(`expected 1 choice, got ${answer.choices.length}`);
  const choice = answer.choices[0];
  if (!isRecord(choice) || !isRecord(choice.logprobs)) {
    return fail("malformed answer: the choice has no logprobs (was logprobs: 0 ignored?)");
  }
  const ids = parseTokenIds(choice.logprobs.tokens);
  if (ids === null) {
    return fail(
      'the tokens are not "token_id:<n>" strings: the server must support return_tokens_as_token_ids (vLLM does)',
    );
  }
  const logprobs = choice.logprobs.token_logprobs;
  if (
    !Array.isArray(logprobs) || logprobs.length !== ids.length ||
    !logprobs.every((x) => typeof x === "number")
  ) {
    fail("malformed answer: token_logprobs does not match tokens");
  }
  const reason = choice.finish_reason;
  if (reason !== "stop" && reason !== "length") fail(`unexpected finish_reason ${JSON.stringify(reason)}`);
  if (ids.length > request.maxTokens) {
    fail(`${ids.length} tokens returned, more than max_tokens ${request.maxTokens}`);
  }
  if (reason === "length" && ids.length !== request.maxTokens) {
    fail(`${ids.length} tokens returned, fewer than max_tokens ${request.maxTokens}, without a stop reason`);
  }
  return {
    id: request.id,
    tokenIds: ids,
    logprobs: logprobs as number[],
    finishReason: reason as "stop" | "length",
  };
};

/** Sampling on an OpenAI-compatible server; see the module doc. */
export class OpenAiGenerationEngine {
  readonly #client: OpenAI;
  readonly #limit: <T>(task: () => Promise<T>) => Promise<T>;

  /**
   * @example
   * ```ts
   * import type { OpenAiEngineConfig } from "./openai-config.ts";
   * declare const config: OpenAiEngineConfig;
   * const engine = new OpenAiGenerationEngine(config, process.env);
   * ```
   */
  constructor(
    readonly config: OpenAiEngineConfig,
    env: Readonly<Record<string, string | undefined>>,
    options: { fetch?: typeof globalThis.fetch; sleep?: (ms: number) => Promise<void> } = {},
  ) {
    this.#client = openAiClient(config, env, options.fetch);
    this.#limit = limitConcurrency(config.concurrency);
    this.#sleep = options.sleep;
  }

  readonly #sleep?: (ms: number) => Promise<void>;

  #retry<T>(label: string, task: () => Promise<T>): Promise<T> {
    const { maxRetries, backoffMs, maxBackoffMs } = this.config;
    return withRetries(label, task, {
      maxRetries,
      backoffMs,
      maxBackoffMs,
      ...(this.#sleep ? { sleep: this.#sleep } : {}),
    });
  }

  /**
   * Answer every request (`concurrency` at a time); results in request order. `onResult` runs as
   * each one arrives. After a failure no further request starts (those in flight finish and are
   * reported); the first failure is thrown once they have settled.
   *
   * @example
   * ```ts
   * declare const engine: OpenAiGenerationEngine;
   * declare const requests: GenerationRequest[];
   * declare const store: { append(result: GenerationResult): Promise<void> };
   * await engine.generate(requests, (r) => store.append(r));
   * ```
   */
  async generate(
    requests: readonly GenerationRequest[],
    onResult?: (result: GenerationResult) => void | Promise<void>,
  ): Promise<GenerationResult[]> {
    for (const r of requests) {
      if (r.promptIds.length === 0) throw new EngineRequestError(r.id, "the prompt has no tokens");
    }
    // After the first failure no further request is started; those in flight finish (and are reported).
    let failure: { error: unknown } | null = null;
    const settled = await Promise.allSettled(requests.map((request) =>
      this.#limit(async () => {
        if (failure !== null) throw failure.error;
        try {
          const body = generationBody(request, this.config.model);
          const answer = await this.#retry(request.id, () =>
            this.#client.completions.create(body as unknown as OpenAI.CompletionCreateParamsNonStreaming));
          const result = readGeneration(request, this.config.model, answer);
          await onResult?.(result);
          return result;
        } catch (error) {
          failure ??= { error };
          throw error;
        }
      })
    ));
    if (failure !== null) throw (failure as { error: unknown }).error;
    return settled.map((s) => (s as PromiseFulfilledResult<GenerationResult>).value);
  }

  /**
   * Load a PEFT adapter folder on the server under `name` (vLLM's `POST /v1/load_lora_adapter`
   * `{lora_name, lora_path}`; the path is read by the server). An adapter already loaded under that
   * name is fine.
   *
   * @example
   * ```ts
   * declare const engine: OpenAiGenerationEngine;
   * await engine.loadAdapter("iter-2", "/shared/runs/demo/iter-2/adapter");
   * ```
   */
  async loadAdapter(name: string, path: string): Promise<void> {
    try {
      await this.#retry(
        `load adapter ${name}`,
        () => this.#client.post("/load_lora_adapter", { body: { lora_name: name, lora_path: path } }),
      );
    } catch (e) {
      if (
        e instanceof EngineRequestError && e.details.status === 400 &&
        /already (been )?(loaded|served)/.test(e.message)
      ) return;
      throw e;
    }
  }
}
