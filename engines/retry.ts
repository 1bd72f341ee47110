/**
 * Bounded concurrency and retries for engine requests. A request is retried after a 429, a 5xx, a
 * timeout or a lost connection, waiting backoff·2^k milliseconds (capped) before retry k + 1, or the
 * server's `Retry-After` when it sends one and it is longer; any other failure (a 4xx, a malformed
 * answer) is final. The error of the last try is thrown with the request's label in front.
 *
 * @example
 * ```ts
 * import { limitConcurrency, withRetries } from "./retry.ts";
 * import type OpenAI from "openai";
 * declare const client: OpenAI;
 * declare const body: OpenAI.CompletionCreateParamsNonStreaming;
 * const limit = limitConcurrency(4);
 * const answer = await limit(() => withRetries("example p7", () => client.completions.create(body), { maxRetries: 5, backoffMs: 500, maxBackoffMs: 30000 }));
 * ```
 *
 * @module
 */
import OpenAI from "openai";

/** Retry settings. */
export interface RetryOptions {
  readonly maxRetries: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  /** How to wait (tests pass a recorder). Default: setTimeout. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * An engine request that failed for good; the message names the request.
 *
 * @example
 * ```ts
 * new EngineRequestError("example p7", "the server answered with model x").message; // "example p7: the server answered …"
 * ```
 */
export class EngineRequestError extends Error {
  override readonly name = "EngineRequestError";

  /**
   * @example
   * ```ts
   * throw new EngineRequestError("example 3", "malformed answer", { status: 200 });
   * ```
   */
  constructor(
    readonly request: string,
    message: string,
    readonly details: { status?: number; retries?: number } = {},
  ) {
    super(`${request}: ${message}`);
  }
}

/**
 * Whether a failure is worth another try: 408, 429, 5xx, timeouts, lost connections.
 *
 * @example
 * ```ts
 * import OpenAI from "openai";
 * isRetryable(new OpenAI.RateLimitError(429, undefined, "slow down", new Headers())); // true
 * ```
 */
export const isRetryable = (error: unknown): boolean => {
  if (error instanceof OpenAI.APIConnectionError) return true; // includes timeouts
  if (error instanceof OpenAI.APIError) {
    const s = error.status;
    return s === 408 || s === 429 || (s !== undefined && s >= 500);
  }
  return false;
};

const retryAfterMs = (error: unknown): number => {
  if (!(error instanceof OpenAI.APIError)) return 0;
  const value = error.headers?.get("retry-after");
  const seconds = value === null || value === undefined ? NaN : Number(value);
  return Number.isFinite(seconds) ? seconds * 1000 : 0;
};

const describe = (error: unknown): string => {
  if (error instanceof OpenAI.APIError && error.status !== undefined) {
    return `HTTP ${error.status}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
};

/**
 * Run `task`, retrying as the module doc says; failures become an {@link EngineRequestError}
 * naming `label`.
 *
 * @example
 * ```ts
 * import type OpenAI from "openai";
 * declare const client: OpenAI;
 * declare const body: OpenAI.CompletionCreateParamsNonStreaming;
 * await withRetries("score p1", () => client.completions.create(body), { maxRetries: 3, backoffMs: 100, maxBackoffMs: 1000 });
 * ```
 */
export const withRetries = async <T>(
  label: string,
  task: () => Promise<T>,
  options: RetryOptions,
): Promise<T> => {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 0;; attempt++) {
    try {
      return await task();
    } catch (error) {
      if (error instanceof EngineRequestError) throw error;
      const status = error instanceof OpenAI.APIError ? error.status : undefined;
      if (!isRetryable(error) || attempt >= options.maxRetries) {
        const tries = attempt > 0 ? ` (after ${attempt} retries)` : "";
        throw new EngineRequestError(label, `${describe(error)}${tries}`, {
          ...(status === undefined ? {} : { status }),
          retries: attempt,
        });
      }
      const backoff = Math.min(options.maxBackoffMs, options.backoffMs * 2 ** attempt);
      await sleep(Math.max(backoff, Math.min(retryAfterMs(error), options.maxBackoffMs)));
    }
  }
};

/**
 * A gate that lets at most `n` tasks run at once (the rest wait in order).
 *
 * @example
 * ```ts
 * const limit = limitConcurrency(2);
 * declare const items: string[];
 * declare const send: (item: string) => Promise<void>;
 * await Promise.all(items.map((x) => limit(() => send(x))));
 * ```
 */
export const limitConcurrency = (n: number): <T>(task: () => Promise<T>) => Promise<T> => {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    // A finishing task hands its slot straight to the next waiter, so no newcomer slips in between.
    if (running >= n) await new Promise<void>((r) => waiting.push(r));
    else running++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next === undefined) running--;
      else next();
    }
  };
};
