/**
 * Reference log-probs from an OpenAI-compatible server: Σ log p(completion | prompt) of each
 * (prompt ids, completion ids) pair under a served model (the base, or an iterate's adapter by
 * name), for the loop's cached reference scores. One `/v1/completions` request per pair, the whole
 * sequence sent as token ids, in one of two modes:
 *
 * - `"echo"` (any server with legacy echo; lm-evaluation-harness uses the same): `{"model",
 *   "prompt": ids, "max_tokens": 1, "temperature": 0, "echo": true, "logprobs": 0,
 *   "return_tokens_as_token_ids": true}`; the sum of `token_logprobs` over the completion
 *   positions. The echoed tokens must be the ids sent (checked when they come as `token_id:<n>`),
 *   so a server that re-tokenized the prompt is an error, not a silently different score. The one
 *   generated token is ignored (`max_tokens: 1`, since vLLM refuses 0; `alpha-spin serve` takes 0).
 * - `"prompt_logprobs"` (vLLM): `{"model", "prompt": ids, "max_tokens": 1, "temperature": 0,
 *   "prompt_logprobs": 0}`; the sum of `choices[0].prompt_logprobs[i]["<id_i>"].logprob`.
 *
 * Sums are taken in float64 over the float32 log-probs the server sends, so they agree with
 * `alpha-spin score` to float32 rounding on the same model (tests/engines.openai.test.ts).
 *
 * @example
 * ```ts
 * import { OpenAiReferenceEngine } from "./openai-reference.ts";
 * import type { OpenAiEngineConfig } from "./openai-config.ts";
 * declare const config: OpenAiEngineConfig;
 * const reference = new OpenAiReferenceEngine(config, process.env, { mode: "prompt_logprobs" });
 * const [s] = await reference.score([{ id: "p1/chosen", promptIds: [2, 651], completionIds: [1234, 1] }], "iter-1");
 * s.logprob; // Σ log p under iter-1
 * ```
 *
 * @module
 */
import type OpenAI from "openai";
import { openAiClient } from "./openai-client.ts";
import type { OpenAiEngineConfig } from "./openai-config.ts";
import { parseTokenIds } from "./openai-generation.ts";
import { EngineRequestError, limitConcurrency, withRetries } from "./retry.ts";

/** One pair to score. */
export interface ReferenceRequest {
  readonly id: string;
  /** At least one token (the first token of a sequence is never scored). */
  readonly promptIds: readonly number[];
  readonly completionIds: readonly number[];
}

/** One score. */
export interface ReferenceScore {
  readonly id: string;
  /** Σ log p(completion token | prefix), nats. */
  readonly logprob: number;
  /** Completion tokens scored. */
  readonly tokens: number;
}

/** How the server is asked for prompt log-probs. */
export type ReferenceMode = "echo" | "prompt_logprobs";

/**
 * The JSON body sent for one pair.
 *
 * @example
 * ```ts
 * referenceBody({ id: "a", promptIds: [1], completionIds: [2, 3] }, "m", "prompt_logprobs");
 * // { model: "m", prompt: [1, 2, 3], max_tokens: 1, temperature: 0, prompt_logprobs: 0 }
 * ```
 */
export const referenceBody = (
  request: ReferenceRequest,
  model: string,
  mode: ReferenceMode,
  echoMaxTokens: 0 | 1 = 1,
): Record<string, unknown> => {
  const prompt = [...request.promptIds, ...request.completionIds];
  return mode === "echo"
    ? {
      model,
      prompt,
      max_tokens: echoMaxTokens,
      temperature: 0,
      echo: true,
      logprobs: 0,
      return_tokens_as_token_ids: true,
    }
    : { model, prompt, max_tokens: 1, temperature: 0, prompt_logprobs: 0 };
};

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

/**
 * Check one answer and sum the completion's log-probs (throws an {@link EngineRequestError}).
 *
 * @example
 * ```ts
 * declare const request: ReferenceRequest;
 * declare const answer: unknown; // the server's completions answer to referenceBody(request, "m", "echo")
 * readReference(request, "m", "echo", answer).logprob;
 * ```
 */
export const readReference = (
  request: ReferenceRequest,
  model: string,
  mode: ReferenceMode,
  answer: unknown,
): ReferenceScore => {
  const fail = (message: string): never => {
    throw new EngineRequestError(request.id, message);
  };
  if (!isRecord(answer) || !Array.isArray(answer.choices) || answer.choices.length !== 1) {
    return fail("malformed answer: expected one choice");
  }
  if (answer.model !== model) {
    fail(
      `the server answered with model ${JSON.stringify(answer.model)}, asked for ${JSON.stringify(model)}`,
    );
  }
  const choice = answer.choices[0];
  if (!isRecord(choice)) return fail("malformed answer: the choice is not an object");
  const ids = [...request.promptIds, ...request.completionIds], from = request.promptIds.length;
  let sum = 0;
  if (mode === "echo") {
    const lp = isRecord(choice.logprobs) ? choice.logprobs.token_logprobs : undefined;
    if (!Array.isArray(lp) || lp.length < ids.length) {
      fail("malformed answer: token_logprobs does not cover the echoed prompt");
    }
    const tokens = parseTokenIds((choice.logprobs as Record<string, unknown>).tokens);
    if (tokens !== null && tokens.slice(0, ids.length).some((t, i) => t !== ids[i])) {
      fail("the echoed tokens differ from the ids sent (the server re-tokenized the prompt)");
    }
    for (let i = from; i < ids.length; i++) {
      const x = (lp as unknown[])[i];
      if (typeof x !== "number") fail(`malformed answer: token_logprobs[${i}] is ${JSON.stringify(x)}`);
      sum += x as number;
    }
  } else {
    const plp = choice.prompt_logprobs;
    if (!Array.isArray(plp) || plp.length !== ids.length) {
      fail("malformed answer: prompt_logprobs does not cover the prompt (is it vLLM?)");
    }
    for (let i = from; i < ids.length; i++) {
      const entry = (plp as unknown[])[i];
      const x = isRecord(entry) && isRecord(entry[String(ids[i])])
        ? (entry[String(ids[i])] as Record<string, unknown>).logprob
        : undefined;
      if (typeof x !== "number") {
        fail(`malformed answer: prompt_logprobs[${i}] has no entry for token ${ids[i]}`);
      }
      sum += x as number;
    }
  }
  return { id: request.id, logprob: sum, tokens: request.completionIds.length };
};

/** Options of {@link OpenAiReferenceEngine}. */
export interface ReferenceEngineOptions {
  /** Default "echo". */
  readonly mode?: ReferenceMode;
  /** `max_tokens` with echo: 1 (vLLM) or 0 (servers that allow it). Default 1. */
  readonly echoMaxTokens?: 0 | 1;
  readonly fetch?: typeof globalThis.fetch;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Reference scoring on an OpenAI-compatible server; see the module doc. */
export class OpenAiReferenceEngine {
  readonly #client: OpenAI;
  readonly #limit: <T>(task: () => Promise<T>) => Promise<T>;
  readonly #options: ReferenceEngineOptions;

  /**
   * @example
   * ```ts
   * import type { OpenAiEngineConfig } from "./openai-config.ts";
   * declare const config: OpenAiEngineConfig;
   * const reference = new OpenAiReferenceEngine(config, process.env, { mode: "echo" });
   * ```
   */
  constructor(
    readonly config: OpenAiEngineConfig,
    env: Readonly<Record<string, string | undefined>>,
    options: ReferenceEngineOptions = {},
  ) {
    this.#client = openAiClient(config, env, options.fetch);
    this.#limit = limitConcurrency(config.concurrency);
    this.#options = options;
  }

  /**
   * Score every pair under `model` (default the config's), `concurrency` at a time; results in
   * request order. After a failure no further request starts; the first failure is thrown once
   * the requests in flight have settled.
   *
   * @example
   * ```ts
   * declare const reference: OpenAiReferenceEngine;
   * declare const pairs: ReferenceRequest[];
   * const scores = await reference.score(pairs, "iter-2");
   * ```
   */
  async score(requests: readonly ReferenceRequest[], model = this.config.model): Promise<ReferenceScore[]> {
    for (const r of requests) {
      if (r.promptIds.length === 0) {
        throw new EngineRequestError(r.id, "the prompt has no tokens (the first token cannot be scored)");
      }
    }
    const mode = this.#options.mode ?? "echo";
    const { maxRetries, backoffMs, maxBackoffMs } = this.config;
    const retry = {
      maxRetries,
      backoffMs,
      maxBackoffMs,
      ...(this.#options.sleep ? { sleep: this.#options.sleep } : {}),
    };
    // After the first failure no further request is started; those in flight finish (and are reported).
    let failure: { error: unknown } | null = null;
    const settled = await Promise.allSettled(requests.map((request) =>
      this.#limit(async () => {
        if (failure !== null) throw failure.error;
        try {
          const body = referenceBody(request, model, mode, this.#options.echoMaxTokens ?? 1);
          const answer = await withRetries(
            request.id,
            () =>
              this.#client.completions.create(body as unknown as OpenAI.CompletionCreateParamsNonStreaming),
            retry,
          );
          return readReference(request, model, mode, answer);
        } catch (error) {
          failure ??= { error };
          throw error;
        }
      })
    ));
    if (failure !== null) throw (failure as { error: unknown }).error;
    return settled.map((s) => (s as PromiseFulfilledResult<ReferenceScore>).value);
  }
}
