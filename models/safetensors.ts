/**
 * The safetensors format, read and written in memory (files and shards: safetensors-file.ts).
 *
 * Layout: 8 bytes little-endian u64 N, then N bytes of UTF-8 JSON header, then the data buffer. The
 * header maps each tensor name to `{dtype, shape, data_offsets: [begin, end]}` (offsets in bytes,
 * relative to the start of the data buffer, row-major little-endian data) and may hold
 * `"__metadata__": {string: string}`. A valid file's tensors tile the data buffer exactly: sorted by
 * offset, each begins where the previous one ends, and the last ends at the end of the file.
 *
 * Reading: every tensor's `data` is a Float32Array, decoded on first access. F32 is copied bit for
 * bit; F16, BF16, F8_E4M3 and F8_E5M2 are exact in float32; F64 is rounded to float32. Integer and
 * BOOL tensors are converted to float32 too (exact for |v| ≤ 2^24); {@link safetensorsIntegers}
 * gives their exact values (BigInt64Array for I64, BigUint64Array for U64). The header is checked
 * before any data is touched; errors say what is wrong and name the tensor.
 *
 * Writing: F32 by default, F16 or BF16 (rounded to nearest, ties to even) for the whole file or per
 * tensor, and I32 / I64 for integer tensors. Tensors are laid out by element size (largest first, then
 * in the given order), so with the header padded with spaces to a multiple of 8 bytes every tensor
 * starts at a multiple of its element size.
 *
 * @example
 * ```ts
 * import { readSafetensors, writeSafetensors } from "./safetensors.ts";
 * const bytes = writeSafetensors(new Map([["w", { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }]]), { format: "pt" });
 * const file = readSafetensors(bytes);
 * file.get("w")?.data;   // Float32Array [1, 2, 3, 4]
 * file.metadata.format;  // "pt"
 * ```
 *
 * @module
 */
import {
  decodeSafetensorsData,
  decodeSafetensorsIntegers,
  isSafetensorsDtype,
  type SafetensorsDtype,
  safetensorsDtypeSizes,
  SafetensorsError,
  type SafetensorsIntegerArray,
} from "./safetensors-dtypes.ts";

/** One tensor as described by the header. */
export interface SafetensorsTensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** [begin, end) in bytes, relative to the start of the data buffer. */
  readonly dataOffsets: readonly [number, number];
}

/** A parsed and validated header. */
export interface SafetensorsHeader {
  /** The tensors, in header order. */
  readonly tensors: readonly SafetensorsTensorInfo[];
  readonly metadata: Readonly<Record<string, string>>;
  /** Where the data buffer starts in the file: 8 + the header length. */
  readonly dataStart: number;
}

/** One tensor read from a file. */
export interface SafetensorsEntry {
  /** The dtype stored in the file. */
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Row-major values as float32 (decoded on first access, then kept). */
  readonly data: Float32Array;
  /** The stored little-endian bytes (a view, not a copy). */
  readonly bytes: Uint8Array;
}

/** The tensors of a file by name (in header order), with the file's `__metadata__`. */
export interface SafetensorsContents extends Map<string, SafetensorsEntry> {
  readonly metadata: Readonly<Record<string, string>>;
}

const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * Validate a header's JSON text against a data buffer of `dataLength` bytes. `source` prefixes
 * every error (a file path, or "safetensors").
 *
 * @example
 * ```ts
 * const header = parseSafetensorsHeader('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4);
 * header.tensors[0].name; // "w"
 * ```
 */
export const parseSafetensorsHeader = (
  headerText: string,
  dataLength: number,
  source = "safetensors",
  dataStart: number = 8 + new TextEncoder().encode(headerText).length,
): SafetensorsHeader => {
  const fail = (message: string): never => {
    throw new SafetensorsError(`${source}: ${message}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(headerText);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return fail("header is not a JSON object");
  }
  const tensors: SafetensorsTensorInfo[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return fail(`"__metadata__" must be an object of strings`);
      }
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== "string") {
          fail(`"__metadata__" entry "${k}" must be a string, found ${JSON.stringify(v)}`);
        }
      }
      metadata = value as Record<string, string>;
      continue;
    }
    const where = `tensor "${name}"`;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return fail(`${where}: entry must be an object`);
    }
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (!isSafetensorsDtype(dtype)) {
      return fail(
        `${where}: unknown dtype ${JSON.stringify(dtype)} (known: ${
          Object.keys(safetensorsDtypeSizes).join(", ")
        })`,
      );
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      return fail(`${where}: shape must be a list of non-negative integers, found ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) =>
        Number.isSafeInteger(o) && o >= 0
      ) ||
      offsets[0] > offsets[1]
    ) {
      return fail(
        `${where}: data_offsets must be [begin, end] with 0 <= begin <= end, found ${
          JSON.stringify(offsets)
        }`,
      );
    }
    const [begin, end] = offsets as [number, number];
    const want = elementCount(shape) * safetensorsDtypeSizes[dtype];
    if (end - begin !== want) {
      fail(
        `${where}: shape [${shape}] of ${dtype} needs ${want} bytes, but data_offsets [${begin}, ${end}] span ${
          end - begin
        }`,
      );
    }
    if (end > dataLength) {
      fail(
        `${where}: data_offsets [${begin}, ${end}] run past the end of the data buffer (${dataLength} bytes; truncated file?)`,
      );
    }
    tensors.push({ name, dtype, shape: [...shape] as number[], dataOffsets: [begin, end] });
  }
  const sorted = [...tensors].sort((a, b) =>
    a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]
  );
  let covered = 0;
  let previous: SafetensorsTensorInfo | null = null;
  for (const t of sorted) {
    const [begin, end] = t.dataOffsets;
    if (begin < covered && previous !== null) {
      fail(`tensors "${previous.name}" [${previous.dataOffsets}] and "${t.name}" [${begin},${end}] overlap`);
    }
    if (begin > covered) {
      fail(`bytes ${covered}..${begin} of the data buffer belong to no tensor (before "${t.name}")`);
    }
    covered = end;
    previous = t;
  }
  if (covered !== dataLength) {
    fail(
      `the data buffer has ${dataLength} bytes but the tensors cover only the first ${covered} (trailing bytes)`,
    );
  }
  return { tensors, metadata, dataStart };
};

/**
 * The header length N of a safetensors file from its first 8 bytes, checked against the file size.
 *
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 * const bytes = await readFile("model.safetensors");
 * safetensorsHeaderLength(bytes.subarray(0, 8), bytes.length); // e.g. 120
 * ```
 */
export const safetensorsHeaderLength = (
  prefix: Uint8Array,
  fileLength: number,
  source = "safetensors",
): number => {
  if (fileLength < 8 || prefix.length < 8) {
    throw new SafetensorsError(
      `${source}: file is ${fileLength} bytes, too short for the 8-byte header length`,
    );
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const low = view.getUint32(0, true), high = view.getUint32(4, true);
  const length = high * 2 ** 32 + low;
  if (length > fileLength - 8) {
    throw new SafetensorsError(
      `${source}: header length ${length} runs past the end of the file (${fileLength} bytes; truncated or not a safetensors file)`,
    );
  }
  return length;
};

/**
 * Decode header bytes as strict UTF-8 (an error names `source` when they are not UTF-8).
 *
 * @example
 * ```ts
 * decodeHeaderText(new TextEncoder().encode("{}")); // "{}"
 * ```
 */
export const decodeHeaderText = (bytes: Uint8Array, source = "safetensors"): string => {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new SafetensorsError(`${source}: header is not valid UTF-8`);
  }
};

/**
 * Exact values of an integer or BOOL tensor (I8 … U64): Int32Array for I32, BigInt64Array for I64,
 * Uint8Array of 0/1 for BOOL, and so on. Throws for float dtypes.
 *
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 * const file = readSafetensors(await readFile("model.safetensors"));
 * safetensorsIntegers(file.get("position_ids")!); // BigInt64Array [0n, 1n, 2n, …]
 * ```
 */
export const safetensorsIntegers = (entry: SafetensorsEntry): SafetensorsIntegerArray =>
  decodeSafetensorsIntegers(entry.dtype, entry.bytes);

class StoredTensor implements SafetensorsEntry {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
  #data: Float32Array | null = null;
  constructor(dtype: SafetensorsDtype, shape: readonly number[], bytes: Uint8Array) {
    this.dtype = dtype;
    this.shape = shape;
    this.bytes = bytes;
  }
  get data(): Float32Array {
    if (this.#data === null) this.#data = decodeSafetensorsData(this.dtype, this.bytes);
    return this.#data;
  }
}

/**
 * A tensor from its header entry and its stored bytes (used by the file readers).
 *
 * @example
 * ```ts
 * const entry = safetensorsEntry("F32", [1], new Uint8Array([0, 0, 128, 63])); // entry.data = [1]
 * ```
 */
export const safetensorsEntry = (
  dtype: SafetensorsDtype,
  shape: readonly number[],
  bytes: Uint8Array,
): SafetensorsEntry => new StoredTensor(dtype, shape, bytes);

/** Options of {@link readSafetensors}. */
export interface ReadSafetensorsOptions {
  /** Only these tensors (names absent from the file are ignored). Default: all. */
  readonly names?: Iterable<string>;
  /** Prefix of error messages (e.g. the file path). */
  readonly source?: string;
}

/**
 * Parse and validate a whole safetensors file held in memory.
 *
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 * const file = readSafetensors(new Uint8Array(await readFile("model.safetensors")));
 * for (const [name, t] of file) console.log(name, t.dtype, t.shape);
 * ```
 */
export const readSafetensors = (
  bytes: Uint8Array,
  options: ReadSafetensorsOptions = {},
): SafetensorsContents => {
  const source = options.source ?? "safetensors";
  const n = safetensorsHeaderLength(bytes, bytes.length, source);
  const text = decodeHeaderText(bytes.subarray(8, 8 + n), source);
  const header = parseSafetensorsHeader(text, bytes.length - 8 - n, source, 8 + n);
  const wanted = options.names === undefined ? null : new Set(options.names);
  const contents = new Map<string, SafetensorsEntry>();
  for (const t of header.tensors) {
    if (wanted !== null && !wanted.has(t.name)) continue;
    const [begin, end] = t.dataOffsets;
    contents.set(
      t.name,
      new StoredTensor(t.dtype, t.shape, bytes.subarray(header.dataStart + begin, header.dataStart + end)),
    );
  }
  return Object.assign(contents, { metadata: header.metadata });
};

export { type TensorToWrite, writeSafetensors, type WriteSafetensorsOptions } from "./safetensors-write.ts";
