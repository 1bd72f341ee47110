/**
 * The reference backend: `TensorOps` over plain Float64Arrays, exact (float64), synchronous and
 * dependency-free. It is the oracle of the property tests and the natural backend for testing a
 * new loss. It has no autograd: `stopGradient` is the identity, `tidy(fn)` is `fn()` and `dispose`
 * does nothing (memory is garbage-collected).
 *
 * @example
 * ```ts
 * import { referenceOps as ops, refToArraySync } from "./reference.ts";
 * const logits = ops.fromArray([1000, -1000, 0], [3]);
 * refToArraySync(ops.logSigmoid(logits)); // Float64Array [0, -1000, -0.6931...]
 * ```
 *
 * @module
 */
import type { Shape, TensorOps } from "../core/tensor.ts";
import { normalizeAxis, shapeSize } from "../core/tensor.ts";
import {
  broadcastIndex,
  broadcastShapes,
  checkShape,
  formatShape,
  reductionLayout,
  stridesOf,
} from "./reference_shapes.ts";

/** A tensor of the reference backend: row-major float64 values and a shape. */
export interface RefTensor {
  /** Row-major values; its length is the product of `shape`. */
  readonly data: Float64Array;
  /** Size of each axis, outermost first; `[]` for a scalar. */
  readonly shape: readonly number[];
}

const make = (data: Float64Array, shape: Shape): RefTensor => ({ data, shape: [...shape] });

const fromValues = (op: string, values: ArrayLike<number>, shape: Shape): RefTensor => {
  checkShape(op, shape);
  const n = shapeSize(shape);
  if (values.length !== n) {
    throw new RangeError(
      `${op}: ${values.length} values do not fill shape ${formatShape(shape)} (size ${n})`,
    );
  }
  return make(Float64Array.from(values), shape);
};

const unary = (f: (x: number) => number) => (t: RefTensor): RefTensor => {
  const out = new Float64Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(t.data[i]);
  return make(out, t.shape);
};

const sameShape = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

const binary =
  (op: string, f: (x: number, y: number) => number) => (a: RefTensor, b: RefTensor): RefTensor => {
    if (sameShape(a.shape, b.shape)) {
      const out = new Float64Array(a.data.length);
      for (let i = 0; i < out.length; i++) out[i] = f(a.data[i], b.data[i]);
      return make(out, a.shape);
    }
    const shape = broadcastShapes(op, [a.shape, b.shape]);
    const ia = broadcastIndex(a.shape, shape), ib = broadcastIndex(b.shape, shape);
    const out = new Float64Array(ia.length);
    for (let i = 0; i < out.length; i++) out[i] = f(a.data[ia[i]], b.data[ib[i]]);
    return make(out, shape);
  };

/** log(1 + e^x) without overflow: x + log1p(e^−x) for x > 0, log1p(e^x) otherwise. */
const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

/** 1 / (1 + e^−x) without overflow on either side. */
const sigmoid = (x: number): number => {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
};

/** Run `op`'s axis normalization, prefixing the error with the op name and shape. */
const axisOf = (op: string, axis: number, shape: Shape): number => {
  try {
    return normalizeAxis(axis, shape.length);
  } catch (e) {
    throw new RangeError(`${op}: ${(e as Error).message} (shape ${formatShape(shape)})`);
  }
};

/** A reduction `f(values along axis)` where `f` reads `size` values at `offset + k*stride`. */
const reduce = (
  op: string,
  f: (data: Float64Array, offset: number, size: number, stride: number) => number,
) =>
(t: RefTensor, axis?: number, keepDims = false): RefTensor => {
  if (axis !== undefined) axisOf(op, axis, t.shape);
  const { outer, size, inner, outShape } = reductionLayout(t.shape, axis, keepDims);
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) out[o * inner + i] = f(t.data, o * size * inner + i, size, inner);
  }
  return make(out, outShape);
};

const sumAlong = (d: Float64Array, off: number, n: number, s: number): number => {
  let acc = 0;
  for (let k = 0; k < n; k++) acc += d[off + k * s];
  return acc;
};

const maxAlong = (d: Float64Array, off: number, n: number, s: number): number => {
  let m = -Infinity;
  for (let k = 0; k < n; k++) {
    const v = d[off + k * s];
    if (Number.isNaN(v)) return NaN;
    if (v > m) m = v;
  }
  return m;
};

const logSumExpAlong = (d: Float64Array, off: number, n: number, s: number): number => {
  const m = maxAlong(d, off, n, s);
  // All −∞ (or empty) → −∞; a +∞ entry → +∞; NaN propagates. Avoids ∞ − ∞ = NaN.
  if (!Number.isFinite(m)) return m;
  let acc = 0;
  for (let k = 0; k < n; k++) acc += Math.exp(d[off + k * s] - m);
  return m + Math.log(acc);
};

const gatherLast = (x: RefTensor, ids: RefTensor): RefTensor => {
  const rank = x.shape.length;
  if (rank < 1 || ids.shape.length !== rank - 1 || !ids.shape.every((d, i) => d === x.shape[i])) {
    throw new RangeError(
      `gatherLast: x of shape ${formatShape(x.shape)} needs ids of shape ` +
        `${formatShape(x.shape.slice(0, -1))}, got ${formatShape(ids.shape)}`,
    );
  }
  const vocab = x.shape[rank - 1];
  const out = new Float64Array(ids.data.length);
  for (let i = 0; i < out.length; i++) {
    const id = ids.data[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocab) {
      throw new RangeError(`gatherLast: id ${id} at position ${i} is out of range for vocab size ${vocab}`);
    }
    out[i] = x.data[i * vocab + id];
  }
  return make(out, ids.shape);
};

const slice = (t: RefTensor, begin: readonly number[], size: readonly number[]): RefTensor => {
  const rank = t.shape.length;
  const where = () =>
    `slice: shape ${formatShape(t.shape)}, begin [${begin.join(",")}], size [${size.join(",")}]`;
  if (begin.length !== rank || size.length !== rank) {
    throw new RangeError(`${where()}: begin and size must have one entry per axis (rank ${rank})`);
  }
  const sizes = size.map((s, i) => (s === -1 ? t.shape[i] - begin[i] : s));
  for (let i = 0; i < rank; i++) {
    const b = begin[i], s = sizes[i];
    if (!Number.isInteger(b) || !Number.isInteger(s) || b < 0 || s < 0 || b + s > t.shape[i]) {
      throw new RangeError(`${where()}: axis ${i} range ${b}..${b + s} is outside 0..${t.shape[i]}`);
    }
  }
  const n = shapeSize(sizes);
  const out = new Float64Array(n);
  const inStrides = stridesOf(t.shape);
  const outStrides = stridesOf(sizes);
  for (let k = 0; k < n; k++) {
    let src = 0, rem = k;
    for (let ax = 0; ax < rank; ax++) {
      const c = Math.floor(rem / outStrides[ax]);
      rem -= c * outStrides[ax];
      src += (begin[ax] + c) * inStrides[ax];
    }
    out[k] = t.data[src];
  }
  return make(out, sizes);
};

const reshape = (t: RefTensor, shape: Shape): RefTensor => {
  const n = t.data.length;
  const inferred = shape.filter((d) => d === -1).length;
  const known = shapeSize(shape.filter((d) => d !== -1));
  const bad = inferred > 1 || shape.some((d) => d !== -1 && (!Number.isInteger(d) || d < 0));
  if (bad || (inferred === 0 && known !== n) || (inferred === 1 && (known === 0 || n % known !== 0))) {
    throw new RangeError(
      `reshape: cannot reshape ${formatShape(t.shape)} (size ${n}) to ${formatShape(shape)}`,
    );
  }
  const target = shape.map((d) => (d === -1 ? n / known : d));
  return make(t.data.slice(), target);
};

const concat = (ts: readonly RefTensor[], axis: number): RefTensor => {
  if (ts.length === 0) throw new RangeError("concat: needs at least one tensor");
  const first = ts[0].shape;
  const a = axisOf("concat", axis, first);
  for (const t of ts) {
    if (t.shape.length !== first.length || t.shape.some((d, i) => i !== a && d !== first[i])) {
      throw new RangeError(
        `concat: shapes ${ts.map((u) => formatShape(u.shape)).join(", ")} differ outside axis ${axis}`,
      );
    }
  }
  const outer = shapeSize(first.slice(0, a));
  const inner = shapeSize(first.slice(a + 1));
  const total = ts.reduce((acc, t) => acc + t.shape[a], 0);
  const out = new Float64Array(outer * total * inner);
  let pos = 0;
  for (let o = 0; o < outer; o++) {
    for (const t of ts) {
      const chunk = t.shape[a] * inner;
      out.set(t.data.subarray(o * chunk, (o + 1) * chunk), pos);
      pos += chunk;
    }
  }
  const shape = first.map((d, i) => (i === a ? total : d));
  return make(out, shape);
};

const where = (cond: RefTensor, a: RefTensor, b: RefTensor): RefTensor => {
  const shape = broadcastShapes("where", [cond.shape, a.shape, b.shape]);
  const ic = broadcastIndex(cond.shape, shape);
  const ia = broadcastIndex(a.shape, shape);
  const ib = broadcastIndex(b.shape, shape);
  const out = new Float64Array(ic.length);
  for (let i = 0; i < out.length; i++) out[i] = cond.data[ic[i]] !== 0 ? a.data[ia[i]] : b.data[ib[i]];
  return make(out, shape);
};

/**
 * The values of a reference tensor as a fresh Float64Array, synchronously (the reference backend
 * never needs to wait; `referenceOps.toArray` is the same wrapped in a resolved Promise).
 *
 * @example
 * ```ts
 * refToArraySync(referenceOps.fromArray([1, 2], [2])); // Float64Array [1, 2]
 * ```
 */
export const refToArraySync = (t: RefTensor): Float64Array => t.data.slice();

/**
 * `TensorOps` in exact float64 arithmetic with NumPy broadcasting; synchronous, no dependencies.
 *
 * @example
 * ```ts
 * const x = referenceOps.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
 * refToArraySync(referenceOps.sum(x, -1));               // Float64Array [6, 15]
 * refToArraySync(referenceOps.logSumExp(x, 0, true));    // shape [1, 3]
 * ```
 */
export const referenceOps: TensorOps<RefTensor> = {
  name: "reference",

  fromArray: (values, shape) => fromValues("fromArray", values, shape),
  fromInts: (values, shape) => {
    const t = fromValues("fromInts", values, shape);
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isInteger(t.data[i])) {
        throw new RangeError(`fromInts: value ${t.data[i]} at position ${i} is not an integer`);
      }
    }
    return t;
  },
  scalar: (value) => make(Float64Array.of(value), []),
  fill: (shape, value) => {
    checkShape("fill", shape);
    return make(new Float64Array(shapeSize(shape)).fill(value), shape);
  },
  shape: (t) => [...t.shape],
  toArray: (t) => Promise.resolve(refToArraySync(t)),
  tidy: (fn) => fn(),
  dispose: () => {},

  add: binary("add", (x, y) => x + y),
  sub: binary("sub", (x, y) => x - y),
  mul: binary("mul", (x, y) => x * y),
  div: binary("div", (x, y) => x / y),
  minimum: binary("minimum", (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.min(x, y))),
  maximum: binary("maximum", (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.max(x, y))),
  greater: binary("greater", (x, y) => (x > y ? 1 : 0)),
  less: binary("less", (x, y) => (x < y ? 1 : 0)),
  equal: binary("equal", (x, y) => (x === y ? 1 : 0)),
  where,

  neg: unary((x) => -x),
  exp: unary(Math.exp),
  log: unary(Math.log),
  log1p: unary(Math.log1p),
  softplus: unary(softplus),
  sigmoid: unary(sigmoid),
  logSigmoid: unary((x) => -softplus(-x)),
  square: unary((x) => x * x),
  sqrt: unary(Math.sqrt),
  abs: unary(Math.abs),
  relu: unary((x) => (x > 0 ? x : Number.isNaN(x) ? NaN : 0)),
  tanh: unary(Math.tanh),

  sum: reduce("sum", sumAlong),
  mean: reduce("mean", (d, off, n, s) => sumAlong(d, off, n, s) / n),
  max: reduce("max", maxAlong),
  logSumExp: reduce("logSumExp", logSumExpAlong),

  gatherLast,
  slice,
  reshape,
  concat,
  stopGradient: (t) => t,
};
