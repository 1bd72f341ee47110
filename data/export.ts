/**
 * Exports of an iteration's preference pairs, and loaders that read them back:
 *
 * - TRL's DPO format (standard, text): one JSON object per line with `prompt`, `chosen`,
 *   `rejected`, and the pre-computed reference log-probs `ref_chosen_logps`, `ref_rejected_logps`
 *   (the column names TRL's DPOTrainer uses when reference log-probs are pre-computed), plus
 *   `prompt_id` when the example has an id. `chosen`/`rejected` are the completions only.
 * - SPIN's format (the official SPIN code's generated data): `real` and `generated`, each the
 *   conversation `[...prompt turns, {"role": "assistant", "content": …}]` ending with the SFT answer
 *   (real) or the opponent's answer (generated). The loader also reads the later SPIN files that
 *   name the same lists `chosen` and `rejected`.
 *
 * @example
 * ```ts
 * await writeTrlDpoJsonl("runs/demo/iter-1/pairs.dpo.jsonl", records);
 * const back = await readTrlDpoJsonl("runs/demo/iter-1/pairs.dpo.jsonl"); // same prompts, answers, log-probs
 * ```
 *
 * @module
 */
import { DataError, type DataProblem, readJsonl, writeJsonlAtomic } from "./jsonl.ts";
import { type ChatTemplateFn, type ChatTurn, checkTurns } from "./sft.ts";

/** One preference pair of an iteration: the SFT answer (chosen) against the opponent's (rejected). */
export interface PreferenceRecord {
  readonly id: string | null;
  /** The prompt text the model saw. */
  readonly prompt: string;
  /** The conversation before the answers, when known (SPIN's format needs it; else one user turn). */
  readonly promptMessages: readonly ChatTurn[] | null;
  readonly chosen: string;
  readonly rejected: string;
  /** Sequence log-prob of chosen under the reference (α-combination), when computed. */
  readonly refChosenLogp: number | null;
  readonly refRejectedLogp: number | null;
}

/** A row of TRL's DPO format. */
export interface TrlDpoRow {
  readonly prompt_id?: string;
  readonly prompt: string;
  readonly chosen: string;
  readonly rejected: string;
  readonly ref_chosen_logps?: number;
  readonly ref_rejected_logps?: number;
}

/** A row of SPIN's real/generated format. */
export interface SpinRow {
  readonly real: readonly ChatTurn[];
  readonly generated: readonly ChatTurn[];
}

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u);
const fail = (where: string, message: string): never => {
  throw new DataError([{ where, message }]);
};
const show = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
};

/**
 * A record as a TRL DPO row; absent log-probs and id are left out.
 *
 * @example
 * ```ts
 * toTrlDpoRow({ id: null, prompt: "Q", promptMessages: null, chosen: "A", rejected: "B", refChosenLogp: -3, refRejectedLogp: -5 });
 * // { prompt: "Q", chosen: "A", rejected: "B", ref_chosen_logps: -3, ref_rejected_logps: -5 }
 * ```
 */
export const toTrlDpoRow = (r: PreferenceRecord): TrlDpoRow => ({
  ...(r.id === null ? {} : { prompt_id: r.id }),
  prompt: r.prompt,
  chosen: r.chosen,
  rejected: r.rejected,
  ...(r.refChosenLogp === null ? {} : { ref_chosen_logps: r.refChosenLogp }),
  ...(r.refRejectedLogp === null ? {} : { ref_rejected_logps: r.refRejectedLogp }),
});

const logpField = (row: Record<string, unknown>, key: string, where: string): number | null => {
  const v = row[key];
  if (v === undefined || v === null) return null;
  return typeof v === "number" && Number.isFinite(v)
    ? v
    : fail(where, `field "${key}" must be a finite number (got ${show(v)})`);
};

/**
 * Read a TRL DPO row back; throws a {@link DataError} naming `where` for a missing or mistyped field.
 *
 * @example
 * ```ts
 * fromTrlDpoRow({ prompt: "Q", chosen: "A", rejected: "B" }, "pairs.jsonl:1").refChosenLogp; // null
 * ```
 */
export const fromTrlDpoRow = (row: unknown, where: string): PreferenceRecord => {
  if (!isRecord(row)) return fail(where, `a row must be a JSON object (got ${show(row)})`);
  for (const key of ["prompt", "chosen", "rejected"]) {
    if (!(key in row)) return fail(where, `missing field "${key}"`);
    if (typeof row[key] !== "string") {
      return fail(where, `field "${key}" must be a string (got ${show(row[key])})`);
    }
  }
  const id = row.prompt_id;
  if (id !== undefined && typeof id !== "string") {
    return fail(where, `field "prompt_id" must be a string (got ${show(id)})`);
  }
  return {
    id: id ?? null,
    prompt: row.prompt as string,
    promptMessages: null,
    chosen: row.chosen as string,
    rejected: row.rejected as string,
    refChosenLogp: logpField(row, "ref_chosen_logps", where),
    refRejectedLogp: logpField(row, "ref_rejected_logps", where),
  };
};

/**
 * A record as a SPIN row: the prompt turns (one user turn with the prompt text when the record has
 * no `promptMessages`) followed by the assistant's answer.
 *
 * @example
 * ```ts
 * toSpinRow(record); // { real: [{ role: "user", content: "Q" }, { role: "assistant", content: "A" }], generated: [..., { role: "assistant", content: "B" }] }
 * ```
 */
export const toSpinRow = (r: PreferenceRecord): SpinRow => {
  const turns = r.promptMessages ?? [{ role: "user", content: r.prompt }];
  const copy = turns.map((m) => ({ role: m.role, content: m.content }));
  return {
    real: [...copy, { role: "assistant", content: r.chosen }],
    generated: [...copy.map((m) => ({ ...m })), { role: "assistant", content: r.rejected }],
  };
};

const splitConversation = (
  value: unknown,
  where: string,
  field: string,
): { prompt: ChatTurn[]; answer: string } => {
  const turns = checkTurns(value, where, field);
  const last = turns[turns.length - 1];
  if (last === undefined || last.role !== "assistant" || turns.length < 2) {
    return fail(where, `field "${field}" must end with an assistant turn after the prompt turns`);
  }
  return { prompt: turns.slice(0, -1), answer: last.content };
};

/**
 * Read a SPIN row back (`real`/`generated`, or `chosen`/`rejected` lists). Both conversations must
 * share their prompt turns. The prompt text is rendered by `chatTemplate` when given, else it is the
 * single user turn (a multi-turn prompt without a template is an error).
 *
 * @example
 * ```ts
 * fromSpinRow({ real: [u, a1], generated: [u, a2] }, "spin.jsonl:1").chosen; // a1.content
 * ```
 */
export const fromSpinRow = (row: unknown, where: string, chatTemplate?: ChatTemplateFn): PreferenceRecord => {
  if (!isRecord(row)) return fail(where, `a row must be a JSON object (got ${show(row)})`);
  const [winKey, loseKey] = "real" in row || "generated" in row
    ? ["real", "generated"]
    : ["chosen", "rejected"];
  for (const key of [winKey, loseKey]) if (!(key in row)) return fail(where, `missing field "${key}"`);
  const win = splitConversation(row[winKey], where, winKey);
  const lose = splitConversation(row[loseKey], where, loseKey);
  const same = win.prompt.length === lose.prompt.length &&
    win.prompt.every((m, i) => m.role === lose.prompt[i].role && m.content === lose.prompt[i].content);
  if (!same) return fail(where, `"${winKey}" and "${loseKey}" must share the same prompt turns`);
  let prompt: string;
  if (chatTemplate !== undefined) prompt = chatTemplate(win.prompt, true);
  else if (win.prompt.length === 1 && win.prompt[0].role === "user") prompt = win.prompt[0].content;
  else return fail(where, `a prompt of ${win.prompt.length} turns needs a chat template to render it`);
  return {
    id: null,
    prompt,
    promptMessages: win.prompt,
    chosen: win.answer,
    rejected: lose.answer,
    refChosenLogp: null,
    refRejectedLogp: null,
  };
};

const parseAll = <A>(
  rows: readonly { where: string; value: unknown }[],
  parse: (value: unknown, where: string) => A,
): A[] => {
  const out: A[] = [];
  const problems: DataProblem[] = [];
  let more = 0;
  for (const { where, value } of rows) {
    try {
      out.push(parse(value, where));
    } catch (error) {
      if (!(error instanceof DataError)) throw error;
      if (problems.length < 10) problems.push(...error.problems);
      else more++;
    }
  }
  if (problems.length > 0) throw new DataError(problems, more);
  return out;
};

/**
 * Write records as TRL DPO JSONL, atomically.
 *
 * @example
 * ```ts
 * await writeTrlDpoJsonl("runs/demo/iter-1/pairs.dpo.jsonl", records);
 * ```
 */
export const writeTrlDpoJsonl = async (path: string, records: readonly PreferenceRecord[]): Promise<void> =>
  await writeJsonlAtomic(path, records.map(toTrlDpoRow));

/**
 * Read TRL DPO JSONL; every bad row is reported with `file:line`.
 *
 * @example
 * ```ts
 * const records = await readTrlDpoJsonl("pairs.dpo.jsonl");
 * ```
 */
export const readTrlDpoJsonl = async (path: string): Promise<PreferenceRecord[]> =>
  parseAll(await readJsonl(path), fromTrlDpoRow);

/**
 * Write records in SPIN's real/generated format as JSONL, atomically.
 *
 * @example
 * ```ts
 * await writeSpinJsonl("runs/demo/iter-1/pairs.spin.jsonl", records);
 * ```
 */
export const writeSpinJsonl = async (path: string, records: readonly PreferenceRecord[]): Promise<void> =>
  await writeJsonlAtomic(path, records.map(toSpinRow));

/**
 * Read SPIN-format JSONL; every bad row is reported with `file:line`.
 *
 * @example
 * ```ts
 * const records = await readSpinJsonl("pairs.spin.jsonl", { chatTemplate: render });
 * ```
 */
export const readSpinJsonl = async (
  path: string,
  options: { chatTemplate?: ChatTemplateFn } = {},
): Promise<PreferenceRecord[]> =>
  parseAll(await readJsonl(path), (value, where) => fromSpinRow(value, where, options.chatTemplate));
