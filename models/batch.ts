/**
 * Padded batches of token-id sequences: the host-side layout work shared by scoring and generation.
 *
 * A batch of ragged rows becomes ids [B, T] and a 0/1 mask [B, T] (1 on real tokens). With left
 * padding the pads come first (row i starts at column T − nᵢ); with right padding they come last.
 *
 * @example
 * ```ts
 * import { padBatch } from "./batch.ts";
 * const b = padBatch([[5, 6, 7], [8]], { side: "left", padId: 0 });
 * // b.ids = [5,6,7, 0,0,8], b.mask = [1,1,1, 0,0,1], b.offsets = [0, 2], b.width = 3
 * ```
 *
 * @module
 */

/** Which side pads go on. */
export type PaddingSide = "left" | "right";

/** A padded batch, row-major on the host. */
export interface PaddedBatch {
  /** Token ids [B·T] (pads hold `padId`). */
  readonly ids: Int32Array;
  /** 1 on real tokens, 0 on pads, [B·T]. */
  readonly mask: Float32Array;
  readonly rows: number;
  /** T, the longest row. */
  readonly width: number;
  /** Column of each row's first real token (0 for right padding). */
  readonly offsets: readonly number[];
  /** Real tokens per row. */
  readonly lengths: readonly number[];
}

/**
 * Pad ragged rows of ids into one [B, T] batch; `width` forces T (at least the longest row).
 * Throws a RangeError on an id that is not an integer in [0, vocabSize) when `vocabSize` is given.
 *
 * @example
 * ```ts
 * padBatch([[1, 2], [3]], { side: "right", padId: 0 }).ids; // Int32Array [1, 2, 3, 0]
 * ```
 */
export const padBatch = (
  rows: readonly (readonly number[])[],
  options: { side: PaddingSide; padId: number; width?: number; vocabSize?: number },
): PaddedBatch => {
  const lengths = rows.map((r) => r.length);
  const width = Math.max(options.width ?? 0, ...lengths, 0);
  const ids = new Int32Array(rows.length * width).fill(options.padId);
  const mask = new Float32Array(rows.length * width);
  const offsets: number[] = [];
  rows.forEach((row, i) => {
    const offset = options.side === "left" ? width - row.length : 0;
    offsets.push(offset);
    row.forEach((id, j) => {
      if (options.vocabSize !== undefined && !(Number.isInteger(id) && id >= 0 && id < options.vocabSize)) {
        throw new RangeError(`token id ${id} (row ${i}, position ${j}) is not in [0, ${options.vocabSize})`);
      }
      ids[i * width + offset + j] = id;
      mask[i * width + offset + j] = 1;
    });
  });
  return { ids, mask, rows: rows.length, width, offsets, lengths };
};

/**
 * Split `n` items into consecutive [start, end) chunks of at most `size`.
 *
 * @example
 * ```ts
 * chunkRanges(5, 2); // [[0, 2], [2, 4], [4, 5]]
 * ```
 */
export const chunkRanges = (n: number, size: number): [number, number][] => {
  if (!Number.isInteger(size) || size <= 0) {
    throw new RangeError(`batch size must be a positive integer, got ${size}`);
  }
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += size) out.push([s, Math.min(n, s + size)]);
  return out;
};
