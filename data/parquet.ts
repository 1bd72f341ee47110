/**
 * Parquet files through hyparquet (pure JavaScript): rows as plain objects, nested lists and
 * structs included (UltraChat's `messages` column reads as a list of `{role, content}` objects).
 * The file is read by byte ranges, so only the footer and the needed column chunks are loaded.
 * hyparquet decodes uncompressed and Snappy files (the Hugging Face Hub's default); other codecs
 * fail with a message naming the file.
 *
 * @example
 * ```ts
 * const rows = await readParquetRows("train_sft-00000-of-00003.parquet", { maxRows: 1000 });
 * rows[0].where; // "train_sft-00000-of-00003.parquet row 1"
 * ```
 *
 * @module
 */
import { open } from "node:fs/promises";
import { parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import type { AsyncBuffer } from "hyparquet";
import { DataError } from "./jsonl.ts";
import { fsError } from "./fs-errors.ts";

/** A row of a Parquet file: its 1-based number, `file row N`, and the row as an object. */
export interface ParquetRowAt {
  readonly row: number;
  readonly where: string;
  readonly value: Record<string, unknown>;
}

/** Options of {@link readParquetRows}. */
export interface ParquetReadRowsOptions {
  /** Read at most this many rows (from the start). */
  readonly maxRows?: number;
  /** Read only these top-level columns. */
  readonly columns?: readonly string[];
}

/** Replace BigInt (Parquet INT64) by a number when exact, else by its decimal string. */
const plainValue = (v: unknown): unknown => {
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(plainValue);
  if (typeof v === "object" && v !== null && !(v instanceof Date) && !(v instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainValue(x)]));
  }
  return v;
};

/**
 * Read the rows of a Parquet file as objects. INT64 values come back as numbers (or decimal
 * strings past 2^53), so rows can be written as JSON. Throws a {@link DataError} naming the file
 * when it is not Parquet or cannot be decoded.
 *
 * @example
 * ```ts
 * const rows = await readParquetRows("data.parquet", { columns: ["prompt", "messages"] });
 * ```
 */
export const readParquetRows = async (
  path: string,
  options: ParquetReadRowsOptions = {},
): Promise<ParquetRowAt[]> => {
  const handle = await open(path, "r").catch((e) => {
    throw fsError(e, `read ${path}`);
  });
  try {
    const { size } = await handle.stat();
    const file: AsyncBuffer = {
      byteLength: size,
      slice: async (start: number, end?: number): Promise<ArrayBuffer> => {
        const stop = Math.min(end ?? size, size);
        const bytes = new Uint8Array(Math.max(0, stop - start));
        let filled = 0;
        while (filled < bytes.length) {
          const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, start + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return bytes.buffer;
      },
    };
    let rows: Record<string, unknown>[];
    try {
      const metadata = await parquetMetadataAsync(file);
      const total = Number(metadata.num_rows);
      const rowEnd = options.maxRows === undefined ? total : Math.min(total, Math.max(0, options.maxRows));
      rows = rowEnd === 0 ? [] : await parquetReadObjects({
        file,
        metadata,
        rowStart: 0,
        rowEnd,
        columns: options.columns === undefined ? undefined : [...options.columns],
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new DataError([{ where: path, message: `cannot read Parquet (${reason})` }]);
    }
    return rows.map((value, i) => ({
      row: i + 1,
      where: `${path} row ${i + 1}`,
      value: plainValue(value) as Record<string, unknown>,
    }));
  } finally {
    await handle.close();
  }
};
