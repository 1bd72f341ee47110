/**
 * `alpha-spin backends`: which tfjs backends start here, with a matrix-product self-test, and what
 * to install for the ones that do not.
 *
 * @example
 * ```sh
 * alpha-spin backends              # table of cpu, wasm, blas, webgpu, node, node-gpu
 * alpha-spin backends --json       # the same as JSON
 * alpha-spin backends --size 512   # self-test on 512×512 products
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendStatus, listBackends } from "../backends/list.ts";

const help = [
  "usage: alpha-spin backends [--json] [--size N] [--reps N]",
  "",
  "Tries each tfjs backend (cpu, wasm, blas, webgpu, node, node-gpu), times an N×N matrix product on",
  "the ones that start (default N = 256, 5 repetitions), and says what to install for the others.",
  "blas: the system BLAS (ALPHA_SPIN_BLAS, else OpenBLAS/MKL/CBLAS; Accelerate on macOS), its version",
  "and threads. WebGPU: built into Deno (and browsers); Node's comes from the webgpu npm package.",
].join("\n");

/** Parse a positive integer option; throws with the option name on a bad value. */
const positiveInt = (flag: string, value: string | undefined): number => {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n <= 0) {
    throw new RangeError(`${flag} needs a positive integer, got ${value ?? "nothing"}`);
  }
  return n;
};

/**
 * Render backend statuses as a fixed-width table: backend, status, self-test GFLOP/s and ms, and
 * the details or the reason it is absent (with what to install).
 *
 * @example
 * ```ts
 * console.log(formatBackendTable([{ name: "cpu", ok: true, details: "JavaScript kernels", selfTest: { gflops: 0.5, ms: 67 } }]));
 * ```
 */
export const formatBackendTable = (statuses: readonly BackendStatus[]): string => {
  const rows = statuses.map((s) => [
    s.name,
    s.ok ? "ok" : "absent",
    s.selfTest ? s.selfTest.gflops.toFixed(2) : "-",
    s.selfTest ? s.selfTest.ms.toFixed(1) : "-",
    (s.ok ? s.details : s.error) ?? "",
  ]);
  const header = ["backend", "status", "GFLOP/s", "ms/matmul", "details / what to do"];
  const widths = header.slice(0, 4).map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < 4 ? (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i])) : c)).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w)).concat(["-".repeat(20)])), ...rows.map(line)]
    .join("\n");
};

/**
 * Run `alpha-spin backends` with its arguments; resolves to the exit code (0 when at least one
 * backend works).
 *
 * @example
 * ```ts
 * const code = await backendsCommand(["--size", "128"]);
 * ```
 */
export async function backendsCommand(args: string[]): Promise<number> {
  let json = false, size = 256, reps = 5;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") {
      console.log(help);
      return 0;
    } else if (arg === "--json") json = true;
    else if (arg === "--size") size = positiveInt(arg, args[++i]);
    else if (arg === "--reps") reps = positiveInt(arg, args[++i]);
    else {
      console.error(`alpha-spin backends: unknown option "${arg}"\n\n${help}`);
      return 2;
    }
  }
  // tfjs's cpu backend prints a banner recommending tfjs-node on first use under Node; the table
  // below says the same about node, so silence tfjs's logging for this command (PROD mode only
  // turns off tfjs's console warnings).
  tf.enableProdMode();
  const statuses = await listBackends({ size, reps });
  if (json) console.log(JSON.stringify(statuses, null, 2));
  else {
    console.log(`tfjs backends here (self-test: ${size}×${size} matmul, ${reps} reps, read-back included)\n`);
    console.log(formatBackendTable(statuses));
  }
  return statuses.some((s) => s.ok) ? 0 : 1;
}
