/**
 * Shape helpers of the reference backend: validation, NumPy broadcasting and strides. Pure and
 * dependency-free; every error names the operation and the shapes involved.
 *
 * @module
 */
import type { Shape } from "../core/tensor.ts";
import { normalizeAxis, shapeSize } from "../core/tensor.ts";

/** `[2,3]` → `"[2,3]"` for error messages. */
export const formatShape = (shape: Shape): string => `[${shape.join(",")}]`;

/**
 * Check that `shape` is a list of non-negative integers; throw a RangeError naming `op` otherwise.
 *
 * @example
 * ```ts
 * checkShape("fill", [2, 3]);   // ok
 * checkShape("fill", [2, -1]);  // throws RangeError: fill: invalid shape [2,-1] ...
 * ```
 */
export const checkShape = (op: string, shape: Shape): void => {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(
        `${op}: invalid shape ${formatShape(shape)} (sizes must be non-negative integers)`,
      );
    }
  }
};

/**
 * Row-major strides of `shape`.
 *
 * @example
 * ```ts
 * stridesOf([2, 3, 4]); // [12, 4, 1]
 * ```
 */
export const stridesOf = (shape: Shape): number[] => {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
};

/**
 * The NumPy broadcast of several shapes; throws a RangeError naming `op` and all shapes when they
 * are incompatible.
 *
 * @example
 * ```ts
 * broadcastShapes("add", [[2, 1, 3], [4, 1]]); // [2, 4, 3]
 * ```
 */
export const broadcastShapes = (op: string, shapes: readonly Shape[]): number[] => {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const shape of shapes) {
    const offset = rank - shape.length;
    for (let i = 0; i < shape.length; i++) {
      const d = shape[i], o = out[offset + i];
      if (d === o || d === 1) continue;
      if (o === 1) {
        out[offset + i] = d;
        continue;
      }
      throw new RangeError(
        `${op}: shapes ${shapes.map(formatShape).join(" and ")} cannot be broadcast together ` +
          `(axis ${offset + i - rank}: ${o} vs ${d})`,
      );
    }
  }
  return out;
};

/**
 * For an input of `shape` broadcast to `outShape`, the flat input index of every flat output
 * index (an Int32Array of the output's size).
 *
 * @example
 * ```ts
 * broadcastIndex([3], [2, 3]); // Int32Array [0, 1, 2, 0, 1, 2]
 * ```
 */
export const broadcastIndex = (shape: Shape, outShape: Shape): Int32Array => {
  const n = shapeSize(outShape);
  const index = new Int32Array(n);
  const rank = outShape.length;
  const offset = rank - shape.length;
  const inStrides = stridesOf(shape);
  // Effective stride per output axis: 0 where the input is broadcast along it.
  const strides = new Array<number>(rank).fill(0);
  for (let i = 0; i < shape.length; i++) strides[offset + i] = shape[i] === 1 ? 0 : inStrides[i];
  const counter = new Array<number>(rank).fill(0);
  let src = 0;
  for (let k = 0; k < n; k++) {
    index[k] = src;
    // Odometer increment, updating the source offset incrementally.
    for (let ax = rank - 1; ax >= 0; ax--) {
      counter[ax]++;
      src += strides[ax];
      if (counter[ax] < outShape[ax]) break;
      src -= strides[ax] * counter[ax];
      counter[ax] = 0;
    }
  }
  return index;
};

/** The geometry of a reduction along one axis: `outer × size × inner`, and the result shape. */
export interface ReductionLayout {
  /** Product of the sizes before the axis. */
  readonly outer: number;
  /** Size of the reduced axis (or the whole tensor when reducing over all axes). */
  readonly size: number;
  /** Product of the sizes after the axis. */
  readonly inner: number;
  /** Shape of the result. */
  readonly outShape: number[];
}

/**
 * Lay out a reduction over `axis` (all axes when `undefined`), honouring negative axes and
 * `keepDims`.
 *
 * @example
 * ```ts
 * reductionLayout([2, 3, 4], -2, false); // { outer: 2, size: 3, inner: 4, outShape: [2, 4] }
 * ```
 */
export const reductionLayout = (
  shape: Shape,
  axis: number | undefined,
  keepDims: boolean,
): ReductionLayout => {
  if (axis === undefined) {
    return {
      outer: 1,
      size: shapeSize(shape),
      inner: 1,
      outShape: keepDims ? shape.map(() => 1) : [],
    };
  }
  const a = normalizeAxis(axis, shape.length);
  const outer = shapeSize(shape.slice(0, a));
  const inner = shapeSize(shape.slice(a + 1));
  const outShape = keepDims ? shape.map((d, i) => (i === a ? 1 : d)) : shape.filter((_, i) => i !== a);
  return { outer, size: shape[a], inner, outShape };
};
