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
import * as t from "io-ts";
import { either } from "fp-ts";
import { issuesOf, listOf, nonNegativeInt, refined } from "../core/config.ts";
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

// One codec per kind of line, from the run config's toolkit (core/config.ts); keys other than
// these (such as "id") are left alone.
const text = refined<string>("string", "must be a string", (u): u is string => typeof u === "string");
const tokenIds = listOf(nonNegativeInt);
const message = t.type({ role: text, content: text });
const idsLine = t.type({ prompt_ids: tokenIds, completion_ids: tokenIds });
const textLine = t.type({ prompt: text, completion: text });
const chatLine = t.type({ prompt: listOf(message), completion: listOf(message) });

/** The line decoded with `codec`, or a ScoreInputError naming every bad field: `prompt_ids[1]: must be …`. */
const decodeLine = <A>(codec: t.Decoder<unknown, A>, json: Record<string, unknown>): A => {
  const result = codec.decode(json);
  if (either.isRight(result)) return result.right;
  throw new ScoreInputError(issuesOf(result.left).map((i) => `${i.path}: ${i.message}`).join("; "));
};

/**
 * Parse a JSONL scoring file. Throws a {@link ScoreInputError} naming `source:line` and the field
 * for the first malformed line.
 *
 * @example
 * ```ts
 * parseScoreLines('{"prompt": "Hi", "completion": 3}', "a.jsonl"); // throws: a.jsonl:1: completion: must be a string (got 3)
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
    const fields = json as Record<string, unknown>;
    const id = "id" in fields ? { id: fields.id } : {};
    try {
      // which kind the line is follows from its keys; the kind's codec then checks every field
      if ("prompt_ids" in fields || "completion_ids" in fields) {
        const { prompt_ids, completion_ids } = decodeLine(idsLine, fields);
        out.push({ line, ...id, kind: "ids", promptIds: [...prompt_ids], completionIds: [...completion_ids] });
      } else if ("prompt" in fields || "completion" in fields) {
        if (Array.isArray(fields.prompt) || Array.isArray(fields.completion)) {
          const { prompt, completion } = decodeLine(chatLine, fields);
          out.push({ line, ...id, kind: "chat", prompt: [...prompt] as ChatMessage[], completion: [...completion] as ChatMessage[] });
        } else {
          const { prompt, completion } = decodeLine(textLine, fields);
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
