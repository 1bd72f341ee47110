/**
 * SFT data as normalized examples `{ id, where, prompt, completion, promptMessages }`, from
 * JSONL or Parquet files in two schemas:
 *
 * - `messages` (UltraChat): `{"messages": [{"role": "user", "content": …}, {"role": "assistant", …}, …]}`.
 *   With `turns: "first"` (default) the first user turn is the prompt and the first assistant turn
 *   the completion; with `turns: "multi"` every turn before the LAST assistant turn is the prompt
 *   (rendered by the chat template) and that last assistant turn the completion.
 * - `prompt-completion`: `{"prompt": "…", "completion": "…"}` taken as they are (or TRL's
 *   conversational form, lists of messages, rendered by the chat template).
 *
 * The chat template is a callback `(messages, addGenerationPrompt) => string`, so this folder
 * does not depend on models/. Without one, a single-user-turn prompt is its text as it is.
 * Token-id truncation with TRL/SPIN semantics is in {@link truncateTokenIds}.
 *
 * @example
 * ```ts
 * const examples = await loadSftExamples("ultrachat.jsonl", { schema: "messages", chatTemplate: render });
 * examples[0]; // { id: "…", where: "ultrachat.jsonl:1", prompt: "<|user|>…", completion: "…", promptMessages: [...] }
 * ```
 *
 * @module
 */
import { DataError, type DataProblem, readJsonlRows } from "./jsonl.ts";
import { readParquetRows } from "./parquet.ts";

/**
 * One turn of a conversation. A type alias (not an interface) so that it is assignable to
 * models/chat-template's `ChatMessage`, which has an index signature.
 */
export type ChatTurn = {
  readonly role: string;
  readonly content: string;
};

/**
 * Renders a conversation to the model's prompt text; `addGenerationPrompt` opens the assistant turn.
 *
 * @example
 * ```ts
 * import { applyChatTemplate } from "../models/chat-template.ts";
 * const chatTemplate: ChatTemplateFn = (messages, addGenerationPrompt) =>
 *   applyChatTemplate(tokenizer, messages, { addGenerationPrompt });
 * ```
 */
export type ChatTemplateFn = (messages: readonly ChatTurn[], addGenerationPrompt: boolean) => string;

/** A normalized SFT example. */
export interface SftExample {
  /** The row's `prompt_id` or `id` when it has one, else `where`. */
  readonly id: string;
  /** `file:line` (JSONL) or `file row N` (Parquet). */
  readonly where: string;
  /** The text the model is given, chat template applied where there is one. */
  readonly prompt: string;
  /** The SFT answer (the winner y_w), as written in the data: no end-of-turn token is added here. */
  readonly completion: string;
  /** The conversation before the answer (messages schema or conversational rows), else null. */
  readonly promptMessages: readonly ChatTurn[] | null;
}

/** How rows are read into {@link SftExample}s. */
export interface SftOptions {
  readonly schema: "messages" | "prompt-completion";
  /** `first` (default): the first user/assistant exchange; `multi`: up to the last assistant turn. */
  readonly turns?: "first" | "multi";
  readonly chatTemplate?: ChatTemplateFn;
}

const show = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
};
const fail = (where: string, message: string): never => {
  throw new DataError([{ where, message }]);
};
const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

/**
 * Check a list of chat turns: objects with string `role` and `content`, roles `system` (first
 * only), then `user` and `assistant` alternating, starting with `user`. `field` names the list in
 * messages (`messages`, `prompt`).
 *
 * @example
 * ```ts
 * checkTurns([{ role: "user", content: "hi" }], "t.jsonl:1", "messages"); // the same list, typed
 * ```
 */
export const checkTurns = (value: unknown, where: string, field: string): ChatTurn[] => {
  if (!Array.isArray(value)) {
    return fail(where, `field "${field}" must be a list of {role, content} (got ${show(value)})`);
  }
  const turns = value.map((m, i): ChatTurn => {
    if (!isRecord(m)) return fail(where, `${field}[${i}] must be an object {role, content} (got ${show(m)})`);
    if (typeof m.role !== "string") {
      return fail(where, `${field}[${i}].role must be a string (got ${show(m.role)})`);
    }
    if (typeof m.content !== "string") {
      return fail(where, `${field}[${i}].content must be a string (got ${show(m.content)})`);
    }
    return { role: m.role, content: m.content };
  });
  const start = turns[0]?.role === "system" ? 1 : 0;
  turns.forEach((turn, i) => {
    if (!["system", "user", "assistant"].includes(turn.role)) {
      fail(where, `${field}[${i}].role must be "system", "user" or "assistant" (got ${show(turn.role)})`);
    }
    if (i < start) return;
    const expected = (i - start) % 2 === 0 ? "user" : "assistant";
    if (turn.role !== expected) {
      fail(
        where,
        `wrong role order: ${field}[${i}] is "${turn.role}", expected "${expected}" (an optional system turn, then user and assistant alternating)`,
      );
    }
  });
  return turns;
};

const renderPrompt = (
  messages: readonly ChatTurn[],
  where: string,
  template: ChatTemplateFn | undefined,
): string => {
  if (template !== undefined) return template(messages, true);
  if (messages.length === 1 && messages[0].role === "user") return messages[0].content;
  return fail(
    where,
    `a prompt of ${messages.length} turns (${
      messages.map((m) => m.role).join(", ")
    }) needs a chat template to render it`,
  );
};

const exampleId = (row: Record<string, unknown>, where: string): string => {
  for (const key of ["prompt_id", "id"]) {
    const v = row[key];
    if (typeof v === "string" && v !== "") return v;
    if (typeof v === "number" || typeof v === "bigint") return String(v);
  }
  return where;
};

const checkCompletion = (text: string, where: string, source: string): string =>
  text.trim() === "" ? fail(where, `empty completion (${source} is empty)`) : text;

const fromMessages = (row: Record<string, unknown>, where: string, options: SftOptions): SftExample => {
  if (!("messages" in row)) {
    const hint = "prompt" in row && "completion" in row
      ? ' (this row looks like the "prompt-completion" schema: set data.schema to "prompt-completion")'
      : "";
    return fail(where, `missing field "messages"${hint}`);
  }
  const turns = checkTurns(row.messages, where, "messages");
  const assistants = turns.flatMap((m, i) => (m.role === "assistant" ? [i] : []));
  if (assistants.length === 0) return fail(where, "no assistant turn in messages");
  const answer = (options.turns ?? "first") === "first" ? assistants[0] : assistants[assistants.length - 1];
  const promptMessages = turns.slice(0, answer);
  return {
    id: exampleId(row, where),
    where,
    prompt: renderPrompt(promptMessages, where, options.chatTemplate),
    completion: checkCompletion(turns[answer].content, where, `messages[${answer}].content`),
    promptMessages,
  };
};

const fromPromptCompletion = (
  row: Record<string, unknown>,
  where: string,
  options: SftOptions,
): SftExample => {
  for (const key of ["prompt", "completion"]) {
    if (!(key in row)) {
      const hint = "messages" in row ? ' (this row looks like the "messages" schema: set data.schema to "messages")' : "";
      return fail(where, `missing field "${key}"${hint}`);
    }
  }
  const id = exampleId(row, where);
  let prompt: string;
  let promptMessages: ChatTurn[] | null = null;
  if (typeof row.prompt === "string") {
    prompt = row.prompt;
  } else if (Array.isArray(row.prompt)) {
    promptMessages = checkTurns(row.prompt, where, "prompt");
    if (promptMessages.length === 0 || promptMessages[promptMessages.length - 1].role !== "user") {
      return fail(where, 'a conversational "prompt" must end with a user turn');
    }
    prompt = renderPrompt(promptMessages, where, options.chatTemplate);
  } else {
    return fail(where, `field "prompt" must be a string or a list of messages (got ${show(row.prompt)})`);
  }
  if (prompt.trim() === "") return fail(where, "empty prompt");
  let completion: string;
  if (typeof row.completion === "string") {
    completion = checkCompletion(row.completion, where, "completion");
  } else if (Array.isArray(row.completion)) {
    const last = row.completion[row.completion.length - 1];
    if (
      row.completion.length !== 1 || !isRecord(last) || last.role !== "assistant" ||
      typeof last.content !== "string"
    ) {
      return fail(
        where,
        'a conversational "completion" must be one assistant turn [{"role": "assistant", "content": …}]',
      );
    }
    completion = checkCompletion(last.content, where, "completion[0].content");
  } else {
    return fail(
      where,
      `field "completion" must be a string or a list of messages (got ${show(row.completion)})`,
    );
  }
  return { id, where, prompt, completion, promptMessages };
};

/**
 * Normalize one row; throws a {@link DataError} naming `where` and the problem.
 *
 * @example
 * ```ts
 * normalizeSftRow({ prompt: "2+2=", completion: "4" }, "a.jsonl:1", { schema: "prompt-completion" });
 * // { id: "a.jsonl:1", where: "a.jsonl:1", prompt: "2+2=", completion: "4", promptMessages: null }
 * ```
 */
export const normalizeSftRow = (row: unknown, where: string, options: SftOptions): SftExample => {
  if (!isRecord(row)) return fail(where, `a row must be a JSON object (got ${show(row)})`);
  return options.schema === "messages"
    ? fromMessages(row, where, options)
    : fromPromptCompletion(row, where, options);
};

/**
 * Normalize rows, collecting problems: throws one {@link DataError} listing the first
 * `maxProblems` problems (and how many more) when any row is bad.
 *
 * @example
 * ```ts
 * normalizeSftRows(rows, { schema: "messages" }); // SftExample[]
 * ```
 */
export const normalizeSftRows = (
  rows: Iterable<{ readonly where: string; readonly value: unknown }>,
  options: SftOptions,
  maxProblems = 10,
): SftExample[] => {
  const examples: SftExample[] = [];
  const problems: DataProblem[] = [];
  let more = 0;
  for (const { where, value } of rows) {
    try {
      examples.push(normalizeSftRow(value, where, options));
    } catch (error) {
      if (!(error instanceof DataError)) throw error;
      if (problems.length < maxProblems) problems.push(...error.problems);
      else more++;
    }
  }
  if (problems.length > 0) throw new DataError(problems, more);
  return examples;
};

/**
 * The format of a data file from its extension: `.jsonl`/`.ndjson` →
 * jsonl, `.parquet`/`.pq` → parquet; anything else is an error asking for `data.format`.
 *
 * @example
 * ```ts
 * detectDataFormat("train_sft-00000-of-00003.parquet"); // "parquet"
 * ```
 */
export const detectDataFormat = (path: string): "jsonl" | "parquet" => {
  const lower = path.toLowerCase();
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) return "jsonl";
  if (lower.endsWith(".parquet") || lower.endsWith(".pq")) return "parquet";
  throw new DataError([{
    where: path,
    message: 'cannot tell the format from the file name; set data.format to "jsonl" or "parquet"',
  }]);
};

/** Options of {@link loadSftExamples}. */
export interface LoadSftOptions extends SftOptions {
  readonly format?: "auto" | "jsonl" | "parquet";
  /** Read only the first rows of the file. */
  readonly maxExamples?: number | null;
}

/**
 * Load a JSONL or Parquet file of SFT rows as {@link SftExample}s. Every problem (invalid JSON,
 * missing or mistyped field, wrong role order, no assistant turn, empty completion) is reported
 * with its `file:line` (or `file row N`); nothing is returned unless every row is good.
 *
 * @example
 * ```ts
 * const examples = await loadSftExamples("train.parquet", { schema: "messages", maxExamples: 1000 });
 * ```
 */
export const loadSftExamples = async (path: string, options: LoadSftOptions): Promise<SftExample[]> => {
  if ((options.turns ?? "first") === "multi" && options.chatTemplate === undefined) {
    throw new DataError([{
      where: path,
      message: 'turns "multi" needs a chat template to render multi-turn prompts',
    }]);
  }
  const format = options.format === undefined || options.format === "auto"
    ? detectDataFormat(path)
    : options.format;
  const maxRows = options.maxExamples ?? undefined;
  const rows: { where: string; value: unknown }[] = [];
  if (format === "parquet") rows.push(...await readParquetRows(path, { maxRows }));
  else for await (const row of readJsonlRows(path, { maxRows })) rows.push(row);
  if (rows.length === 0) throw new DataError([{ where: path, message: "no examples (the file has no rows)" }]);
  return normalizeSftRows(rows, options);
};

// ---- token-id truncation ------------------------------------------------------------------------

/** Length limits in tokens: prompt + completion ≤ maxLength; prompt ≤ maxPromptLength (null: no limit). */
export interface TruncationLimits {
  readonly maxLength: number;
  readonly maxPromptLength: number | null;
}

/** The result of {@link truncateTokenIds}. */
export interface TruncatedIds {
  readonly prompt: number[];
  readonly completions: number[][];
  /** How many tokens were cut from the start of the prompt. */
  readonly promptCut: number;
  /** How many tokens were cut from the end of each completion. */
  readonly completionCuts: number[];
}

/**
 * Truncate token ids with TRL/SPIN semantics: keep the END of the prompt (cut from the left) to
 * `maxPromptLength`, then keep the START of each completion so that prompt + completion ≤
 * `maxLength`. A prompt that still leaves no room for a completion token (length ≥ maxLength,
 * possible when maxPromptLength is null) is an error naming `where`. Apply it to the ids the model
 * will see (after any BOS token is added).
 *
 * @example
 * ```ts
 * truncateTokenIds([1, 2, 3, 4], [[5, 6, 7], [8]], { maxLength: 5, maxPromptLength: 3 }, "a.jsonl:1");
 * // { prompt: [2, 3, 4], completions: [[5, 6], [8]], promptCut: 1, completionCuts: [1, 0] }
 * ```
 */
export const truncateTokenIds = (
  prompt: readonly number[],
  completions: readonly (readonly number[])[],
  limits: TruncationLimits,
  where: string,
): TruncatedIds => {
  const keep = limits.maxPromptLength === null
    ? prompt.length
    : Math.min(prompt.length, limits.maxPromptLength);
  const kept = prompt.slice(prompt.length - keep);
  const room = limits.maxLength - kept.length;
  if (room < 1) {
    const after = kept.length === prompt.length
      ? ""
      : ` (${kept.length} after keeping its end to maxPromptLength)`;
    throw new DataError([{
      where,
      message:
        `prompt of ${prompt.length} tokens${after} leaves no room for a completion within maxLength ${limits.maxLength}`,
    }]);
  }
  return {
    prompt: kept,
    completions: completions.map((c) => c.slice(0, room)),
    promptCut: prompt.length - kept.length,
    completionCuts: completions.map((c) => Math.max(0, c.length - room)),
  };
};
