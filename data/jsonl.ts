/**
 * JSON-lines files: a streaming reader that names `file:line` in every error, and atomic writers
 * (write a temporary file next to the target, then rename it over the target, so a reader never
 * sees half a file). Also {@link DataError}, the error every data loader throws.
 *
 * @example
 * ```ts
 * await writeJsonlAtomic("out/pairs.jsonl", [{ a: 1 }, { a: 2 }]);
 * for await (const row of readJsonlRows("out/pairs.jsonl")) console.log(row.where, row.value);
 * // out/pairs.jsonl:1 { a: 1 }
 * ```
 *
 * @module
 */
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

import { DataError } from "./errors.ts";
import { ensureDir, fsError } from "./fs-errors.ts";
import { decodeUtf8Line } from "./text.ts";

export { DataError, type DataProblem } from "./errors.ts";

/** A parsed line of a JSONL file: its 1-based line number, `file:line`, and the value. */
export interface JsonlRow {
  readonly line: number;
  readonly where: string;
  readonly value: unknown;
}

const parseLine = (text: string, file: string, line: number): JsonlRow | undefined => {
  const trimmed = (line === 1 ? text.replace(/^\uFEFF/, "") : text).trim();
  if (trimmed === "") return undefined;
  const where = `${file}:${line}`;
  try {
    return { line, where, value: JSON.parse(trimmed) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new DataError([{ where, message: `invalid JSON (${reason})` }]);
  }
};

/**
 * Parse JSONL text (blank lines skipped); `file` names the source in errors.
 *
 * @example
 * ```ts
 * parseJsonlText('{"a":1}\n\n{"a":2}\n', "x.jsonl"); // [{ line: 1, ... }, { line: 3, ... }]
 * ```
 */
export const parseJsonlText = (text: string, file: string): JsonlRow[] => {
  const rows: JsonlRow[] = [];
  text.split("\n").forEach((line, i) => {
    const row = parseLine(line, file, i + 1);
    if (row !== undefined) rows.push(row);
  });
  return rows;
};

/**
 * Stream the rows of a JSONL file, reading it in chunks (a large file is never held whole).
 * Stops after `maxRows` rows when given. Throws a {@link DataError} naming `file:line` for a line
 * that is not valid JSON.
 *
 * @example
 * ```ts
 * for await (const { where, value } of readJsonlRows("train.jsonl", { maxRows: 100 })) { ... }
 * ```
 */
export async function* readJsonlRows(
  path: string,
  { maxRows = Infinity, chunkBytes = 1 << 20 }: { maxRows?: number; chunkBytes?: number } = {},
): AsyncGenerator<JsonlRow> {
  if (maxRows <= 0) return;
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (e) {
    throw fsError(e, `read ${path}`);
  }
  try {
    const buffer = new Uint8Array(chunkBytes);
    let pending = new Uint8Array(0); // the bytes of a line not yet ended by "\n"
    let line = 0;
    let count = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null).catch((e) => {
        throw fsError(e, `read ${path}`); // e.g. a folder given as a file (EISDIR)
      });
      const done = bytesRead === 0;
      const bytes = new Uint8Array(pending.length + bytesRead);
      bytes.set(pending), bytes.set(buffer.subarray(0, bytesRead), pending.length);
      let from = 0;
      for (;;) {
        const end = bytes.indexOf(0x0a, from);
        if (end < 0 && !(done && from < bytes.length)) break;
        const stop = end < 0 ? bytes.length : end;
        // Each line is decoded strictly on its own, so invalid UTF-8 is refused with its line.
        const row = parseLine(decodeUtf8Line(bytes.subarray(from, stop), `${path}:${++line}`), path, line);
        from = stop + 1;
        if (row === undefined) continue;
        yield row;
        if (++count >= maxRows) return;
      }
      pending = bytes.slice(Math.min(from, bytes.length));
      if (done) return;
    }
  } finally {
    await handle.close();
  }
}

/**
 * All rows of a JSONL file (see {@link readJsonlRows}).
 *
 * @example
 * ```ts
 * const rows = await readJsonl("train.jsonl"); // [{ line, where, value }, ...]
 * ```
 */
export const readJsonl = async (path: string, options: { maxRows?: number } = {}): Promise<JsonlRow[]> => {
  const rows: JsonlRow[] = [];
  for await (const row of readJsonlRows(path, options)) rows.push(row);
  return rows;
};

/**
 * Values as JSONL text: one compact JSON document per line, each line ending in `\n`.
 *
 * @example
 * ```ts
 * toJsonlText([{ a: 1 }, [2]]); // '{"a":1}\n[2]\n'
 * ```
 */
export const toJsonlText = (values: readonly unknown[]): string =>
  values.map((v, i) => {
    const s = JSON.stringify(v);
    if (s === undefined) throw new TypeError(`toJsonlText: value ${i} cannot be written as JSON`);
    return `${s}\n`;
  }).join("");

/**
 * Write `data` to `path` atomically: the parent folders are made, the bytes go to a temporary file
 * in the same folder (flushed to disk), and a rename puts it in place. A crash leaves either the
 * old file or the new one, never a mix; the temporary file is removed on failure.
 *
 * @example
 * ```ts
 * await writeFileAtomic("runs/demo/iter-1/metrics.json", JSON.stringify(metrics));
 * ```
 */
export const writeFileAtomic = async (path: string, data: string | Uint8Array): Promise<void> => {
  const dir = dirname(path);
  await ensureDir(dir);
  const temp = join(
    dir,
    `.${basename(path)}.tmp-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`,
  );
  try {
    const handle = await open(temp, "w");
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => {}); // the write's own error is the one to report
    throw fsError(error, `write ${path}`);
  }
};

/**
 * Write `values` as JSONL to `path` atomically ({@link writeFileAtomic}).
 *
 * @example
 * ```ts
 * await writeJsonlAtomic("runs/demo/iter-1/generations.jsonl", generations);
 * ```
 */
export const writeJsonlAtomic = async (path: string, values: readonly unknown[]): Promise<void> =>
  await writeFileAtomic(path, toJsonlText(values));
