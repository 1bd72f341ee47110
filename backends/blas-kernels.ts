/**
 * Matrix-product kernels of the `blas` backend: the tfjs `wasm` backend's `BatchMatMul` and
 * `_FusedMatMul` replaced by calls of the system BLAS's `cblas_sgemm` (./blas-library.ts) on views
 * of the WebAssembly heap. Nothing is copied: the operands are read where the wasm backend keeps
 * them and the product is written straight into the output tensor's heap memory.
 *
 * - Transposed operands go to BLAS as they are stored, with its transpose flags.
 * - A batch of products ([..., M, K]·[..., K, N], outer axes broadcast as NumPy does) is a loop of
 *   `cblas_sgemm` calls, one per output matrix; when the right operand is one matrix shared by the
 *   whole batch and the left one is not transposed, the batch is a single tall [batch·M, K] product.
 * - `_FusedMatMul`: a rank-1 bias (length N or 1) is written into the output first and BLAS adds
 *   the product onto it (β = 1); the activations the wasm kernel fuses (linear, relu, relu6,
 *   leakyrelu, prelu, sigmoid, elu) are applied to the output in place.
 * Other dtypes, fused cases the wasm kernel itself would refuse (a bias of another rank), and
 * `BatchMatMul` batches of tiny products that would be one call each (a decoding step's attention:
 * there the ≈ 1–3 µs of each FFI call costs more than the wasm loop) go to the kernels registered
 * before. Results agree with the wasm kernels to float32
 * rounding (the summation order differs).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { openBlas } from "./blas-library.ts";
 * import { initWasm } from "./wasm.ts";
 * await initWasm();
 * installBlasKernels(await openBlas());
 * tf.matMul(tf.ones([64, 32]), tf.ones([64, 32]), true); // [32, 32], by cblas_sgemm
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { broadcastOuter, type Info, type KernelArgs, size, type WasmBackendLike } from "./wasm-copy-kernels.ts";
import { type BlasLibrary, CBLAS_NO_TRANS, CBLAS_ROW_MAJOR, CBLAS_TRANS } from "./blas-library.ts";

type Kernel = (args: KernelArgs) => Info;

const BACKEND = "wasm";

/** For each matrix of the broadcast batch `outer`, the index of the matrix of `x` it reads. */
const batchSource = (outer: readonly number[], x: readonly number[]): Int32Array => {
  const total = size(outer), rank = outer.length;
  const index = new Int32Array(total);
  if (size(x) === 1) return index; // one matrix for the whole batch
  if (size(x) === total) return index.map((_, i) => i); // the same batch: matrix i reads matrix i
  const strides = new Array<number>(rank).fill(0); // x's stride per output axis, 0 where x broadcasts
  let stride = 1;
  for (let i = rank - 1; i >= 0; i--) {
    const d = x[x.length - rank + i] ?? 1;
    strides[i] = d === 1 ? 0 : stride;
    stride *= d;
  }
  for (let i = 0; i < total; i++) {
    let rest = i, source = 0;
    for (let axis = rank - 1; axis >= 0; axis--) {
      source += (rest % outer[axis]) * strides[axis];
      rest = Math.floor(rest / outer[axis]);
    }
    index[i] = source;
  }
  return index;
};

/** A float32 view of a tensor's heap memory. */
const heap = (be: WasmBackendLike, x: Info): Float32Array => be.typedArrayFromHeap(x) as Float32Array;

/**
 * out[..., M, N] (= β·out) + op(a)·op(b) for every matrix of the broadcast batch, by cblas_sgemm on
 * heap views. `out` is already allocated (and holds the bias when β = 1).
 */
const gemmInto = (
  blas: BlasLibrary,
  be: WasmBackendLike,
  a: Info,
  b: Info,
  out: Info,
  transposeA: boolean,
  transposeB: boolean,
  beta: number,
): void => {
  const ra = a.shape.length, rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  const outer = out.shape.slice(0, -2);
  const batch = size(outer);
  if (batch === 0 || m === 0 || n === 0) return;
  // Views are taken after every allocation (the caller has made `out`): heap growth detaches them.
  const av = heap(be, a), bv = heap(be, b), cv = heap(be, out);
  if (k === 0) {
    if (beta === 0) cv.fill(0);
    return;
  }
  const ta = transposeA ? CBLAS_TRANS : CBLAS_NO_TRANS, tb = transposeB ? CBLAS_TRANS : CBLAS_NO_TRANS;
  const lda = transposeA ? m : k, ldb = transposeB ? k : n;
  const bBatch = size(b.shape.slice(0, -2));
  if (bBatch === 1 && !transposeA) {
    // One right operand for the whole batch (so the batch is a's): the left matrices, stacked, are
    // one tall [batch·M, K] product.
    blas.sgemm(CBLAS_ROW_MAJOR, ta, tb, batch * m, n, k, 1, av, lda, bv, ldb, beta, cv, n);
    return;
  }
  const fromA = batchSource(outer, a.shape.slice(0, -2)), fromB = batchSource(outer, b.shape.slice(0, -2));
  const aSize = m * k, bSize = k * n, cSize = m * n;
  for (let i = 0; i < batch; i++) {
    blas.sgemm(
      CBLAS_ROW_MAJOR,
      ta,
      tb,
      m,
      n,
      k,
      1,
      av.subarray(fromA[i] * aSize, (fromA[i] + 1) * aSize),
      lda,
      bv.subarray(fromB[i] * bSize, (fromB[i] + 1) * bSize),
      ldb,
      beta,
      cv.subarray(i * cSize, (i + 1) * cSize),
      n,
    );
  }
};

/** The output of op(a)·op(b): broadcast outer shape, then [M, N]. */
const productShape = (a: Info, b: Info, transposeA: boolean, transposeB: boolean): number[] => {
  const ra = a.shape.length, rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  if (k !== kb) {
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} ` +
        `and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  return [...broadcastOuter(a.shape.slice(0, -2), b.shape.slice(0, -2)), m, n];
};

/**
 * Products of fewer multiply-adds (M·K·N) than this, in a batch that takes one BLAS call each, go to
 * the wasm kernels: measured here, 32 decoding-step products of [1, 16]·[16, 30] take ≈ 50–90 µs as
 * FFI calls against ≈ 20 µs in the wasm loop, while [30, 16]·[16, 30] ones are already ≈ 50× faster
 * on BLAS.
 */
export const TINY_PRODUCT = 2048;

/** True when op(a)·op(b) is a batch of one-call-each products too small to be worth an FFI call each. */
const tinyBatch = (a: Info, b: Info, shape: readonly number[], transposeA: boolean): boolean => {
  const ra = a.shape.length;
  const m = shape[shape.length - 2], n = shape[shape.length - 1];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const batch = size(shape.slice(0, -2)),
    aBatch = size(a.shape.slice(0, -2)),
    bBatch = size(b.shape.slice(0, -2));
  const oneCall = bBatch === 1 && !transposeA; // the tall product
  // tfjs's own kernels give a wrongly sized result when both batches broadcast ([2, 1] against [1, 3])
  const plainBroadcast = (aBatch === batch || aBatch === 1) && (bBatch === batch || bBatch === 1);
  return batch > 1 && !oneCall && plainBroadcast && m * k * n < TINY_PRODUCT;
};

const batchMatMulKernel = (blas: BlasLibrary, fallback: Kernel): Kernel => (args) => {
  const { a, b } = args.inputs as { a: Info; b: Info };
  if (a.dtype !== "float32" || b.dtype !== "float32") return fallback(args);
  const transposeA = Boolean(args.attrs.transposeA), transposeB = Boolean(args.attrs.transposeB);
  const shape = productShape(a, b, transposeA, transposeB);
  if (tinyBatch(a, b, shape, transposeA)) return fallback(args);
  const be = args.backend as WasmBackendLike;
  const out = be.makeOutput(shape, "float32");
  gemmInto(blas, be, a, b, out, transposeA, transposeB, 0);
  return out;
};

/** An activation applied in place, or undefined for one the wasm kernel does not fuse either. */
const activationFn = (
  name: string,
  leakyAlpha: number,
  prelu: Float32Array | undefined,
): ((c: Float32Array, n: number) => void) | undefined => {
  switch (name) {
    case "linear":
      return () => {};
    case "relu":
      return (c) => {
        for (let i = 0; i < c.length; i++) if (c[i] < 0) c[i] = 0;
      };
    case "relu6":
      return (c) => {
        for (let i = 0; i < c.length; i++) c[i] = Math.min(Math.max(c[i], 0), 6);
      };
    case "leakyrelu":
      return (c) => {
        for (let i = 0; i < c.length; i++) if (c[i] < 0) c[i] *= leakyAlpha;
      };
    case "sigmoid":
      return (c) => {
        for (let i = 0; i < c.length; i++) c[i] = 1 / (1 + Math.exp(-c[i]));
      };
    case "elu":
      return (c) => {
        for (let i = 0; i < c.length; i++) if (c[i] < 0) c[i] = Math.expm1(c[i]);
      };
    case "prelu":
      if (prelu === undefined) return undefined;
      return (c, n) => {
        // prelu weights broadcast along the last axis: one per column, or one for all.
        const one = prelu.length === 1;
        for (let i = 0; i < c.length; i++) if (c[i] < 0) c[i] *= one ? prelu[0] : prelu[i % n];
      };
    default:
      return undefined;
  }
};

const fusedMatMulKernel = (blas: BlasLibrary, fallback: Kernel): Kernel => (args) => {
  const { a, b, bias, preluActivationWeights: preluW } = args.inputs as Record<string, Info | undefined>;
  if (a === undefined || b === undefined || a.dtype !== "float32" || b.dtype !== "float32") {
    return fallback(args);
  }
  const transposeA = Boolean(args.attrs.transposeA), transposeB = Boolean(args.attrs.transposeB);
  const shape = productShape(a, b, transposeA, transposeB);
  const n = shape[shape.length - 1];
  const activation = String(args.attrs.activation ?? "linear");
  const biasOk = bias === undefined ||
    (bias.shape.length === 1 && (bias.shape[0] === n || bias.shape[0] === 1));
  const preluOk = preluW === undefined || size(preluW.shape) === 1 ||
    (size(preluW.shape) === n && preluW.shape[preluW.shape.length - 1] === n);
  const known = ["linear", "relu", "relu6", "leakyrelu", "sigmoid", "elu", "prelu"].includes(activation);
  if (!biasOk || !preluOk || !known || (activation === "prelu" && preluW === undefined)) {
    return fallback(args);
  }
  const be = args.backend as WasmBackendLike;
  const out = be.makeOutput(shape, "float32");
  if (bias !== undefined && size(shape) > 0) {
    const c = heap(be, out), bv = heap(be, bias);
    if (bv.length === 1) c.fill(bv[0]);
    else for (let row = 0; row < c.length; row += n) c.set(bv, row);
  }
  gemmInto(blas, be, a, b, out, transposeA, transposeB, bias === undefined ? 0 : 1);
  const apply = activationFn(
    activation,
    Number(args.attrs.leakyreluAlpha ?? 0.2),
    preluW === undefined ? undefined : heap(be, preluW),
  );
  apply!(heap(be, out), n);
  return out;
};

const replaced = ["BatchMatMul", "_FusedMatMul"] as const;
let installed: { readonly blas: BlasLibrary; readonly previous: readonly tf.KernelConfig[] } | null = null;

/**
 * Replace the wasm backend's `BatchMatMul` and `_FusedMatMul` by the BLAS kernels (see the module
 * docs), keeping the kernels registered before as the fallback for other dtypes. Call it after the
 * wasm backend has started; installing again with another library swaps the library. Returns false,
 * changing nothing, when the wasm kernels are not registered.
 *
 * @example
 * ```ts
 * import { openBlas } from "./blas-library.ts";
 * installBlasKernels(await openBlas()); // true
 * ```
 */
export const installBlasKernels = (blas: BlasLibrary): boolean => {
  if (installed !== null) {
    if (installed.blas === blas) return true;
    uninstallBlasKernels();
  }
  const previous = replaced.map((name) => tf.getKernel(name, BACKEND));
  if (previous.some((k) => k === undefined)) return false;
  const [batchMatMul, fused] = previous as tf.KernelConfig[];
  const fn = (k: tf.KernelConfig): Kernel => k.kernelFunc as unknown as Kernel;
  const wrappers = [batchMatMulKernel(blas, fn(batchMatMul)), fusedMatMulKernel(blas, fn(fused))];
  for (const name of replaced) tf.unregisterKernel(name, BACKEND);
  (previous as tf.KernelConfig[]).forEach((k, i) =>
    tf.registerKernel({ ...k, kernelFunc: wrappers[i] as unknown as tf.KernelFunc })
  );
  installed = { blas, previous: previous as tf.KernelConfig[] };
  return true;
};

/**
 * Put back the kernels {@link installBlasKernels} replaced (the plain `wasm` backend again); a no-op
 * when none are installed.
 *
 * @example
 * ```ts
 * uninstallBlasKernels();
 * ```
 */
export const uninstallBlasKernels = (): void => {
  if (installed === null) return;
  for (const name of replaced) tf.unregisterKernel(name, BACKEND);
  for (const k of installed.previous) tf.registerKernel(k);
  installed = null;
};

/**
 * The library the BLAS kernels run on, or null while the plain wasm kernels are registered.
 *
 * @example
 * ```ts
 * blasKernelsLibrary()?.kind; // "openblas" once the blas backend has started
 * ```
 */
export const blasKernelsLibrary = (): BlasLibrary | null => installed?.blas ?? null;
