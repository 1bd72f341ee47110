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
import { type BackendStatus, listBackends } from "../backends/list.ts";
import { quietTfjs } from "../backends/quiet.ts";
import { positiveInt } from "../core/config.ts";
import { type CommandSpec, parseOrExit } from "./args.ts";

/** The flags of `alpha-spin backends`. */
export const backendsCommandSpec = {
  name: "alpha-spin backends",
  summary: "try each tfjs backend (cpu, wasm, blas, webgpu, node, node-gpu), time an N×N matrix product on the ones " +
    "that start, and say what to install for the others (blas: the system BLAS, its version and threads; WebGPU: " +
    "built into Deno and browsers, from the webgpu npm package under Node)",
  flags: {
    json: { type: "boolean", description: "print the statuses as JSON" },
    size: { type: "number", default: 256, codec: positiveInt, valueName: "n", description: "self-test matrix size N" },
    reps: { type: "number", default: 5, codec: positiveInt, valueName: "n", description: "self-test repetitions" },
  },
  positionals: [],
  examples: ["alpha-spin backends", "alpha-spin backends --json", "alpha-spin backends --size 512"],
} as const satisfies CommandSpec;

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
  const widths = header.slice(0, 4).map((title, i) => Math.max(title.length, ...rows.map((r) => r[i].length)));
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
  const parsed = parseOrExit(backendsCommandSpec, args);
  if (typeof parsed === "number") return parsed;
  const { json, size, reps } = parsed.flags;
  // The table below says what tfjs's "install tfjs-node" banner would say.
  quietTfjs();
  const statuses = await listBackends({ size, reps });
  if (json) console.log(JSON.stringify(statuses, null, 2));
  else {
    console.log(`tfjs backends here (self-test: ${size}×${size} matmul, ${reps} reps, read-back included)\n`);
    console.log(formatBackendTable(statuses));
  }
  return statuses.some((s) => s.ok) ? 0 : 1;
}
