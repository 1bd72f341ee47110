/**
 * Fast matrix products (and column sums) on the tfjs `wasm` backend.
 *
 * tfjs-backend-wasm 4.22 sends a matrix product to XNNPACK only when it is a single 2-D product
 * with neither operand transposed; every other case (a transposed operand, or a batch of products)
 * runs a scalar fallback loop that is 15–25× slower (measured here: 0.5–1.2 GFLOP/s against
 * 15–22 GFLOP/s). Training hits the slow case everywhere: the gradient of y = x·W is
 * dx = dy·Wᵀ and dW = xᵀ·dy (both transposed), Llama-layout projections multiply by Wᵀ, and
 * attention is a batch of products over batch × heads.
 *
 * {@link installFastWasmKernels} replaces the wasm `BatchMatMul` and `_FusedMatMul` kernels by
 * wrappers that only ever call XNNPACK's fast case:
 * - a transposed operand is transposed explicitly first (a memory copy, cheap next to the product),
 *   or, when that copies less, the transposed product Cᵀ = op(b)ᵀ·op(a)ᵀ is computed and transposed;
 * - a batch of products against one shared right operand becomes one tall product
 *   ([batch·M, K]·[K, N]);
 * - any other batch runs as a loop of single products, each operand copied out of the batch, unless
 *   the products are tiny (a decoding step's attention), where the stock loop is cheaper.
 * The results are the same products (summation order inside XNNPACK may differ from the fallback
 * loop's, so values agree to float32 rounding). Gradients are unchanged: tfjs computes them with
 * `BatchMatMul`, which is now fast too.
 *
 * With them go the data-movement kernels of ./wasm-copy-kernels.ts (`Slice`, `SplitV`, `Unpack`,
 * `GatherV2`, and `Sum` over leading axes: the bias gradient of every projection), which read the
 * heap in place instead of copying whole inputs out of it first.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { loadBackend } from "./load.ts";
 * import { installFastWasmKernels } from "./wasm-kernels.ts";
 * await loadBackend("wasm");
 * installFastWasmKernels();                              // true: wasm kernels replaced
 * tf.matMul(tf.ones([64, 32]), tf.ones([64, 32]), true); // [32, 32], on the fast path
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  broadcastOuter,
  gatherKernel,
  type Info,
  type Kernel as AnyKernel,
  type KernelArgs,
  size,
  sliceKernel,
  splitVKernel,
  sumKernel,
  transposeKernel,
  unpackKernel,
  type WasmBackendLike,
} from "./wasm-copy-kernels.ts";

type Kernel = (args: KernelArgs) => Info;

const BACKEND = "wasm";

/** The original kernels, kept to restore them. */
type Installed = readonly tf.KernelConfig[];
let installed: Installed | null = null;

/** Operands as 3-D [batch, rows, cols] views, transposed explicitly when asked (new tensors to free). */
const asPlain3d = (
  be: WasmBackendLike,
  transpose: Kernel,
  x: Info,
  transposed: boolean,
  temps: Info[],
): Info => {
  const rank = x.shape.length;
  const rows = x.shape[rank - 2], cols = x.shape[rank - 1];
  const batch = size(x.shape.slice(0, -2));
  be.incRef(x.dataId);
  const view: Info = { dataId: x.dataId, shape: [batch, rows, cols], dtype: x.dtype };
  temps.push(view);
  if (!transposed) return view;
  const t = transpose({ inputs: { x: view }, backend: be, attrs: { perm: [0, 2, 1] } });
  temps.push(t);
  return t;
};

/** Copy matrix `index` of a 3-D tensor into a new [1, rows, cols] tensor. */
const copyMatrix = (be: WasmBackendLike, x: Info, index: number): Info => {
  const [, rows, cols] = x.shape;
  const out = be.makeOutput([1, rows, cols], x.dtype);
  const n = rows * cols;
  // Views are taken after every allocation: a heap growth detaches older ones.
  be.typedArrayFromHeap(out).set(be.typedArrayFromHeap(x).subarray(index * n, (index + 1) * n));
  return out;
};

/**
 * The product of 3-D, untransposed operands a [p, M, K] and b [q, K, N] (p, q equal or 1) through
 * the fast single-product kernel; returns [max(p, q), M, N].
 */
const plainProduct = (be: WasmBackendLike, original: Kernel, a: Info, b: Info): Info => {
  const [p, m, k] = a.shape, [q, , n] = b.shape;
  const attrs = { transposeA: false, transposeB: false };
  if (p === 1 && q === 1) return original({ inputs: { a, b }, backend: be, attrs });
  if (q === 1) {
    // One shared right operand: one tall product.
    be.incRef(a.dataId);
    const tall: Info = { dataId: a.dataId, shape: [1, p * m, k], dtype: a.dtype };
    const out = original({ inputs: { a: tall, b }, backend: be, attrs });
    be.disposeData(tall.dataId);
    out.shape = [p, m, n];
    return out;
  }
  const batch = Math.max(p, q);
  const out = be.makeOutput([batch, m, n], a.dtype);
  for (let i = 0; i < batch; i++) {
    const ai = p === 1 ? a : copyMatrix(be, a, i);
    const bi = copyMatrix(be, b, i);
    const oi = original({ inputs: { a: ai, b: bi }, backend: be, attrs });
    be.typedArrayFromHeap(out).set(be.typedArrayFromHeap(oi), i * m * n);
    if (ai !== a) be.disposeData(ai.dataId);
    be.disposeData(bi.dataId);
    be.disposeData(oi.dataId);
  }
  return out;
};

/**
 * One product C = op(a)·op(b) of 2-D operands (batch 1) on the fast path. Two ways: transpose the
 * transposed operands, or compute Cᵀ = op(b)ᵀ·op(a)ᵀ (an operand given transposed is then used as
 * stored) and transpose the [M, N] result; take the one that copies fewer floats. Decoding with a
 * big output head (a few rows times Wᵀ) takes the second way: it copies the rows, not W.
 */
const singleProduct = (
  be: WasmBackendLike,
  original: Kernel,
  transpose: Kernel,
  a: Info,
  b: Info,
  transposeA: boolean,
  transposeB: boolean,
  temps: Info[],
): Info => {
  const [ar, ac] = a.shape.slice(-2), [br, bc] = b.shape.slice(-2);
  const m = transposeA ? ac : ar, k = transposeA ? ar : ac, n = transposeB ? br : bc;
  const direct = (transposeA ? m * k : 0) + (transposeB ? k * n : 0);
  const swapped = (transposeA ? 0 : m * k) + (transposeB ? 0 : k * n) + m * n;
  const attrs = { transposeA: false, transposeB: false };
  if (direct <= swapped) {
    const a3 = asPlain3d(be, transpose, a, transposeA, temps);
    const b3 = asPlain3d(be, transpose, b, transposeB, temps);
    return original({ inputs: { a: a3, b: b3 }, backend: be, attrs });
  }
  const left = asPlain3d(be, transpose, b, !transposeB, temps); // op(b)ᵀ [1, N, K]
  const right = asPlain3d(be, transpose, a, !transposeA, temps); // op(a)ᵀ [1, K, M]
  const product = original({ inputs: { a: left, b: right }, backend: be, attrs }); // [1, N, M]
  temps.push(product);
  return transpose({ inputs: { x: product }, backend: be, attrs: { perm: [0, 2, 1] } });
};

/** Products smaller than this (M·K·N) run the stock kernel when batched: a loop would cost more. */
const SMALL_PRODUCT = 1 << 16;

const batchMatMulKernel = (original: Kernel, transpose: Kernel): Kernel => (args) => {
  const { a, b } = args.inputs as { a: Info; b: Info };
  const transposeA = Boolean(args.attrs.transposeA), transposeB = Boolean(args.attrs.transposeB);
  const batchA = size(a.shape.slice(0, -2)), batchB = size(b.shape.slice(0, -2));
  const single = batchA === 1 && batchB === 1;
  if ((single && !transposeA && !transposeB) || a.dtype !== "float32" || b.dtype !== "float32") {
    return original(args);
  }
  const broadcastable = batchA === batchB || batchA === 1 || batchB === 1;
  const [ar, ac] = a.shape.slice(-2), [, bc] = b.shape.slice(-2);
  const m = transposeA ? ac : ar, k = transposeA ? ar : ac, n = transposeB ? b.shape[b.shape.length - 2] : bc;
  // A batch of small products (e.g. one decoding step's attention) is cheaper in the stock loop.
  if (!single && (!broadcastable || (batchB > 1 && m * k * n < SMALL_PRODUCT))) return original(args);
  const be = args.backend as WasmBackendLike;
  const temps: Info[] = [];
  try {
    const out = single
      ? singleProduct(be, original, transpose, a, b, transposeA, transposeB, temps)
      : plainProduct(
        be,
        original,
        asPlain3d(be, transpose, a, transposeA, temps),
        asPlain3d(be, transpose, b, transposeB, temps),
      );
    out.shape = [...broadcastOuter(a.shape.slice(0, -2), b.shape.slice(0, -2)), m, n];
    return out;
  } finally {
    for (const t of temps) be.disposeData(t.dataId);
  }
};

const fusedMatMulKernel = (original: Kernel, transpose: Kernel): Kernel => (args) => {
  const { a, b } = args.inputs as { a: Info; b: Info };
  const transposeA = Boolean(args.attrs.transposeA), transposeB = Boolean(args.attrs.transposeB);
  const single = size(a.shape.slice(0, -2)) === 1 && size(b.shape.slice(0, -2)) === 1;
  if ((!transposeA && !transposeB) || !single) return original(args);
  const be = args.backend as WasmBackendLike;
  const temps: Info[] = [];
  try {
    const a3 = asPlain3d(be, transpose, a, transposeA, temps);
    const b3 = asPlain3d(be, transpose, b, transposeB, temps);
    return original({
      inputs: { ...args.inputs, a: a3, b: b3 },
      backend: be,
      attrs: { ...args.attrs, transposeA: false, transposeB: false },
    });
  } finally {
    for (const t of temps) be.disposeData(t.dataId);
  }
};

const replaced = ["BatchMatMul", "_FusedMatMul", "Sum", "Slice", "SplitV", "Unpack", "GatherV2", "Transpose"] as const;

/**
 * Replace the wasm backend's `BatchMatMul`, `_FusedMatMul`, `Sum`, `Slice`, `SplitV`, `Unpack` and
 * `GatherV2` kernels by wrappers that use XNNPACK's fast matrix product or copy from the heap in
 * place (see the module docs). Call it once after the wasm backend package
 * has been imported (e.g. after `loadBackend("wasm")`); further calls do nothing. Returns false,
 * changing nothing, when the wasm kernels are not registered.
 *
 * @example
 * ```ts
 * import { loadBackend } from "./load.ts";
 * await loadBackend("wasm");
 * installFastWasmKernels(); // true
 * ```
 */
export const installFastWasmKernels = (): boolean => {
  if (installed !== null) return true;
  const originals = replaced.map((name) => tf.getKernel(name, BACKEND));
  if (originals.some((k) => k === undefined)) return false;
  const [batchMatMul, fusedMatMul, sum, slice, splitV, unpack, gather, stockTranspose] = originals as tf.KernelConfig[];
  const fn = (k: tf.KernelConfig): Kernel => k.kernelFunc as unknown as Kernel;
  const any = (k: tf.KernelConfig): AnyKernel => k.kernelFunc as unknown as AnyKernel;
  const transpose = transposeKernel(any(stockTranspose)) as Kernel;
  const wrappers = [
    batchMatMulKernel(fn(batchMatMul), transpose),
    fusedMatMulKernel(fn(fusedMatMul), transpose),
    sumKernel(any(sum)),
    sliceKernel(any(slice)),
    splitVKernel(any(splitV)),
    unpackKernel(any(unpack)),
    gatherKernel(any(gather)),
    transpose,
  ];
  for (const name of replaced) tf.unregisterKernel(name, BACKEND);
  originals.forEach((k, i) =>
    tf.registerKernel({ ...k!, kernelFunc: wrappers[i] as unknown as tf.KernelFunc })
  );
  installed = originals as tf.KernelConfig[];
  return true;
};

/**
 * Put the original wasm kernels back (for comparisons); a no-op when
 * {@link installFastWasmKernels} has not run.
 *
 * @example
 * ```ts
 * uninstallFastWasmKernels();
 * ```
 */
export const uninstallFastWasmKernels = (): void => {
  if (installed === null) return;
  for (const name of replaced) tf.unregisterKernel(name, BACKEND);
  for (const k of installed) tf.registerKernel(k);
  installed = null;
};

/**
 * True while the fast wasm kernels are installed.
 *
 * @example
 * ```ts
 * fastWasmKernelsInstalled(); // false until installFastWasmKernels() has run
 * ```
 */
export const fastWasmKernelsInstalled = (): boolean => installed !== null;
