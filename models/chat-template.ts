/**
 * Chat templates: the Jinja template of a tokenizer_config.json rendered with @huggingface/jinja,
 * with the variables Hugging Face's `apply_chat_template` passes: `messages`,
 * `add_generation_prompt`, `bos_token`, `eos_token` (plus `unk_token`, `pad_token` when given),
 * and the package's own globals `raise_exception(message)` (stops rendering: a
 * {@link ChatTemplateError} with that message) and `strftime_now(format)`.
 *
 * The rendered text already holds whatever special tokens the template writes (often the BOS), so
 * encode it without adding special tokens (the library's `Tokenizer.encode` default).
 *
 * @example
 * ```ts
 * import { renderChatTemplate } from "./chat-template.ts";
 * const chatml = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}" +
 *   "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
 * renderChatTemplate(chatml, [{ role: "user", content: "Hi" }], { addGenerationPrompt: true });
 * // "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
 * ```
 *
 * @module
 */
import { Template } from "@huggingface/jinja";
import type { Tokenizer } from "./tokenizer.ts";

/** One chat turn. Extra fields (e.g. `tool_calls`) are passed to the template as they are. */
export interface ChatMessage {
  readonly role: string;
  readonly content: string;
  readonly [field: string]: unknown;
}

/** Options of {@link renderChatTemplate}. */
export interface ChatTemplateOptions {
  /** End with the header of an assistant turn, so the model writes the answer. Default false. */
  readonly addGenerationPrompt?: boolean;
  readonly bosToken?: string;
  readonly eosToken?: string;
  readonly unkToken?: string;
  readonly padToken?: string;
  /** Further template variables (e.g. `tools`, `documents`, `date_string`). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/**
 * A template that fails to parse or calls `raise_exception`.
 *
 * @example
 * ```ts
 * try { renderChatTemplate("{% for %}", []); } catch (e) { console.log(e instanceof ChatTemplateError); } // true
 * ```
 */
export class ChatTemplateError extends Error {
  override readonly name = "ChatTemplateError";
}

const parsed = new Map<string, Template>();

const compile = (template: string): Template => {
  let t = parsed.get(template);
  if (t === undefined) {
    try {
      t = new Template(template);
    } catch (e) {
      throw new ChatTemplateError(`the chat template does not parse: ${(e as Error).message}`);
    }
    if (parsed.size > 32) parsed.clear();
    parsed.set(template, t);
  }
  return t;
};

/**
 * Render a Jinja chat template with `messages` and the special-token strings.
 *
 * @example
 * ```ts
 * const zephyr = "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}{{ eos_token }}\n{% endfor %}" +
 *   "{% if add_generation_prompt %}<|assistant|>\n{% endif %}";
 * renderChatTemplate(zephyr, [{ role: "user", content: "Hi" }], { addGenerationPrompt: true, eosToken: "</s>" });
 * // "<|user|>\nHi</s>\n<|assistant|>\n"
 * ```
 */
export const renderChatTemplate = (
  template: string,
  messages: readonly ChatMessage[],
  options: ChatTemplateOptions = {},
): string => {
  const compiled = compile(template);
  const context: Record<string, unknown> = {
    ...options.extra,
    messages: messages.map((m) => ({ ...m })),
    add_generation_prompt: options.addGenerationPrompt ?? false,
    bos_token: options.bosToken ?? "",
    eos_token: options.eosToken ?? "",
  };
  if (options.unkToken !== undefined) context.unk_token = options.unkToken;
  if (options.padToken !== undefined) context.pad_token = options.padToken;
  try {
    return compiled.render(context);
  } catch (e) {
    throw new ChatTemplateError(`rendering the chat template failed: ${(e as Error).message}`);
  }
};

/**
 * Render `messages` with a tokenizer's own chat template and special tokens (its BOS, EOS, pad
 * strings). Throws when the tokenizer has no chat template.
 *
 * @example
 * ```ts
 * import { loadTokenizer } from "./hf-tokenizer.ts";
 * const tok = await loadTokenizer("./zephyr-7b-beta");
 * const prompt = applyChatTemplate(tok, [{ role: "user", content: "Hi" }], { addGenerationPrompt: true });
 * const ids = tok.encode(prompt);
 * ```
 */
export const applyChatTemplate = (
  tokenizer: Tokenizer,
  messages: readonly ChatMessage[],
  options: Omit<ChatTemplateOptions, "bosToken" | "eosToken" | "padToken"> = {},
): string => {
  if (tokenizer.chatTemplate === undefined) {
    throw new ChatTemplateError(
      "the tokenizer has no chat template (tokenizer_config.json has no chat_template)",
    );
  }
  const text = (
    id: number | undefined,
  ): string | undefined => (id === undefined ? undefined : tokenizer.idToToken?.(id));
  const bosToken = text(tokenizer.bosId), eosToken = text(tokenizer.eosId), padToken = text(tokenizer.padId);
  return renderChatTemplate(tokenizer.chatTemplate, messages, {
    ...options,
    ...(bosToken === undefined ? {} : { bosToken }),
    ...(eosToken === undefined ? {} : { eosToken }),
    ...(padToken === undefined ? {} : { padToken }),
  });
};
