/**
 * `POST /v1/chat/completions`: the messages rendered with the model's chat template (from its
 * tokenizer_config.json, through models/chat-template.ts, with the generation prompt), encoded
 * without added special tokens (the template writes them; a BOS is put first when the tokenizer has
 * one and the template did not), then sampled as completions are. `max_tokens` (or
 * `max_completion_tokens`) defaults to the room left in the context. `logprobs: true` with
 * `top_logprobs: k` gives `logprobs.content` per generated token; `stream` sends
 * `chat.completion.chunk` events (a first delta with the role, then content deltas, then the
 * finish reason) ending in `data: [DONE]`.
 *
 * @example
 * ```sh
 * curl http://127.0.0.1:8000/v1/chat/completions -H 'content-type: application/json' \
 *   -d '{"model": "iter-2", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 32, "seed": 1}'
 * ```
 *
 * @module
 */
import { applyChatTemplate } from "../models/chat-template.ts";
import { checkContext } from "./context.ts";
import { ApiError } from "./errors.ts";
import { tokenText, usageOf } from "./completions.ts";
import { type Body, booleanField, chatMessages, integerField, modelField, samplingParams } from "./params.ts";
import type { ModelRegistry } from "./registry.ts";
import { type Reply, responseId } from "./reply.ts";
import { sampleChoices } from "./sample.ts";
import { tokenLogProbs } from "./token-logprobs.ts";

/**
 * The prompt ids of a chat request's messages.
 *
 * @example
 * ```ts
 * import type { ModelRegistry } from "./registry.ts";
 * declare const models: ModelRegistry;
 * chatPromptIds(models, [{ role: "user", content: "Hi" }]); // [258, …]
 * ```
 */
export const chatPromptIds = (
  models: ModelRegistry,
  messages: readonly { role: string; content: string }[],
): number[] => {
  const tokenizer = models.tokenizer;
  if (tokenizer.chatTemplate === undefined) {
    throw new ApiError(
      400,
      "this model has no chat template (tokenizer_config.json has no chat_template): use /v1/completions",
      "invalid_request_error",
      "messages",
    );
  }
  let text: string;
  try {
    text = applyChatTemplate(tokenizer, messages, { addGenerationPrompt: true });
  } catch (e) {
    throw ApiError.badParam("messages", (e as Error).message);
  }
  const ids = tokenizer.encode(text);
  if (tokenizer.bosId !== undefined && ids[0] !== tokenizer.bosId) ids.unshift(tokenizer.bosId);
  if (ids.length === 0) throw ApiError.badParam("messages", "the rendered messages have no tokens");
  return ids;
};

/**
 * Answer one chat request (see the module doc).
 *
 * @example
 * ```ts
 * import type { ModelRegistry } from "./registry.ts";
 * declare const models: ModelRegistry;
 * import type { Reply } from "./reply.ts";
 * declare const reply: Reply; // the HTTP response being written
 * await chatCompletions({ model: "base", messages: [{ role: "user", content: "Hi" }] }, models, reply);
 * ```
 */
export const chatCompletions = async (body: Body, models: ModelRegistry, reply: Reply): Promise<void> => {
  const model = models.get(modelField(body));
  const prompt = chatPromptIds(models, chatMessages(body));
  const wantLogprobs = booleanField(body, "logprobs", false);
  const topLogprobs = integerField(body, "top_logprobs", 0, 0, 20);
  if (!wantLogprobs && topLogprobs > 0) {
    throw ApiError.badParam("top_logprobs", "top_logprobs needs logprobs: true");
  }
  const settings = samplingParams(body, Math.max(1, models.maxPositions - prompt.length));
  if (settings.stream && wantLogprobs) {
    throw ApiError.badParam("stream", "stream is not supported together with logprobs");
  }
  checkContext(prompt.length, settings.maxTokens, models.maxPositions, "messages");

  const id = responseId("chatcmpl"), created = Math.floor(Date.now() / 1000);
  if (settings.stream) {
    const events = reply.events();
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      events.send({ id, object: "chat.completion.chunk", created, model: model.name, choices, ...extra });
    for (let row = 0; row < settings.n; row++) {
      chunk([{ index: row, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]);
    }
    const sampled = await sampleChoices(model, models, [prompt], settings, {
      onText: (row, text) =>
        chunk([{ index: row, delta: { content: text }, logprobs: null, finish_reason: null }]),
      aborted: () => events.closed,
    });
    sampled.forEach((c, row) =>
      chunk([{ index: row, delta: {}, logprobs: null, finish_reason: c.finishReason }])
    );
    if (settings.streamUsage) chunk([], { usage: usageOf([prompt], sampled) });
    events.end();
    return;
  }
  const sampled = await sampleChoices(model, models, [prompt], settings, { aborted: () => reply.closed });
  const choices = [];
  for (const [row, c] of sampled.entries()) {
    let logprobs = null;
    if (wantLogprobs) {
      const scored = await tokenLogProbs(model.policy, [...prompt, ...c.ids], topLogprobs);
      const entry = (tokenId: number, logprob: number) => {
        const token = tokenText(models, tokenId, false);
        return { token, logprob, bytes: [...new TextEncoder().encode(token)] };
      };
      logprobs = {
        content: c.ids.map((tokenId, i) => ({
          ...entry(tokenId, scored.logprobs[prompt.length + i]!),
          top_logprobs: scored.top[prompt.length + i]!.map((t) => entry(t.id, t.logprob)),
        })),
      };
    }
    choices.push({
      index: row,
      message: { role: "assistant", content: c.text },
      logprobs,
      finish_reason: c.finishReason,
      stop_reason: null,
    });
  }
  reply.json(200, {
    id,
    object: "chat.completion",
    created,
    model: model.name,
    choices,
    usage: usageOf([prompt], sampled),
  });
};
