/**
 * The tensor interface the pure code (core/, losses/, samplers/) is written against.
 *
 * `TensorOps<T>` is a record of functions over an opaque tensor type `T`. Two kinds of
 * implementation exist: `referenceOps` (Float64, exact, synchronous, no dependencies; the oracle in
 * property tests) and the tfjs adapter (float32, differentiable under tfjs autograd, on cpu, wasm,
 * webgpu, node or node-gpu). Pure code takes `ops` as its first argument:
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * const x = ops.fromArray([1, 2, 3], [3]);
 * const y = ops.logSumExp(x, -1);            // scalar log(e^1 + e^2 + e^3)
 * console.log(await ops.toArray(y));         // Float64Array [3.4076...]
 * ```
 *
 * Conventions shared by every implementation:
 * - Binary elementwise ops broadcast like NumPy.
 * - Boolean results (`greater`, `less`, `equal`) are tensors of 0 and 1; `where` takes such a tensor
 *   (anything non-zero is true).
 * - `axis` may be negative (counted from the end). Reductions drop the axis unless `keepDims`.
 * - Integer ids (token ids, targets) are made with `fromInts`; they are only used as indices.
 * - `tidy(fn)` frees the intermediates `fn` made (a no-op on the reference backend); `fn` must be
 *   synchronous.
 *
 * @module
 */

/** A tensor shape: the size of each axis, outermost first. `[]` is a scalar. */
export type Shape = readonly number[];

/** The small algebra the pure code needs, over an opaque tensor type `T`. */
export interface TensorOps<T> {
  /** A short name for messages and benchmark tables, e.g. `"reference"` or `"tfjs-wasm"`. */
  readonly name: string;

  // ---- construction and read-back -------------------------------------------------------------
  /** A float tensor of `shape` from row-major `values` (length must equal the shape's size). */
  fromArray(values: ArrayLike<number>, shape: Shape): T;
  /** An integer (index) tensor of `shape` from row-major `values`. */
  fromInts(values: ArrayLike<number>, shape: Shape): T;
  /** A float scalar. */
  scalar(value: number): T;
  /** A float tensor of `shape` with every entry `value`. */
  fill(shape: Shape, value: number): T;
  /** The shape of `t`. */
  shape(t: T): number[];
  /** Row-major values of `t` as float64 (asynchronous: GPU backends read back without blocking). */
  toArray(t: T): Promise<Float64Array>;
  /** Run `fn` and free every intermediate tensor it made except the ones it returns. */
  tidy<R>(fn: () => R): R;
  /** Free `t` now (a no-op where memory is garbage-collected). */
  dispose(t: T): void;

  // ---- elementwise, binary (broadcasting) -----------------------------------------------------
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;
  minimum(a: T, b: T): T;
  maximum(a: T, b: T): T;
  /** 1 where a > b, else 0. */
  greater(a: T, b: T): T;
  /** 1 where a < b, else 0. */
  less(a: T, b: T): T;
  /** 1 where a == b, else 0. */
  equal(a: T, b: T): T;
  /** `a` where `cond` is non-zero, else `b` (all three broadcast). */
  where(cond: T, a: T, b: T): T;

  // ---- elementwise, unary ---------------------------------------------------------------------
  neg(t: T): T;
  exp(t: T): T;
  /** Natural logarithm. */
  log(t: T): T;
  /** log(1 + x), accurate near 0. */
  log1p(t: T): T;
  /** log(1 + e^x), finite for |x| up to 1e3 and beyond. */
  softplus(t: T): T;
  /** 1 / (1 + e^−x). */
  sigmoid(t: T): T;
  /** log σ(x) = −softplus(−x), finite for |x| up to 1e3 and beyond. */
  logSigmoid(t: T): T;
  square(t: T): T;
  sqrt(t: T): T;
  abs(t: T): T;
  relu(t: T): T;
  tanh(t: T): T;

  // ---- reductions (axis may be negative; all axes when omitted) --------------------------------
  sum(t: T, axis?: number, keepDims?: boolean): T;
  mean(t: T, axis?: number, keepDims?: boolean): T;
  max(t: T, axis?: number, keepDims?: boolean): T;
  /** log Σ exp along `axis`, computed stably (max-shifted). */
  logSumExp(t: T, axis?: number, keepDims?: boolean): T;

  // ---- indexing and layout ---------------------------------------------------------------------
  /**
   * Gather along the last axis: `x` has shape [...S, V], `ids` (from `fromInts`) has shape [...S];
   * the result has shape [...S] with `out[i] = x[i, ids[i]]`.
   */
  gatherLast(x: T, ids: T): T;
  /** A contiguous slice: `begin[i]` .. `begin[i] + size[i]` (size −1 = to the end) on each axis. */
  slice(t: T, begin: readonly number[], size: readonly number[]): T;
  reshape(t: T, shape: Shape): T;
  concat(ts: readonly T[], axis: number): T;
  /** Identity in value; blocks gradients (the reference backend has none). */
  stopGradient(t: T): T;
}

/** The number of elements a shape holds. */
export const shapeSize = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

/** Resolve a possibly negative axis against a rank; throws a RangeError naming both when out of range. */
export const normalizeAxis = (axis: number, rank: number): number => {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new RangeError(`axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return a;
};
