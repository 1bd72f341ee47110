/**
 * The `blas` backend: the tfjs `wasm` backend (tensors in its heap, every other kernel its own,
 * the fast copy kernels of ./wasm-kernels.ts included) whose matrix products run on the system
 * BLAS through FFI (./blas-kernels.ts, ./blas-library.ts). tfjs itself still calls it `"wasm"`.
 *
 * Threads: BLAS's thread count is one setting per process (OpenBLAS, MKL; Accelerate decides
 * itself). `threads` sets it; by default the main thread sets {@link DEFAULT_BLAS_THREADS}, and a
 * worker thread (the data-parallel and generation workers) keeps what the main thread chose.
 *
 * @module
 */
import { type BlasLibrary, BlasUnavailableError, openBlas } from "./blas-library.ts";
import { installBlasKernels } from "./blas-kernels.ts";
import { initWasm } from "./wasm.ts";
import { type BackendInfo, BackendUnavailableError } from "./types.ts";

/**
 * BLAS threads when none are asked for. One: on the shared 2-core machine measured
 * (docs/backends.md), two BLAS threads beat two data-parallel workers, but not one thread reliably
 * (much slower under heavy load, 7 % faster under lighter load).
 */
export const DEFAULT_BLAS_THREADS = 1;

/** Options of `initBlas`. */
export interface BlasOptions {
  /** Where the wasm backend's `.wasm` files are (see `initWasm`). */
  readonly wasmPaths?: string;
  /**
   * BLAS threads (a positive integer; process-wide). Default: {@link DEFAULT_BLAS_THREADS} on the
   * main thread; a worker thread keeps the count already set.
   */
  readonly threads?: number;
  /**
   * Accept the netlib reference BLAS (default true, with a warning); `"auto"` passes false, since
   * the reference is slower than the wasm backend's own products.
   */
  readonly allowReference?: boolean;
}

/** Whether this code runs in a worker thread (node:worker_threads, which Deno provides too). */
const inWorker = async (): Promise<boolean> => {
  try {
    return !(await import("node:worker_threads")).isMainThread;
  } catch {
    return false;
  }
};

const warned = new Set<string>();

/**
 * One line about the library: what it is, its version string, the file, the threads.
 *
 * @example
 * ```ts
 * import { openBlas } from "./blas-library.ts";
 * describeBlas(await openBlas()); // "OpenBLAS 0.3.21 ... (libopenblas.so.0 → /usr/lib/...), 1 thread"
 * ```
 */
export const describeBlas = (blas: BlasLibrary): string => {
  const kind = {
    openblas: "OpenBLAS",
    mkl: "MKL",
    accelerate: "Accelerate",
    reference: "netlib reference BLAS (slow)",
    generic: "CBLAS",
  }[blas.kind];
  const version = blas.version === "" ? kind : blas.version;
  const file = blas.path === blas.name ? blas.name : `${blas.name} → ${blas.path}`;
  const threads = blas.threads();
  const count = threads === undefined
    ? (blas.kind === "reference" ? "1 thread" : "threads chosen by the library")
    : `${threads} thread${threads === 1 ? "" : "s"}`;
  return `${version} (${file}), ${count}`;
};

/**
 * Make tfjs run on the `blas` backend: start wasm, open the system BLAS, set its threads, and put
 * the BLAS matrix-product kernels in. Throws BackendUnavailableError saying what to install when no
 * BLAS opens, and a RangeError for a bad `threads`. Warns (once) when the library is the netlib
 * reference BLAS, which works but is about 35× slower than OpenBLAS.
 *
 * @example
 * ```ts
 * const info = await initBlas({ threads: 1 });
 * // { name: "blas", tfBackend: "wasm", details: "OpenBLAS 0.3.21 ... (libopenblas.so.0 → ...), 1 thread, ..." }
 * ```
 */
export const initBlas = async (options: BlasOptions = {}): Promise<BackendInfo> => {
  const { threads } = options;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) {
    throw new RangeError(`blas: threads must be a positive integer, got ${threads}`);
  }
  let blas: BlasLibrary;
  try {
    blas = await openBlas();
  } catch (e) {
    const message = e instanceof BlasUnavailableError ? e.message : `blas: ${String(e)}`;
    throw new BackendUnavailableError("blas", message, { cause: e });
  }
  if (blas.kind === "reference" && options.allowReference === false) {
    throw new BackendUnavailableError(
      "blas",
      `blas: the only BLAS found is the netlib reference implementation (${blas.path}), slower than the wasm ` +
        `backend; ask for "blas" explicitly to use it anyway, or install libopenblas0-pthread`,
    );
  }
  const wasm = await initWasm({ wasmPaths: options.wasmPaths, fastKernels: true });
  const wanted = threads ?? ((await inWorker()) ? undefined : DEFAULT_BLAS_THREADS);
  if (wanted !== undefined) blas.setThreads(wanted);
  if (!installBlasKernels(blas)) {
    throw new BackendUnavailableError(
      "blas",
      "blas: the wasm backend's matrix-product kernels are not registered",
    );
  }
  if (blas.kind === "reference" && !warned.has(blas.path)) {
    warned.add(blas.path);
    console.warn(
      `alpha-spin: the BLAS found is the netlib reference implementation (${blas.path}); it works but is ` +
        `about 35× slower than OpenBLAS on matrix products (install libopenblas0-pthread, or set ALPHA_SPIN_BLAS)`,
    );
  }
  const others = wasm.details.replace(/, (fast|stock) matMul kernels/, "");
  return {
    name: "blas",
    tfBackend: "wasm",
    details: `${describeBlas(blas)}; other kernels wasm (${others})`,
  };
};
