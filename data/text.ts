/**
 * Strict UTF-8 for every text file the tool reads (JSONL data, score inputs, run configs): bytes
 * that are not UTF-8 are refused with the file and line, never replaced by U+FFFD (a replaced byte
 * would silently change the tokens a model is trained or scored on). A byte-order mark at the start
 * of a file is accepted and dropped, as editors on Windows write one.
 *
 * @example
 * ```ts
 * const text = await readUtf8File("run.json");       // BOM dropped; invalid UTF-8 → DataError "run.json:3: …"
 * decodeUtf8Line(new Uint8Array([0xc3, 0xa9]), "train.jsonl:12"); // "é"; a lone 0xe9 → "train.jsonl:12: invalid UTF-8 …"
 * ```
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { describeFsError, fsErrorCode } from "./fs-errors.ts";
import { DataError } from "./errors.ts";

// ignoreBOM: true keeps a BOM in the decoded text, so that only the one at the start of the file is
// dropped (by the callers), and one inside a line is not silently lost.
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decode one line's bytes; a {@link DataError} naming `where` when they are not UTF-8.
 *
 * @example
 * ```ts
 * decodeUtf8Line(new Uint8Array([0x68, 0x69]), "a.jsonl:1"); // "hi"
 * ```
 */
export const decodeUtf8Line = (bytes: Uint8Array, where: string): string => {
  try {
    return strict.decode(bytes);
  } catch {
    const at = firstInvalidByte(bytes);
    throw new DataError([{
      where,
      message: `invalid UTF-8 (byte ${at + 1} of the line${at < bytes.length ? `, 0x${bytes[at].toString(16).padStart(2, "0")}` : ""}); ` +
        "save the file as UTF-8",
    }]);
  }
};

/** The index of the first byte of the first invalid sequence in `bytes` (a lead byte whose sequence breaks, or a stray byte). */
const firstInvalidByte = (bytes: Uint8Array): number => {
  const decodes = (n: number, stream: boolean): boolean => {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, n), { stream });
      return true;
    } catch {
      return false;
    }
  };
  // The longest prefix a streaming decode accepts (a prefix of a valid prefix is valid): bisection.
  let lo = 0, hi = bytes.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (decodes(mid, true)) lo = mid;
    else hi = mid - 1;
  }
  if (decodes(lo, false)) return lo; // the byte at lo cannot start or continue a character
  let start = lo - 1; // the prefix ends inside a character: the bad sequence starts at its lead byte
  while (start > 0 && (bytes[start] & 0xc0) === 0x80) start--;
  return start;
};

/**
 * Decode a whole file's bytes strictly, line by line, so an error names `file:line`; a leading BOM
 * is dropped.
 *
 * @example
 * ```ts
 * decodeUtf8Text(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), "c.json"); // "{}"
 * ```
 */
export const decodeUtf8Text = (bytes: Uint8Array, file: string): string => {
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const body = bytes.subarray(start);
  try {
    return strict.decode(body);
  } catch {
    let line = 1, from = 0;
    for (;;) {
      const end = body.indexOf(0x0a, from);
      decodeUtf8Line(body.subarray(from, end < 0 ? body.length : end), `${file}:${line}`);
      if (end < 0) break;
      from = end + 1;
      line++;
    }
    throw new DataError([{ where: file, message: "invalid UTF-8" }]); // not reached: a line failed
  }
};

/**
 * Read a text file as strict UTF-8 ({@link decodeUtf8Text}); `what` names it in a read error
 * (`config file run.json does not exist`).
 *
 * @example
 * ```ts
 * const text = await readUtf8File("prompts.jsonl", "--data");
 * ```
 */
export const readUtf8File = async (path: string, what = "file"): Promise<string> => {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if (fsErrorCode(e) === "ENOENT") throw new Error(`${what} ${path} does not exist`);
    throw new Error(describeFsError(e, `read ${what} ${path}`));
  }
  return decodeUtf8Text(bytes, path);
};
