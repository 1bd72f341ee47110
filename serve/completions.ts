/**
 * `POST /v1/completions`: OpenAI's legacy completions, as vLLM serves them.
 *
 * - `prompt`: a string, a list of token ids, or a batch (list) of either; strings are encoded with
 *   the tokenizer's special tokens (e.g. the BOS), token ids are used as they are.
 * - `max_tokens` (default 16; 0 only with `echo`), `temperature` (0 = greedy), `top_p`, `top_k`,
 *   `min_p`, `seed`, `n`, `stop`; `stream` sends server-sent events ending in `data: [DONE]`.
 * - `echo` puts the prompt before the answer; with `logprobs: k` each choice carries
 *   `logprobs: {tokens, token_logprobs, top_logprobs, text_offset}` over the prompt tokens (with
 *   `echo`; the first is null) and the generated ones; `top_logprobs` holds the k most likely
 *   tokens at each position. This is how lm-evaluation-harness's `local-completions` scores
 *   log-likelihoods (`echo: true, max_tokens: 0 or 1, logprobs: 1`).
 * - vLLM's `prompt_logprobs: k` adds `prompt_logprobs` to each choice: null, then per prompt token
 *   `{"<id>": {logprob, rank, decoded_token}}` for the token and the k most likely ones;
 *   `return_tokens_as_token_ids` writes tokens as `token_id:<id>`.
 *
 * Log-probs are those of the model's own distribution (no temperature or filters), in float32.
 * Token strings are the tokens decoded one at a time, so `text_offset` is the running sum of their
 * lengths from the start of the choice's text (a character split across byte tokens counts once
 * per piece). Streaming is refused together with `echo` or `logprobs`.
 *
 * @example
 * ```sh
 * curl http://127.0.0.1:8000/v1/completions -H 'content-type: application/json' \
 *   -d '{"model": "base", "prompt": [[258, 72, 105]], "echo": true, "max_tokens": 0, "logprobs": 1}'
 * ```
 *
 * @module
 */
import { checkContext } from "./context.ts";
import { ApiError } from "./errors.ts";
import {
  type Body,
  booleanField,
  completionPrompts,
  integerField,
  modelField,
  samplingParams,
} from "./params.ts";
import type { ModelRegistry } from "./registry.ts";
import { type Reply, responseId } from "./reply.ts";
import { sampleChoices, type SampledChoice } from "./sample.ts";
import { type SequenceTokenLogProbs, tokenLogProbs } from "./token-logprobs.ts";

/** Most `logprobs` / `prompt_logprobs` per position (vLLM's default `max_logprobs`). */
export const maxLogprobs = 20;

/** The legacy `logprobs` object of one choice. */
export interface CompletionLogprobs {
  readonly tokens: string[];
  readonly token_logprobs: (number | null)[];
  readonly top_logprobs: (Record<string, number> | null)[];
  readonly text_offset: number[];
}

/**
 * How token `id` is written in `tokens` and as a `top_logprobs` key.
 *
 * @example
 * ```ts
 * import type { ModelRegistry } from "./registry.ts";
 * declare const models: ModelRegistry;
 * tokenText(models, 72, true); // "token_id:72"
 * ```
 */
export const tokenText = (models: ModelRegistry, id: number, asIds: boolean): string =>
  asIds ? `token_id:${id}` : models.tokenizer.decode([id]);

const legacyLogprobs = (
  models: ModelRegistry,
  ids: readonly number[],
  scored: SequenceTokenLogProbs,
  from: number,
  asIds: boolean,
  k: number,
): CompletionLogprobs => {
  const tokens: string[] = [], offsets: number[] = [];
  let offset = 0;
  for (let i = from; i < ids.length; i++) {
    const text = tokenText(models, ids[i], asIds);
    tokens.push(text), offsets.push(offset);
    offset += text.length;
  }
  const top = scored.top.slice(from).map((list) => {
    if (list === null) return null;
    const out: Record<string, number> = {};
    for (const { id, logprob } of list.slice(0, k)) {
      const key = tokenText(models, id, asIds);
      if (!(key in out)) out[key] = logprob; // two ids with the same text: keep the likelier
    }
    return out;
  });
  return { tokens, token_logprobs: scored.logprobs.slice(from), top_logprobs: top, text_offset: offsets };
};

const promptLogprobsOf = (
  models: ModelRegistry,
  ids: readonly number[],
  scored: SequenceTokenLogProbs,
  k: number,
): (Record<string, { logprob: number; rank: number; decoded_token: string }> | null)[] =>
  ids.map((id, i) => {
    if (i === 0) return null;
    const out: Record<string, { logprob: number; rank: number; decoded_token: string }> = {};
    out[String(id)] = {
      logprob: scored.logprobs[i]!,
      rank: scored.ranks[i]!,
      decoded_token: tokenText(models, id, false),
    };
    scored.top[i]!.slice(0, k).forEach(({ id: other, logprob }, r) => {
      if (!(String(other) in out)) {
        out[String(other)] = { logprob, rank: r + 1, decoded_token: tokenText(models, other, false) };
      }
    });
    return out;
  });

/** The request's prompts as token ids, with their echo text. */
const encodePrompts = (models: ModelRegistry, body: Body): { ids: number[][]; texts: string[] } => {
  const prompts = completionPrompts(body, models.base.config.vocabSize);
  const ids = prompts.map((p, i) => {
    if (typeof p !== "string") return p;
    const encoded = models.tokenizer.encode(p, { addSpecialTokens: true });
    if (encoded.length === 0) throw ApiError.badParam("prompt", `prompt[${i}] has no tokens`);
    return encoded;
  });
  const texts = prompts.map((p) => (typeof p === "string" ? p : models.tokenizer.decode(p)));
  return { ids, texts };
};

/**
 * Answer one completions request (see the module doc). Throws an {@link ApiError} for a bad request
 * before any model work.
 *
 * @example
 * ```ts
 * import type { ModelRegistry } from "./registry.ts";
 * declare const models: ModelRegistry;
 * import type { Reply } from "./reply.ts";
 * declare const reply: Reply; // the HTTP response being written
 * await completions({ model: "base", prompt: "Hi", max_tokens: 4, seed: 1 }, models, reply);
 * ```
 */
export const completions = async (body: Body, models: ModelRegistry, reply: Reply): Promise<void> => {
  const model = models.get(modelField(body));
  const echo = booleanField(body, "echo", false);
  const logprobs = body.logprobs === undefined || body.logprobs === null || body.logprobs === false
    ? null
    : integerField(body, "logprobs", 0, 0, maxLogprobs);
  const promptLogprobs = body.prompt_logprobs === undefined || body.prompt_logprobs === null
    ? null
    : integerField(body, "prompt_logprobs", 0, 0, maxLogprobs);
  const asIds = booleanField(body, "return_tokens_as_token_ids", false);
  if (body.suffix !== undefined && body.suffix !== null) {
    throw ApiError.badParam("suffix", "suffix is not supported");
  }
  const settings = samplingParams(body, 16, echo);
  if (settings.stream && (echo || logprobs !== null || promptLogprobs !== null)) {
    throw ApiError.badParam(
      "stream",
      "stream is not supported together with echo, logprobs or prompt_logprobs",
    );
  }
  const { ids, texts } = encodePrompts(models, body);
  for (const p of ids) checkContext(p.length, settings.maxTokens, models.maxPositions, "prompt");

  const id = responseId("cmpl"), created = Math.floor(Date.now() / 1000);
  if (settings.stream) {
    const events = reply.events();
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      events.send({ id, object: "text_completion", created, model: model.name, choices, ...extra });
    const sampled = await sampleChoices(model, models, ids, settings, {
      onText: (row, text) => chunk([{ index: row, text, logprobs: null, finish_reason: null }]),
      aborted: () => events.closed,
    });
    sampled.forEach((c, row) =>
      chunk([{ index: row, text: "", logprobs: null, finish_reason: c.finishReason }])
    );
    if (settings.streamUsage) chunk([], { usage: usageOf(ids, sampled) });
    events.end();
    return;
  }
  const sampled = await sampleChoices(model, models, ids, settings, { aborted: () => reply.closed });
  const choices = [];
  for (const [row, c] of sampled.entries()) {
    const prompt = ids[c.prompt];
    const whole = [...prompt, ...c.ids];
    const scored = logprobs === null && promptLogprobs === null
      ? null
      : await tokenLogProbs(model.policy, whole, Math.max(logprobs ?? 0, promptLogprobs ?? 0));
    choices.push({
      index: row,
      text: (echo ? texts[c.prompt] : "") + c.text,
      logprobs: logprobs === null
        ? null
        : legacyLogprobs(models, whole, scored!, echo ? 0 : prompt.length, asIds, logprobs),
      finish_reason: c.finishReason,
      stop_reason: null,
      ...(promptLogprobs === null
        ? {}
        : { prompt_logprobs: promptLogprobsOf(models, prompt, scored!, promptLogprobs) }),
    });
  }
  reply.json(200, {
    id,
    object: "text_completion",
    created,
    model: model.name,
    choices,
    usage: usageOf(ids, sampled),
  });
};

/**
 * Token counts of a request: each prompt once, every choice's generated tokens.
 *
 * @example
 * ```ts
 * import type { SampledChoice } from "./sample.ts";
 * declare const choices: SampledChoice[]; // the choices sampled for prompt [1, 2]
 * usageOf([[1, 2]], choices); // { prompt_tokens: 2, completion_tokens: Σ choice lengths, total_tokens: 2 + that }
 * ```
 */
export const usageOf = (
  prompts: readonly (readonly number[])[],
  choices: readonly SampledChoice[],
): { prompt_tokens: number; completion_tokens: number; total_tokens: number } => {
  const prompt = prompts.reduce((a, p) => a + p.length, 0);
  const completion = choices.reduce((a, c) => a + c.ids.length, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
};
