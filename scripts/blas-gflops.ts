/**
 * GFLOP/s of an n×n float32 matrix product (default 1024) on the system BLAS: `cblas_sgemm` called
 * raw on Float32Arrays, then `tf.matMul` on the blas backend (heap views, read-back excluded), and
 * `tf.matMul` on wasm for comparison. Runs under Deno and Node:
 *
 *   deno run -A scripts/blas-gflops.ts [n] [threads]
 *   npx tsx scripts/blas-gflops.ts [n] [threads]
 *
 * Prints one JSON line per measurement (the median of 9 timed products after 2 warm-ups).
 */
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import { loadBackend } from "../backends/load.ts";
import { CBLAS_NO_TRANS, CBLAS_ROW_MAJOR, openBlas } from "../backends/blas-library.ts";

const n = Number(process.argv[2] ?? 1024), threads = Number(process.argv[3] ?? 1);
const runtime = "Deno" in globalThis ? "deno" : "node";

/** Median milliseconds of `f` over 9 runs after 2 warm-ups. */
const median = (f: () => void): number => {
  for (let r = 0; r < 2; r++) f();
  const times: number[] = [];
  for (let r = 0; r < 9; r++) {
    const t = performance.now();
    f();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[4];
};
const report = (what: string, ms: number) =>
  console.log(
    JSON.stringify({
      runtime,
      what,
      n,
      threads,
      ms: +ms.toFixed(2),
      gflops: +((2 * n ** 3) / (ms * 1e6)).toFixed(1),
    }),
  );

await loadBackend("blas", { threads });
const blas = await openBlas();
const a = new Float32Array(n * n).map((_, i) => Math.sin(i)), c = new Float32Array(n * n);
report(
  "raw cblas_sgemm",
  median(() => blas.sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, n, n, n, 1, a, n, a, n, 0, c, n)),
);
for (const backend of ["blas", "wasm"] as const) {
  await loadBackend(backend, { threads });
  const x = tf.tensor2d(a, [n, n]);
  report(`tf.matMul on ${backend}`, median(() => tf.matMul(x, x).dispose()));
  x.dispose();
}
