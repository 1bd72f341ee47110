/**
 * Small file-system helpers shared by the checkpoint, tokenizer and adapter readers and writers.
 * They use `node:fs/promises`, which Deno provides too, so the same code runs under both runtimes.
 *
 * - {@link writeFileAtomic}: write a temporary file in the target's folder, then rename it over the
 *   target. A reader (or a resumed run) sees the old file or the new one, never a half-written one.
 * - {@link readJsonFile}: read and parse a JSON file; the error says which file and what went wrong
 *   (missing, unreadable, not JSON, not an object).
 * - {@link pathExists}: whether a path exists (file or folder).
 *
 * @example
 * ```ts
 * import { readJsonFile, writeFileAtomic } from "./fs.ts";
 * await writeFileAtomic("run/config.json", JSON.stringify({ r: 8 }));
 * const config = await readJsonFile("run/config.json"); // { r: 8 }
 * ```
 *
 * @module
 */
import { readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fsError } from "../data/fs-errors.ts";

let tempCounter = 0;

/**
 * Whether `path` exists (a file or a folder).
 *
 * @example
 * ```ts
 * if (await pathExists("model/tokenizer.json")) console.log("has a tokenizer");
 * ```
 */
export const pathExists = async (path: string): Promise<boolean> => {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
};

/**
 * Write `data` to `path` atomically: first to a temporary file in the same folder (so the rename
 * stays on one file system), then rename it over `path`. On failure the temporary file is removed
 * and `path` is left as it was. The folder must exist.
 *
 * @example
 * ```ts
 * await writeFileAtomic("adapter/adapter_config.json", JSON.stringify(config, null, 2) + "\n");
 * ```
 */
export const writeFileAtomic = async (path: string, data: Uint8Array | string): Promise<void> => {
  const temp = join(
    dirname(path),
    `.${basename(path)}.tmp-${Date.now()}-${tempCounter++}-${Math.random().toString(36).slice(2, 8)}`,
  );
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw fsError(e, `write ${path}`); // names the file: Node's ENOSPC message does not
  }
};

/**
 * Read and parse the JSON file at `path`. Errors name the file: it does not exist, cannot be read,
 * or is not valid JSON (with the parser's message).
 *
 * @example
 * ```ts
 * const index = await readJsonFile("model/model.safetensors.index.json");
 * ```
 */
export const readJsonFile = async (path: string): Promise<unknown> => {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new Error(
      code === "ENOENT" ? `${path} does not exist` : `cannot read ${path}: ${(e as Error).message}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
};

/**
 * Read a JSON file whose top level must be an object; errors as {@link readJsonFile}, plus one
 * when the top level is an array, a string, a number or null.
 *
 * @example
 * ```ts
 * const config = await readJsonObject("model/config.json");
 * console.log(config.model_type);
 * ```
 */
export const readJsonObject = async (path: string): Promise<Record<string, unknown>> => {
  const value = await readJsonFile(path);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(
      `${path} must hold a JSON object, found ${
        value === null ? "null" : Array.isArray(value) ? "an array" : typeof value
      }`,
    );
  }
  return value as Record<string, unknown>;
};
