/**
 * The input of `alpha-spin score`: a JSONL file with one scoring request per line, parsed and
 * checked before any model work, with errors that name the file, the line and the field.
 *
 * A line gives ids, text, or conversations:
 * - `{"prompt_ids": [..], "completion_ids": [..]}`: token ids, used as they are;
 * - `{"prompt": "...", "completion": "..."}`: text, tokenized with the model folder's tokenizer (prompt
 *   and completion separately, so the prompt is an exact prefix; see models/tokenizer.ts);
 * - `{"prompt": [messages], "completion": [messages]}`: conversations (`{"role", "content"}` lists),
 *   rendered with the tokenizer's chat template: the prompt with the generation prompt, the completion
 *   as the rest of the rendered whole conversation (as TRL does for conversational data).
 * An `"id"` field, when present, is copied to the output line. Blank lines are skipped.
 *
 * @example
 * ```ts
 * import { parseScoreLines } from "./score-input.ts";
 * const requests = parseScoreLines('{"prompt_ids":[1,2],"completion_ids":[3]}\n', "data.jsonl");
 * requests[0]; // { line: 1, kind: "ids", promptIds: [1, 2], completionIds: [3] }
 * ```
 *
 * @module
 */
import type { ChatMessage } from "../models/chat-template.ts";

/** One parsed request (line numbers are 1-based). */
export type ScoreRequest =
  | {
    readonly line: number;
    readonly id?: unknown;
    readonly kind: "ids";
    readonly promptIds: number[];
    readonly completionIds: number[];
  }
  | {
    readonly line: number;
    readonly id?: unknown;
    readonly kind: "text";
    readonly prompt: string;
    readonly completion: string;
  }
  | {
    readonly line: number;
    readonly id?: unknown;
    readonly kind: "chat";
    readonly prompt: ChatMessage[];
    readonly completion: ChatMessage[];
  };

/**
 * An input error at a file position (the message starts with `file:line:`).
 *
 * @example
 * ```ts
 * try { parseScoreLines("{", "a.jsonl"); } catch (e) { console.log((e as ScoreInputError).message); } // a.jsonl:1: not valid JSON …
 * ```
 */
export class ScoreInputError extends Error {
  override readonly name = "ScoreInputError";
}

const idList = (value: unknown, where: string): number[] => {
  if (!Array.isArray(value)) {
    throw new ScoreInputError(`${where} must be a list of token ids, found ${JSON.stringify(value)}`);
  }
  value.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0) {
      throw new ScoreInputError(
        `${where}[${i}] = ${JSON.stringify(id)} is not a token id (a non-negative integer)`,
      );
    }
  });
  return value as number[];
};

const messages = (value: unknown, where: string): ChatMessage[] => {
  (value as unknown[]).forEach((m, i) => {
    const ok = typeof m === "object" && m !== null && typeof (m as { role?: unknown }).role === "string" &&
      typeof (m as { content?: unknown }).content === "string";
    if (!ok) {
      throw new ScoreInputError(`${where}[${i}] must be a message {"role": string, "content": string}`);
    }
  });
  return value as ChatMessage[];
};

/**
 * Parse a JSONL scoring file. Throws a {@link ScoreInputError} naming `source:line` and the field
 * for the first malformed line.
 *
 * @example
 * ```ts
 * parseScoreLines('{"prompt": "Hi", "completion": 3}', "a.jsonl"); // throws: a.jsonl:1: "completion" must be …
 * ```
 */
export const parseScoreLines = (text: string, source: string): ScoreRequest[] => {
  const out: ScoreRequest[] = [];
  text.split("\n").forEach((raw, k) => {
    const line = k + 1;
    const trimmed = raw.trim();
    if (trimmed.length === 0) return;
    const at = `${source}:${line}`;
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (e) {
      throw new ScoreInputError(`${at}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw new ScoreInputError(`${at}: expected a JSON object`);
    }
    const o = json as Record<string, unknown>;
    const id = "id" in o ? { id: o.id } : {};
    try {
      if ("prompt_ids" in o || "completion_ids" in o) {
        const promptIds = idList(o.prompt_ids, `"prompt_ids"`);
        const completionIds = idList(o.completion_ids, `"completion_ids"`);
        out.push({ line, ...id, kind: "ids", promptIds, completionIds });
      } else if ("prompt" in o || "completion" in o) {
        const { prompt, completion } = o;
        if (Array.isArray(prompt) || Array.isArray(completion)) {
          if (!Array.isArray(prompt)) {
            throw new ScoreInputError(`"prompt" must be a list of messages, like "completion"`);
          }
          if (!Array.isArray(completion)) {
            throw new ScoreInputError(`"completion" must be a list of messages, like "prompt"`);
          }
          out.push({
            line,
            ...id,
            kind: "chat",
            prompt: messages(prompt, `"prompt"`),
            completion: messages(completion, `"completion"`),
          });
        } else {
          if (typeof prompt !== "string") {
            throw new ScoreInputError(`"prompt" must be a string, found ${JSON.stringify(prompt)}`);
          }
          if (typeof completion !== "string") {
            throw new ScoreInputError(`"completion" must be a string, found ${JSON.stringify(completion)}`);
          }
          out.push({ line, ...id, kind: "text", prompt, completion });
        }
      } else {
        throw new ScoreInputError(
          `expected "prompt" and "completion" (text or messages) or "prompt_ids" and "completion_ids"`,
        );
      }
    } catch (e) {
      if (e instanceof ScoreInputError) throw new ScoreInputError(`${at}: ${e.message}`);
      throw e;
    }
  });
  return out;
};
