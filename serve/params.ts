/**
 * The fields of OpenAI completion and chat requests, checked and read into typed options. Every bad
 * field is a 400 {@link ApiError} naming it (`param`). Fields a client may send that change nothing
 * here (`user`, `logit_bias: {}`, zero penalties) are accepted; ones whose effect this server cannot
 * give (non-zero penalties, `suffix`, `best_of` other than `n`) are refused rather than ignored.
 * Unknown fields are ignored, as vLLM does, so harnesses that add their own keys still work.
 *
 * Extensions read as vLLM reads them: `top_k` (-1 or 0 = all), `min_p`, `prompt_logprobs`,
 * `return_tokens_as_token_ids`.
 *
 * @example
 * ```ts
 * import { samplingParams } from "./params.ts";
 * samplingParams({ temperature: 0, max_tokens: 8, stop: "\n" }, 16); // greedy, 8 tokens, stop ["\n"]
 * ```
 *
 * @module
 */
import type { SamplingOptions } from "../samplers/filters.ts";
import { ApiError } from "./errors.ts";

/** A parsed JSON request body. */
export type Body = Readonly<Record<string, unknown>>;

/** The sampling part shared by completions and chat. */
export interface SamplingParams {
  /** Tokens to generate per choice (0 only with echo). */
  readonly maxTokens: number;
  /** Choices per prompt. */
  readonly n: number;
  /** Sampler options (greedy when temperature is 0). */
  readonly sampling: SamplingOptions;
  /** The sampling seed; drawn at random when the request has none. */
  readonly seed: number;
  /** Stop strings (not part of the returned text). */
  readonly stop: readonly string[];
  /** Server-sent events instead of one JSON body. */
  readonly stream: boolean;
  /** Send a last chunk with `usage` when streaming (`stream_options.include_usage`). */
  readonly streamUsage: boolean;
}

const bad = (param: string, message: string): never => {
  throw ApiError.badParam(param, message);
};

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

/**
 * A number field in [min, max], or `fallback` when absent or null.
 *
 * @example
 * ```ts
 * numberField({ top_p: 0.9 }, "top_p", 1, 0, 1); // 0.9
 * ```
 */
export const numberField = (body: Body, name: string, fallback: number, min: number, max: number): number => {
  const v = body[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
    return bad(name, `${name} must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
};

/**
 * An integer field in [min, max], or `fallback` when absent or null.
 *
 * @example
 * ```ts
 * integerField({ n: 2 }, "n", 1, 1, 16); // 2
 * ```
 */
export const integerField = (
  body: Body,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number => {
  const v = body[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    return bad(name, `${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
};

/**
 * A boolean field, or `fallback` when absent or null.
 *
 * @example
 * ```ts
 * booleanField({ echo: true }, "echo", false); // true
 * ```
 */
export const booleanField = (body: Body, name: string, fallback: boolean): boolean => {
  const v = body[name];
  if (v === undefined || v === null) return fallback;
  return typeof v === "boolean" ? v : bad(name, `${name} must be true or false, got ${JSON.stringify(v)}`);
};

/**
 * The requested model name (required).
 *
 * @example
 * ```ts
 * modelField({ model: "base" }); // "base"
 * ```
 */
export const modelField = (body: Body): string => {
  const v = body.model;
  if (typeof v !== "string" || v === "") {
    return bad("model", 'the request needs "model": a served model name');
  }
  return v;
};

const stopField = (body: Body): string[] => {
  const v = body.stop;
  if (v === undefined || v === null) return [];
  const list = typeof v === "string" ? [v] : v;
  if (!Array.isArray(list) || !list.every((s) => typeof s === "string" && s !== "") || list.length > 16) {
    return bad("stop", "stop must be a non-empty string or a list of at most 16 of them");
  }
  return list as string[];
};

const refuseUnsupported = (body: Body): void => {
  for (const name of ["presence_penalty", "frequency_penalty"]) {
    const v = body[name];
    if (v !== undefined && v !== null && v !== 0) bad(name, `${name} is not supported here (only 0)`);
  }
  const v = body.repetition_penalty;
  if (v !== undefined && v !== null && v !== 1) {
    bad("repetition_penalty", "repetition_penalty is not supported here (only 1)");
  }
  if (body.logit_bias !== undefined && body.logit_bias !== null) {
    if (!isRecord(body.logit_bias) || Object.keys(body.logit_bias).length > 0) {
      bad("logit_bias", "logit_bias is not supported here (only {})");
    }
  }
};

/**
 * The sampling fields of a request. `defaultMaxTokens` applies when neither `max_tokens` nor
 * `max_completion_tokens` is given (OpenAI's completions default is 16; chat uses the room left).
 *
 * @example
 * ```ts
 * samplingParams({ temperature: 0.7, top_p: 0.9, seed: 1, n: 2 }, 16).n; // 2
 * ```
 */
export const samplingParams = (
  body: Body,
  defaultMaxTokens: number,
  allowZeroTokens = false,
): SamplingParams => {
  refuseUnsupported(body);
  const maxName = body.max_tokens === undefined || body.max_tokens === null
    ? "max_completion_tokens"
    : "max_tokens";
  const maxTokens = integerField(body, maxName, defaultMaxTokens, allowZeroTokens ? 0 : 1, 1 << 20);
  const n = integerField(body, "n", 1, 1, 64);
  const bestOf = integerField(body, "best_of", n, 1, 64);
  if (bestOf !== n) bad("best_of", "best_of is not supported here (only equal to n)");
  const temperature = numberField(body, "temperature", 1, 0, 2);
  const topP = numberField(body, "top_p", 1, Number.MIN_VALUE, 1);
  const topK = integerField(body, "top_k", -1, -1, 1 << 30);
  const minP = numberField(body, "min_p", 0, 0, 1);
  const seedValue = body.seed;
  if (seedValue !== undefined && seedValue !== null && !Number.isSafeInteger(seedValue)) {
    bad("seed", `seed must be an integer, got ${JSON.stringify(seedValue)}`);
  }
  const seed = typeof seedValue === "number" ? seedValue : Math.floor(Math.random() * 2 ** 31);
  const stream = booleanField(body, "stream", false);
  const options = body.stream_options;
  if (options !== undefined && options !== null && !isRecord(options)) {
    bad("stream_options", "stream_options must be an object");
  }
  const streamUsage = isRecord(options) && options.include_usage === true;
  const sampling: SamplingOptions = temperature === 0
    ? { greedy: true }
    : { temperature, topP, topK: topK <= 0 ? Infinity : topK, minP };
  return { maxTokens, n, sampling, seed, stop: stopField(body), stream, streamUsage };
};

/**
 * A completion request's `prompt`: one string, a list of strings, one list of token ids, or a list of
 * such lists (a batch). Ids must lie in [0, vocabSize).
 *
 * @example
 * ```ts
 * completionPrompts({ prompt: [[1, 2], [3]] }, 259); // [[1, 2], [3]]
 * completionPrompts({ prompt: "Hi" }, 259);          // ["Hi"]
 * ```
 */
export const completionPrompts = (body: Body, vocabSize: number): (string | number[])[] => {
  const v = body.prompt;
  const isIds = (u: unknown): u is number[] =>
    Array.isArray(u) && u.length > 0 && u.every((x) => typeof x === "number");
  let prompts: unknown[];
  if (typeof v === "string") prompts = [v];
  else if (isIds(v)) prompts = [v];
  else if (Array.isArray(v) && v.length > 0) prompts = v;
  else return bad("prompt", "prompt must be a string, a list of token ids, or a non-empty list of either");
  prompts.forEach((p, i) => {
    if (typeof p === "string") return;
    if (!isIds(p)) bad("prompt", `prompt[${i}] must be a string or a non-empty list of token ids`);
    const k = (p as number[]).findIndex((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize);
    if (k >= 0) {
      bad("prompt", `prompt[${i}][${k}] = ${(p as number[])[k]} is not a token id in [0, ${vocabSize})`);
    }
  });
  return prompts as (string | number[])[];
};

/** A chat message as the template gets it. */
export interface ChatTurn {
  readonly role: string;
  readonly content: string;
}

/**
 * A chat request's `messages`: each `{role, content}` with content a string or a list of text parts
 * (`{"type": "text", "text": …}`, joined).
 *
 * @example
 * ```ts
 * chatMessages({ messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }] }); // [{ role: "user", content: "Hi" }]
 * ```
 */
export const chatMessages = (body: Body): ChatTurn[] => {
  const v = body.messages;
  if (!Array.isArray(v) || v.length === 0) return bad("messages", "messages must be a non-empty list");
  return v.map((m, i) => {
    if (!isRecord(m) || typeof m.role !== "string") {
      return bad("messages", `messages[${i}] needs a string "role"`);
    }
    const c = m.content;
    if (typeof c === "string") return { role: m.role, content: c };
    if (c === null || c === undefined) return { role: m.role, content: "" };
    if (Array.isArray(c)) {
      const texts = c.map((part, j) =>
        isRecord(part) && part.type === "text" && typeof part.text === "string" ? part.text : bad(
          "messages",
          `messages[${i}].content[${j}] must be {"type": "text", "text": …} (only text is served)`,
        )
      );
      return { role: m.role, content: texts.join("") };
    }
    return bad("messages", `messages[${i}].content must be a string or a list of text parts`);
  });
};
