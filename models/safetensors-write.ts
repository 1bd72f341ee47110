/**
 * Writing a safetensors file: the 8-byte header length, the JSON header (padded with spaces to a
 * multiple of 8 bytes) and the tensors' bytes, largest element size first so every tensor starts at
 * a multiple of its element size. Reading is in safetensors.ts, which re-exports this.
 *
 * @example
 * ```ts
 * import { writeSafetensors } from "./safetensors-write.ts";
 * const bytes = writeSafetensors({ w: { shape: [2], data: new Float32Array([1, 2]) } }, { format: "pt" });
 * ```
 *
 * @module
 */
import { encodeSafetensorsData, safetensorsDtypeSizes, SafetensorsError, type WritableDtype } from "./safetensors-dtypes.ts";

const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** A tensor to write: row-major values and a shape, optionally its own dtype. */
export interface TensorToWrite {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number> | BigInt64Array;
  /** Overrides the file-wide float dtype (integers: "I32" or "I64"). */
  readonly dtype?: WritableDtype;
}

/** Options of {@link writeSafetensors}. */
export interface WriteSafetensorsOptions {
  /** Dtype of tensors that give none. Default "F32". */
  readonly dtype?: "F32" | "F16" | "BF16";
}

/**
 * Serialize tensors (a Map or a record, by name) and optional string metadata as a safetensors file.
 *
 * @example
 * ```ts
 * const bytes = writeSafetensors({ "lm_head.weight": { shape: [4, 2], data: new Float32Array(8) } }, undefined, { dtype: "BF16" });
 * ```
 */
export const writeSafetensors = (
  tensors: ReadonlyMap<string, TensorToWrite> | Readonly<Record<string, TensorToWrite>>,
  metadata?: Readonly<Record<string, string>>,
  options: WriteSafetensorsOptions = {},
): Uint8Array => {
  const entries: [string, TensorToWrite][] = tensors instanceof Map
    ? [...tensors.entries()]
    : Object.entries(tensors);
  const planned = entries.map(([name, t], order) => {
    if (name === "__metadata__" || name.length === 0) {
      throw new SafetensorsError(`invalid tensor name ${JSON.stringify(name)}`);
    }
    const dtype = t.dtype ?? options.dtype ?? "F32";
    if (!["F32", "F16", "BF16", "I32", "I64"].includes(dtype)) {
      throw new SafetensorsError(`tensor "${name}": cannot write dtype ${dtype}`);
    }
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(`tensor "${name}": shape must be non-negative integers, got [${t.shape}]`);
    }
    if (elementCount(t.shape) !== t.data.length) {
      throw new SafetensorsError(
        `tensor "${name}": shape [${t.shape}] holds ${
          elementCount(t.shape)
        } values, data has ${t.data.length}`,
      );
    }
    if (t.data instanceof BigInt64Array && dtype !== "I64") {
      throw new SafetensorsError(`tensor "${name}": bigint data needs dtype I64`);
    }
    return { name, t, dtype, order, size: safetensorsDtypeSizes[dtype] };
  });
  planned.sort((a, b) => b.size - a.size || a.order - b.order);
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") {
        throw new SafetensorsError(`metadata "${k}" must be a string, got ${typeof v}`);
      }
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const p of planned) {
    const bytes = p.t.data.length * p.size;
    header[p.name] = { dtype: p.dtype, shape: [...p.t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  for (const p of planned) {
    const [begin] = (header[p.name] as { data_offsets: [number, number] }).data_offsets;
    encodeSafetensorsData(out, 8 + headerLength + begin, p.dtype, p.t.data, p.name);
  }
  return out;
};
