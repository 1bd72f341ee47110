/**
 * The tfjs adapter: `TensorOps` over `tf.Tensor`, differentiable under tfjs autograd (`tf.grad`,
 * `tf.variableGrads`) on every tfjs backend. Which backend runs the ops is tfjs's global choice
 * (`tf.setBackend`, or `loadBackend` in ./load.ts); `tfjsOps.name` reports it, e.g. `"tfjs-wasm"`.
 *
 * Choices that matter:
 * - Float tensors are float32; `fromInts` makes int32 tensors (used only as indices).
 * - Comparisons return float 0/1; `where` treats any non-zero condition as true.
 * - `softplus` is tfjs's thresholded kernel and `logSigmoid` is −softplus(−x) (tf.logSigmoid's gradient
 *   fails inside tf.tidy): both finite at ±1e3 in float32, with
 *   gradients σ(x) and σ(−x).
 * - `logSumExp` shifts by the max with the shift outside the gradient, and replaces a non-finite
 *   max by 0, so a row of all −∞ gives −∞ (tf.logSumExp gives NaN there).
 * - `gatherLast` is `sum(where(oneHot(ids, V), x, 0), −1)`: no tf.gather, whose gradient needs
 *   UnsortedSegmentSum, a kernel the wasm backend does not have; and −∞ elsewhere in the row does not
 *   turn into NaN (a one-hot product would give −∞·0).
 * - `minimum` / `maximum` broadcast their inputs explicitly first: tfjs's own gradients for them
 *   ignore broadcasting.
 * - Comparisons and `stopGradient` have zero gradient (tfjs registers none for Greater, Less, Equal,
 *   NotEqual and would throw inside `tf.grad`; they run inside a customGrad).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { tfjsOps as ops } from "./backends/tfjs.ts";
 * const dx = tf.grad((x: tf.Tensor) => ops.sum(ops.logSigmoid(x)))(ops.fromArray([0, 1000], [2]));
 * console.log(await ops.toArray(dx)); // Float64Array [0.5, 0]
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Shape, TensorOps } from "../core/tensor.ts";
import { blasKernelsLibrary } from "./blas-kernels.ts";

const describe = (shape: Shape): string => `[${shape.join(",")}]`;

/** Run `fn`, prefixing any error with the op name and the shapes of its tensor arguments. */
const named = <R>(op: string, shapes: readonly Shape[], fn: () => R): R => {
  try {
    return fn();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new Error(`tfjs ${op} on shapes ${shapes.map(describe).join(", ")}: ${message}`);
  }
};

const binary =
  (op: string, f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor) => (a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
    named(op, [a.shape, b.shape], () => f(a, b));

/**
 * `f` with a zero gradient for every input. tfjs registers no gradient for comparisons (Greater,
 * Less, Equal, NotEqual), so `tf.grad` throws as soon as one sits between the differentiated
 * tensor and the result; running `f` inside customGrad hides it from the tape.
 */
const withoutGradient = (f: (...xs: tf.Tensor[]) => tf.Tensor): (...xs: tf.Tensor[]) => tf.Tensor =>
  tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const xs = args.slice(0, -1) as tf.Tensor[]; // the last argument is customGrad's save function
    return {
      value: f(...xs),
      gradFunc: () => xs.map((x) => tf.zeros(x.shape, "float32")),
    };
  }) as (...xs: tf.Tensor[]) => tf.Tensor;

const compare = (op: string, f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor) => {
  const noGrad = withoutGradient((a, b) => tf.cast(f(a, b), "float32"));
  return binary(op, (a, b) => noGrad(a, b));
};

/** The boolean mask `cond != 0`, outside the gradient. */
const truthy = withoutGradient((cond) => tf.notEqual(cond, 0));

const floatOf = (t: tf.Tensor): tf.Tensor => (t.dtype === "float32" ? t : tf.cast(t, "float32"));

/**
 * `f(a, b)` on inputs explicitly broadcast to their common shape first. tfjs's Minimum and Maximum
 * gradients do not reduce over broadcast axes (tf.grad throws a shape mismatch); broadcastTo's
 * gradient does.
 */
const broadcastFirst =
  (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor) => (a: tf.Tensor, b: tf.Tensor): tf.Tensor => {
    const same = a.rank === b.rank && a.shape.every((d, i) => d === b.shape[i]);
    if (same) return f(a, b);
    const shape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
    return tf.tidy(() => f(tf.broadcastTo(a, shape), tf.broadcastTo(b, shape)));
  };

/** Identity in value, zero gradient (for int tensors too). */
const stopGradient = withoutGradient((x) => tf.clone(x));

/** The max over `axis` (kept), off the gradient path: tf.max's own gradient is never formed. */
const rowMax = (x: tf.Tensor, axis?: number): tf.Tensor => withoutGradient((v) => tf.max(v, axis, true))(x);

const logSumExp = (t: tf.Tensor, axis?: number, keepDims = false): tf.Tensor =>
  named("logSumExp", [t.shape], () =>
    tf.tidy(() => {
      const x = floatOf(t);
      const m = rowMax(x, axis);
      const shift = tf.where(tf.isFinite(m), m, tf.zerosLike(m));
      const s = tf.log(tf.sum(tf.exp(tf.sub(x, shift)), axis, true));
      const out = tf.add(s, shift);
      if (keepDims) return out;
      return axis === undefined ? tf.reshape(out, []) : tf.squeeze(out, [axis < 0 ? axis + x.rank : axis]);
    }));

/** Host copies of ids made by `fromInts`, so `gatherLast` can bounds-check without a read-back. */
const hostIds = new WeakMap<tf.Tensor, Int32Array>();

/** Backends whose tensors live in host memory: reading them synchronously is cheap. */
const hostBackends = new Set(["cpu", "wasm", "tensorflow"]);

const checkIds = (ids: tf.Tensor, vocab: number): void => {
  const values = hostIds.get(ids) ?? (hostBackends.has(tf.getBackend()) ? ids.dataSync() : undefined);
  if (values === undefined) return; // device-resident ids of unknown origin: oneHot maps bad ids to 0
  for (let i = 0; i < values.length; i++) {
    const id = values[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocab) {
      throw new RangeError(`gatherLast: id ${id} at position ${i} is out of range for vocab size ${vocab}`);
    }
  }
};

const gatherLast = (x: tf.Tensor, ids: tf.Tensor): tf.Tensor => {
  const rank = x.rank;
  if (rank < 1 || ids.rank !== rank - 1 || !ids.shape.every((d, i) => d === x.shape[i])) {
    throw new RangeError(
      `gatherLast: x of shape ${describe(x.shape)} needs ids of shape ` +
        `${describe(x.shape.slice(0, -1))}, got ${describe(ids.shape)}`,
    );
  }
  const vocab = x.shape[rank - 1];
  checkIds(ids, vocab);
  return tf.tidy(() => {
    const intIds = ids.dtype === "int32" ? ids : tf.cast(ids, "int32");
    // One-hot mask (ids[..., None] == range(V) when V = 1, which tf.oneHot refuses). The ids are constants,
    // so the comparison is off the gradient path.
    const mask = vocab > 1
      ? tf.cast(tf.oneHot(intIds, vocab), "bool")
      : tf.equal(tf.expandDims(intIds, -1), tf.range(0, vocab, 1, "int32"));
    const xf = floatOf(x);
    return tf.sum(tf.where(mask, xf, tf.zerosLike(xf)), -1);
  });
};

const fromInts = (values: ArrayLike<number>, shape: Shape): tf.Tensor => {
  const ints = Int32Array.from(values);
  for (let i = 0; i < ints.length; i++) {
    if (ints[i] !== values[i]) {
      throw new RangeError(`fromInts: value ${values[i]} at position ${i} is not a 32-bit integer`);
    }
  }
  const t = named("fromInts", [shape], () => tf.tensor(ints, [...shape], "int32"));
  hostIds.set(t, ints);
  return t;
};

/**
 * `TensorOps` over tfjs tensors (float32), differentiable on every tfjs backend; `name` is
 * `"tfjs-" + tf.getBackend()`, or `"tfjs-blas"` on the blas backend (tfjs's wasm with BLAS products).
 *
 * @example
 * ```ts
 * const x = tfjsOps.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
 * await tfjsOps.toArray(tfjsOps.gatherLast(x, tfjsOps.fromInts([2, 0], [2]))); // Float64Array [3, 4]
 * ```
 */
export const tfjsOps: TensorOps<tf.Tensor> = {
  get name(): string {
    const active = tf.getBackend();
    return `tfjs-${active === "wasm" && blasKernelsLibrary() !== null ? "blas" : active}`;
  },

  fromArray: (values, shape) =>
    named("fromArray", [shape], () => tf.tensor(Float32Array.from(values), [...shape], "float32")),
  fromInts,
  scalar: (value) => tf.scalar(value, "float32"),
  fill: (shape, value) => named("fill", [shape], () => tf.fill([...shape], value, "float32")),
  shape: (t) => [...t.shape],
  toArray: async (t) => Float64Array.from(await t.data()),
  tidy: <R>(fn: () => R): R => tf.tidy(fn as () => tf.TensorContainer) as R,
  dispose: (t) => t.dispose(),

  add: binary("add", tf.add),
  sub: binary("sub", tf.sub),
  mul: binary("mul", tf.mul),
  div: binary("div", (a, b) => tf.div(floatOf(a), floatOf(b))),
  minimum: binary("minimum", broadcastFirst(tf.minimum)),
  maximum: binary("maximum", broadcastFirst(tf.maximum)),
  greater: compare("greater", tf.greater),
  less: compare("less", tf.less),
  equal: compare("equal", tf.equal),
  where: (cond, a, b) =>
    named("where", [cond.shape, a.shape, b.shape], () =>
      tf.tidy(() => {
        // tf.where needs a, b of one dtype and broadcasts all three to a common shape.
        const [x, y] = a.dtype === b.dtype ? [a, b] : [floatOf(a), floatOf(b)];
        return tf.where(truthy(cond), x, y);
      })),

  neg: (t) => tf.neg(t),
  exp: (t) => tf.exp(t),
  log: (t) => tf.log(t),
  log1p: (t) => tf.log1p(t),
  softplus: (t) => tf.softplus(floatOf(t)),
  sigmoid: (t) => tf.sigmoid(t),
  // tf.logSigmoid's gradient reads a tensor it did not keep, so it fails inside tf.tidy: use −softplus(−x).
  logSigmoid: (t) => tf.neg(tf.softplus(tf.neg(floatOf(t)))),
  square: (t) => tf.square(t),
  sqrt: (t) => tf.sqrt(t),
  abs: (t) => tf.abs(t),
  relu: (t) => tf.relu(t),
  tanh: (t) => tf.tanh(t),

  sum: (t, axis, keepDims = false) => named("sum", [t.shape], () => tf.sum(t, axis, keepDims)),
  mean: (t, axis, keepDims = false) => named("mean", [t.shape], () => tf.mean(t, axis, keepDims)),
  max: (t, axis, keepDims = false) => named("max", [t.shape], () => tf.max(t, axis, keepDims)),
  logSumExp,

  gatherLast,
  slice: (t, begin, size) =>
    named(
      `slice(begin [${begin.join(",")}], size [${size.join(",")}])`,
      [t.shape],
      () => tf.slice(t, [...begin], [...size]),
    ),
  reshape: (t, shape) => named(`reshape to ${describe(shape)}`, [t.shape], () => tf.reshape(t, [...shape])),
  concat: (ts, axis) => named(`concat(axis ${axis})`, ts.map((t) => t.shape), () => tf.concat([...ts], axis)),
  stopGradient,
};
