/**
 * safetensors files on disk: read one file (only the tensors asked for, without loading the rest),
 * write one atomically, and read a Hugging Face model folder whose weights are one
 * `model.safetensors` or shards listed by `model.safetensors.index.json`
 * (`{"metadata": {...}, "weight_map": {tensor name: shard file name}}`).
 *
 * @example
 * ```ts
 * import { readSafetensorsFile, readSafetensorsFolder } from "./safetensors-file.ts";
 * const one = await readSafetensorsFile("adapter/adapter_model.safetensors");
 * const all = await readSafetensorsFolder("TinyLlama-1.1B", { names: ["model.norm.weight"] });
 * ```
 *
 * @module
 */
import { open } from "node:fs/promises";
import { join } from "node:path";
import { pathExists, readJsonObject, writeFileAtomic } from "./fs.ts";
import {
  decodeHeaderText,
  parseSafetensorsHeader,
  type SafetensorsContents,
  type SafetensorsEntry,
  safetensorsEntry,
  safetensorsHeaderLength,
  type TensorToWrite,
  writeSafetensors,
  type WriteSafetensorsOptions,
} from "./safetensors.ts";
import { SafetensorsError } from "./safetensors-dtypes.ts";

/** Options of {@link readSafetensorsFile} and {@link readSafetensorsFolder}. */
export interface ReadSafetensorsFileOptions {
  /** Read only these tensors (names the file lacks are ignored). Default: all. */
  readonly names?: Iterable<string>;
}

/**
 * Read and validate a safetensors file. The header is checked against the file size first; then
 * only the requested tensors' bytes are read (so a subset of a large shard costs only its size).
 *
 * @example
 * ```ts
 * const file = await readSafetensorsFile("model.safetensors", { names: ["lm_head.weight"] });
 * file.get("lm_head.weight")?.shape; // [V, d]
 * ```
 */
export const readSafetensorsFile = async (
  path: string,
  options: ReadSafetensorsFileOptions = {},
): Promise<SafetensorsContents> => {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new SafetensorsError(
      code === "ENOENT" ? `${path} does not exist` : `cannot open ${path}: ${(e as Error).message}`,
    );
  }
  try {
    const size = (await handle.stat()).size;
    const readAt = async (position: number, length: number): Promise<Uint8Array> => {
      const buffer = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(
          buffer,
          done,
          Math.min(length - done, 1 << 30),
          position + done,
        );
        if (bytesRead === 0) {
          throw new SafetensorsError(`${path}: unexpected end of file at byte ${position + done}`);
        }
        done += bytesRead;
      }
      return buffer;
    };
    const n = safetensorsHeaderLength(await readAt(0, Math.min(8, size)), size, path);
    const header = parseSafetensorsHeader(
      decodeHeaderText(await readAt(8, n), path),
      size - 8 - n,
      path,
      8 + n,
    );
    const wanted = options.names === undefined ? null : new Set(options.names);
    const contents = new Map<string, SafetensorsEntry>();
    for (const t of header.tensors) {
      if (wanted !== null && !wanted.has(t.name)) continue;
      const [begin, end] = t.dataOffsets;
      contents.set(
        t.name,
        safetensorsEntry(t.dtype, t.shape, await readAt(header.dataStart + begin, end - begin)),
      );
    }
    return Object.assign(contents, { metadata: header.metadata });
  } finally {
    await handle.close();
  }
};

/**
 * Write tensors as a safetensors file atomically (temporary file + rename; the folder must exist).
 *
 * @example
 * ```ts
 * const tensors = { "lm_head.weight": { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] } };
 * await writeSafetensorsFile("out/model.safetensors", tensors, { format: "pt" });
 * ```
 */
export const writeSafetensorsFile = async (
  path: string,
  tensors: ReadonlyMap<string, TensorToWrite> | Readonly<Record<string, TensorToWrite>>,
  metadata?: Readonly<Record<string, string>>,
  options?: WriteSafetensorsOptions,
): Promise<void> => {
  await writeFileAtomic(path, writeSafetensors(tensors, metadata, options));
};

/**
 * File name of the shard index in a Hugging Face model folder.
 *
 * @example
 * ```ts
 * import { join } from "node:path";
 * const dir = "TinyLlama-1.1B-Chat-v1.0";
 * join(dir, safetensorsIndexName); // ".../model.safetensors.index.json"
 * ```
 */
export const safetensorsIndexName = "model.safetensors.index.json";

/**
 * Which file holds each tensor of a model folder: the index's `weight_map` for a sharded folder,
 * or every tensor of `model.safetensors` for a single file. Errors name a folder without weights
 * (and mention a `pytorch_model.bin`, which must be converted first) and a malformed index.
 *
 * @example
 * ```ts
 * const map = await safetensorsWeightMap("TinyLlama-1.1B");
 * map.get("lm_head.weight"); // "model-00002-of-00002.safetensors"
 * ```
 */
export const safetensorsWeightMap = async (dir: string): Promise<Map<string, string>> => {
  const indexPath = join(dir, safetensorsIndexName);
  if (await pathExists(indexPath)) {
    const index = await readJsonObject(indexPath);
    const map = index.weight_map;
    if (typeof map !== "object" || map === null || Array.isArray(map)) {
      throw new SafetensorsError(`${indexPath} has no "weight_map" object`);
    }
    const out = new Map<string, string>();
    for (const [name, file] of Object.entries(map)) {
      if (typeof file !== "string" || file.length === 0 || file.includes("/") || file.includes("\\")) {
        throw new SafetensorsError(
          `${indexPath}: weight_map["${name}"] must be a file name in the folder, found ${
            JSON.stringify(file)
          }`,
        );
      }
      out.set(name, file);
    }
    return out;
  }
  const single = join(dir, "model.safetensors");
  if (await pathExists(single)) {
    const names = await safetensorsTensorNames(single);
    return new Map(names.map((n) => [n, "model.safetensors"]));
  }
  if (!(await pathExists(dir))) throw new SafetensorsError(`model folder ${dir} does not exist`);
  const hasBin = (await pathExists(join(dir, "pytorch_model.bin"))) ||
    (await pathExists(join(dir, "pytorch_model.bin.index.json")));
  throw new SafetensorsError(
    `model folder ${dir} has neither model.safetensors nor ${safetensorsIndexName}` +
      (hasBin ? " (it has pytorch_model.bin: convert the weights to safetensors first)" : ""),
  );
};

/**
 * The tensor names in a safetensors file, in header order (reads only the header).
 *
 * @example
 * ```ts
 * await safetensorsTensorNames("model.safetensors"); // ["model.embed_tokens.weight", ...]
 * ```
 */
export const safetensorsTensorNames = async (path: string): Promise<string[]> => {
  const handle = await open(path, "r");
  try {
    const size = (await handle.stat()).size;
    const prefix = new Uint8Array(Math.min(8, size));
    await handle.read(prefix, 0, prefix.length, 0);
    const n = safetensorsHeaderLength(prefix, size, path);
    const text = new Uint8Array(n);
    await handle.read(text, 0, n, 8);
    return parseSafetensorsHeader(decodeHeaderText(text, path), size - 8 - n, path, 8 + n).tensors.map((t) =>
      t.name
    );
  } finally {
    await handle.close();
  }
};

/**
 * Read the weights of a model folder (single file or shards) into one name → tensor map. With
 * `names`, only those tensors are read (each from its shard). A tensor the index lists but its shard
 * lacks is an error naming both. The metadata is the first file's.
 *
 * @example
 * ```ts
 * const weights = await readSafetensorsFolder("my-llama");
 * weights.get("model.embed_tokens.weight")?.data; // Float32Array
 * ```
 */
export const readSafetensorsFolder = async (
  dir: string,
  options: ReadSafetensorsFileOptions = {},
): Promise<SafetensorsContents> => {
  const map = await safetensorsWeightMap(dir);
  const wanted = options.names === undefined ? [...map.keys()] : [...options.names].filter((n) => map.has(n));
  const byFile = new Map<string, string[]>();
  for (const name of wanted) {
    const file = map.get(name)!;
    byFile.set(file, [...(byFile.get(file) ?? []), name]);
  }
  const out = new Map<string, SafetensorsEntry>();
  let metadata: Readonly<Record<string, string>> | null = null;
  for (const [file, names] of byFile) {
    const path = join(dir, file);
    if (!(await pathExists(path))) {
      throw new SafetensorsError(`${join(dir, safetensorsIndexName)} lists ${file}, which does not exist`);
    }
    const contents = await readSafetensorsFile(path, { names });
    metadata ??= contents.metadata;
    for (const name of names) {
      const entry = contents.get(name);
      if (entry === undefined) {
        throw new SafetensorsError(
          `${join(dir, safetensorsIndexName)} puts ${name} in ${file}, which lacks it`,
        );
      }
      out.set(name, entry);
    }
  }
  return Object.assign(out, { metadata: metadata ?? {} });
};
