/**
 * The element types of the safetensors format and their byte encodings: decoding stored bytes to
 * float32 (or to exact integers) and encoding values for writing. The bit-level float conversions
 * are in float-formats.ts; the file layout is in safetensors.ts.
 *
 * @example
 * ```ts
 * import { decodeSafetensorsData, safetensorsDtypeSizes } from "./safetensors-dtypes.ts";
 * safetensorsDtypeSizes.BF16;                                   // 2
 * decodeSafetensorsData("BF16", new Uint8Array([0x80, 0x3f])); // Float32Array [1]
 * ```
 *
 * @module
 */
import {
  bf16BitsToFloat,
  f16DecodeTable,
  f8e4m3BitsToFloat,
  f8e5m2BitsToFloat,
  floatToBf16Bits,
  floatToF16Bits,
} from "./float-formats.ts";

/** The element types of the safetensors format. */
export type SafetensorsDtype =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "F8_E4M3"
  | "F8_E5M2"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U64"
  | "U32"
  | "U16"
  | "U8"
  | "BOOL";

/**
 * Bytes per element of each dtype.
 *
 * @example
 * ```ts
 * safetensorsDtypeSizes.F16; // 2
 * ```
 */
export const safetensorsDtypeSizes: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

/**
 * A malformed safetensors file or an invalid tensor to write.
 *
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 * import { readSafetensors } from "./safetensors.ts";
 * const bytes = await readFile("model.safetensors");
 * try { readSafetensors(bytes); } catch (e) { if (e instanceof SafetensorsError) console.error(e.message); }
 * ```
 */
export class SafetensorsError extends Error {
  override readonly name = "SafetensorsError";
}

/**
 * Whether `s` names a safetensors dtype.
 *
 * @example
 * ```ts
 * isSafetensorsDtype("BF16"); // true
 * ```
 */
export const isSafetensorsDtype = (s: unknown): s is SafetensorsDtype =>
  typeof s === "string" && Object.prototype.hasOwnProperty.call(safetensorsDtypeSizes, s);

/**
 * Whether this machine stores numbers little-endian (then F32 data is copied as bytes).
 *
 * @example
 * ```ts
 * isLittleEndianHost; // true on x86 and ARM
 * ```
 */
export const isLittleEndianHost: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decode the stored bytes of one tensor to float32 (each dtype is described in safetensors.ts).
 *
 * @example
 * ```ts
 * decodeSafetensorsData("F16", new Uint8Array([0x00, 0x3c])); // Float32Array [1]
 * ```
 */
export const decodeSafetensorsData = (dtype: SafetensorsDtype, bytes: Uint8Array): Float32Array => {
  const n = bytes.length / safetensorsDtypeSizes[dtype];
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case "F32":
      if (isLittleEndianHost) new Uint8Array(out.buffer).set(bytes);
      else for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      break;
    case "F64":
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      break;
    case "F16": {
      const table = f16DecodeTable();
      for (let i = 0; i < n; i++) out[i] = table[bytes[2 * i] | (bytes[2 * i + 1] << 8)];
      break;
    }
    case "BF16": {
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = ((bytes[2 * i] | (bytes[2 * i + 1] << 8)) << 16) >>> 0;
      if (!isLittleEndianHost) {
        for (let i = 0; i < n; i++) out[i] = bf16BitsToFloat(bytes[2 * i] | (bytes[2 * i + 1] << 8));
      }
      break;
    }
    case "F8_E4M3":
      for (let i = 0; i < n; i++) out[i] = f8e4m3BitsToFloat(bytes[i]);
      break;
    case "F8_E5M2":
      for (let i = 0; i < n; i++) out[i] = f8e5m2BitsToFloat(bytes[i]);
      break;
    default: {
      const ints = decodeSafetensorsIntegers(dtype, bytes);
      for (let i = 0; i < n; i++) out[i] = Number(ints[i]);
    }
  }
  return out;
};

/** Exact integer values of an integer or BOOL tensor, in a typed array of the stored width. */
export type SafetensorsIntegerArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/**
 * Exact values of integer or BOOL bytes (I8 … U64) in a typed array of the stored width: Int32Array
 * for I32, BigInt64Array for I64, Uint8Array of 0/1 for BOOL, and so on. Throws for float dtypes.
 *
 * @example
 * ```ts
 * decodeSafetensorsIntegers("I32", new Uint8Array([255, 255, 255, 255])); // Int32Array [-1]
 * ```
 */
export const decodeSafetensorsIntegers = (
  dtype: SafetensorsDtype,
  bytes: Uint8Array,
): SafetensorsIntegerArray => {
  const n = bytes.length / safetensorsDtypeSizes[dtype];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fill = <A extends { [i: number]: number | bigint }>(
    out: A,
    get: (i: number) => number | bigint,
  ): A => {
    for (let i = 0; i < n; i++) out[i] = get(i);
    return out;
  };
  switch (dtype) {
    case "I8":
      return fill(new Int8Array(n), (i) => view.getInt8(i));
    case "U8":
    case "BOOL":
      return Uint8Array.from(bytes);
    case "I16":
      return fill(new Int16Array(n), (i) => view.getInt16(2 * i, true));
    case "U16":
      return fill(new Uint16Array(n), (i) => view.getUint16(2 * i, true));
    case "I32":
      return fill(new Int32Array(n), (i) => view.getInt32(4 * i, true));
    case "U32":
      return fill(new Uint32Array(n), (i) => view.getUint32(4 * i, true));
    case "I64":
      return fill(new BigInt64Array(n), (i) => view.getBigInt64(8 * i, true));
    case "U64":
      return fill(new BigUint64Array(n), (i) => view.getBigUint64(8 * i, true));
    default:
      throw new SafetensorsError(`${dtype} is not an integer dtype`);
  }
};

/** The dtypes {@link writeSafetensors} can store. */
export type WritableDtype = "F32" | "F16" | "BF16" | "I32" | "I64";

/**
 * Write `data` as `dtype` little-endian into `out` at byte `offset` (F16/BF16 rounded to nearest
 * even; I32/I64 must be integers in range, else an error naming the tensor `name` and the index).
 *
 * @example
 * ```ts
 * const out = new Uint8Array(2);
 * encodeSafetensorsData(out, 0, "F16", [1], "x"); // out = [0x00, 0x3c]
 * ```
 */
export const encodeSafetensorsData = (
  out: Uint8Array,
  offset: number,
  dtype: WritableDtype,
  data: ArrayLike<number> | BigInt64Array,
  name: string,
): void => {
  const n = data.length;
  const view = new DataView(out.buffer, out.byteOffset + offset, n * safetensorsDtypeSizes[dtype]);
  const bad = (i: number, rule: string): never => {
    throw new SafetensorsError(`tensor "${name}": value ${String(data[i])} at index ${i} ${rule}`);
  };
  switch (dtype) {
    case "F32":
      if (data instanceof Float32Array && isLittleEndianHost) {
        out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
      } else for (let i = 0; i < n; i++) view.setFloat32(4 * i, Number(data[i]), true);
      return;
    case "F16":
      for (let i = 0; i < n; i++) view.setUint16(2 * i, floatToF16Bits(Number(data[i])), true);
      return;
    case "BF16":
      for (let i = 0; i < n; i++) view.setUint16(2 * i, floatToBf16Bits(Number(data[i])), true);
      return;
    case "I32":
      for (let i = 0; i < n; i++) {
        const v = Number(data[i]);
        if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) bad(i, "is not a 32-bit integer");
        view.setInt32(4 * i, v, true);
      }
      return;
    case "I64":
      for (let i = 0; i < n; i++) {
        const v = data[i];
        if (typeof v === "bigint") view.setBigInt64(8 * i, v, true);
        else if (Number.isSafeInteger(v)) view.setBigInt64(8 * i, BigInt(v), true);
        else bad(i, "is not a safe integer");
      }
      return;
  }
};
