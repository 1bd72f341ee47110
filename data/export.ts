/**
 * Exports of an iteration's preference pairs, and loaders that read them back:
 *
 * - TRL's DPO format (standard, text): one JSON object per line with `prompt`, `chosen`,
 *   `rejected`, and the pre-computed reference log-probs `ref_chosen_logps`, `ref_rejected_logps`
 *   (the column names TRL's DPOTrainer uses when reference log-probs are pre-computed), plus
 *   `prompt_id` when the example has an id. `chosen`/`rejected` are the completions only.
 * - The same rows as Parquet (`prompt_id`, `prompt`, `chosen`, `rejected` as UTF-8 strings, the two
 *   log-probs as DOUBLE), for `datasets.load_dataset("parquet", …)` and other engines.
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
import { parquetWriteBuffer } from "hyparquet-writer";
import { DataError, type DataProblem, readJsonl, writeFileAtomic, writeJsonlAtomic } from "./jsonl.ts";
import { readParquetRows } from "./parquet.ts";
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

/**
 * The α-mixed reference log-prob of one completion, α·lp_prev + (1 − α)·lp_base: the log of the
 * unnormalized geometric mixture π_prev^α·π_base^(1−α) (core/mixture.ts, `geometricReference`, on
 * tensors). `lpPrev` and `lpBase` are summed over the completion tokens, as TRL sums its `logps`:
 * every completion token, the appended EOS included, none of the prompt's. The endpoints are exact
 * copies (α = 1 gives lp_prev, SPIN; α = 0 gives lp_base). Throws a RangeError for α outside [0, 1]
 * or a log-prob that is not finite.
 *
 * @example
 * ```ts
 * alphaMixedLogp(0.25, -4, -8); // -7
 * ```
 */
export const alphaMixedLogp = (alpha: number, lpPrev: number, lpBase: number): number => {
  if (!(alpha >= 0 && alpha <= 1)) {
    throw new RangeError(`alphaMixedLogp: alpha must be in [0, 1], got ${alpha}`);
  }
  if (!Number.isFinite(lpPrev) || !Number.isFinite(lpBase)) {
    throw new RangeError(
      `alphaMixedLogp: log-probs must be finite, got lp_prev ${lpPrev}, lp_base ${lpBase}`,
    );
  }
  return alpha === 1 ? lpPrev : alpha === 0 ? lpBase : alpha * lpPrev + (1 - alpha) * lpBase;
};

/** The summed completion log-probs of a pair under π_{t−1} (prev) and π_base (base). */
export interface PairReferenceLogps {
  readonly lpPrevChosen: number;
  readonly lpBaseChosen: number;
  readonly lpPrevRejected: number;
  readonly lpBaseRejected: number;
}

/**
 * A record with its reference log-probs set to the α-mixed reference of chosen and rejected, the
 * values TRL's DPOTrainer reads from `ref_chosen_logps` / `ref_rejected_logps`.
 *
 * @example
 * ```ts
 * const r = withAlphaMixedReference(record, 0.5, { lpPrevChosen: -2, lpBaseChosen: -4, lpPrevRejected: -6, lpBaseRejected: -10 });
 * r.refChosenLogp; // -3
 * ```
 */
export const withAlphaMixedReference = (
  record: PreferenceRecord,
  alpha: number,
  lp: PairReferenceLogps,
): PreferenceRecord => ({
  ...record,
  refChosenLogp: alphaMixedLogp(alpha, lp.lpPrevChosen, lp.lpBaseChosen),
  refRejectedLogp: alphaMixedLogp(alpha, lp.lpPrevRejected, lp.lpBaseRejected),
});

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

type RefKey = "refChosenLogp" | "refRejectedLogp";

/** A log-prob column: all of the records have it (DOUBLE), or none (left out); a mix is refused. */
const logpColumn = (path: string, records: readonly PreferenceRecord[], key: RefKey, name: string) => {
  const bad = records.findIndex((r) => r[key] !== null && !Number.isFinite(r[key]));
  if (bad !== -1) {
    fail(`${path} record ${bad + 1}`, `field "${name}" must be finite (got ${records[bad][key]})`);
  }
  const missing = records.findIndex((r) => r[key] === null);
  if (missing === -1) return [{ name, data: records.map((r) => r[key] as number), type: "DOUBLE" as const }];
  if (records.every((r) => r[key] === null)) return [];
  const at = records.findIndex((r) => r[key] !== null);
  return fail(
    `${path} record ${missing + 1}`,
    `field "${name}" is missing here but set at record ${at + 1}: a Parquet column is all set or absent`,
  );
};

/**
 * Write records as TRL DPO Parquet (Snappy), atomically: `prompt_id` (when any record has an id;
 * null for the others), `prompt`, `chosen`, `rejected`, and `ref_chosen_logps` /
 * `ref_rejected_logps` as DOUBLE when every record has them. Records where only some have a
 * log-prob are refused (naming the first such record) before anything is written.
 *
 * @example
 * ```ts
 * await writeTrlDpoParquet("runs/demo/iter-1/pairs.dpo.parquet", records);
 * ```
 */
export const writeTrlDpoParquet = async (
  path: string,
  records: readonly PreferenceRecord[],
): Promise<void> => {
  if (records.length === 0) fail(path, "no records to write (a Parquet export needs at least one row)");
  const columns = [
    ...(records.some((r) => r.id !== null)
      ? [{ name: "prompt_id", data: records.map((r) => r.id), type: "STRING" as const }]
      : []),
    { name: "prompt", data: records.map((r) => r.prompt), type: "STRING" as const, nullable: false },
    { name: "chosen", data: records.map((r) => r.chosen), type: "STRING" as const, nullable: false },
    { name: "rejected", data: records.map((r) => r.rejected), type: "STRING" as const, nullable: false },
    ...logpColumn(path, records, "refChosenLogp", "ref_chosen_logps"),
    ...logpColumn(path, records, "refRejectedLogp", "ref_rejected_logps"),
  ];
  const bytes = parquetWriteBuffer({ columnData: columns, createdBy: "alpha-spin" });
  await writeFileAtomic(path, new Uint8Array(bytes));
};

/**
 * Read TRL DPO Parquet (ours, or any file with TRL's standard columns); every bad row is reported
 * with `file row N`.
 *
 * @example
 * ```ts
 * const records = await readTrlDpoParquet("pairs.dpo.parquet");
 * ```
 */
export const readTrlDpoParquet = async (path: string): Promise<PreferenceRecord[]> =>
  parseAll(
    (await readParquetRows(path)).map(({ where, value }) => ({
      where,
      value: value.prompt_id === null ? { ...value, prompt_id: undefined } : value,
    })),
    fromTrlDpoRow,
  );
