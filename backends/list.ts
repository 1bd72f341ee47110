/**
 * Which tfjs backends start here, each with a matrix-product self-test (correctness and GFLOP/s).
 * Used by `alpha-spin backends`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend, type LoadBackendOptions } from "./load.ts";
import type { TfjsBackendName } from "./types.ts";
import { blasKernelsLibrary, installBlasKernels, uninstallBlasKernels } from "./blas-kernels.ts";

/** The order of `listBackends`: portable first, optional native last. */
const listingOrder: readonly TfjsBackendName[] = ["cpu", "wasm", "blas", "webgpu", "node", "node-gpu"];

/** The result of the matrix-product self-test. */
export interface SelfTestResult {
  /** Billions of floating-point operations per second (2n³ per n×n product). */
  readonly gflops: number;
  /** Milliseconds per product, read-back included. */
  readonly ms: number;
}

/** One row of `listBackends`. */
export interface BackendStatus {
  /** The backend. */
  readonly name: TfjsBackendName;
  /** Whether it started (and its self-test gave the right answer). */
  readonly ok: boolean;
  /** Why it did not start, with what to install where that applies. */
  readonly error?: string;
  /** What the backend reported about itself when it started. */
  readonly details?: string;
  /** Self-test timing, when it started. */
  readonly selfTest?: SelfTestResult;
}

/**
 * Time an n×n matrix product on the active tfjs backend (one warm-up, then `reps` timed products,
 * each read back) and check the result: ones(n,n)·ones(n,n) is n everywhere.
 *
 * @example
 * ```ts
 * await loadBackend("wasm");
 * const { gflops, ms } = await matmulSelfTest(256, 5);
 * ```
 */
export const matmulSelfTest = async (n = 256, reps = 5): Promise<SelfTestResult> => {
  const a = tf.ones([n, n]);
  try {
    const warm = tf.matMul(a, a);
    const values = await warm.data();
    warm.dispose();
    if (values.length !== n * n || values.some((v) => v !== n)) {
      throw new Error(`self-test: ones(${n},${n})·ones(${n},${n}) did not give ${n} everywhere`);
    }
    const start = performance.now();
    for (let r = 0; r < reps; r++) {
      const c = tf.matMul(a, a);
      await c.data();
      c.dispose();
    }
    const ms = (performance.now() - start) / reps;
    return { gflops: (2 * n ** 3) / (ms * 1e6), ms };
  } finally {
    a.dispose();
  }
};

/**
 * Try every backend (cpu, wasm, blas, webgpu, node, node-gpu), self-test the ones that start, and
 * restore the backend that was active before. A software WebGPU adapter counts as ok here.
 *
 * @example
 * ```ts
 * for (const b of await listBackends()) console.log(b.name, b.ok, b.selfTest?.gflops ?? b.error);
 * ```
 */
export const listBackends = async (
  options: LoadBackendOptions & { readonly size?: number; readonly reps?: number } = {},
): Promise<BackendStatus[]> => {
  const previous = tf.getBackend();
  const previousBlas = blasKernelsLibrary(); // blas is wasm with other kernels: put those back too
  const statuses: BackendStatus[] = [];
  for (const name of listingOrder) {
    try {
      const info = await initBackend(name, options);
      const selfTest = await matmulSelfTest(options.size, options.reps);
      statuses.push({ name, ok: true, details: info.details, selfTest });
    } catch (e) {
      statuses.push({ name, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
  if (previous && tf.getBackend() !== previous) await tf.setBackend(previous);
  if (previousBlas === null) uninstallBlasKernels();
  else installBlasKernels(previousBlas);
  return statuses;
};
