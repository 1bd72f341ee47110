/**
 * The benchmark runner's command line: the flags, their defaults, the help text, and the parser
 * that refuses an unknown flag or a bad value (bench/run.ts exits with code 2 on a {@link BenchFlagError}).
 *
 * @example
 * ```ts
 * import { parseBenchFlags } from "./flags.ts";
 * const flags = parseBenchFlags(["--backends", "wasm", "--peer", "torch"], { deno: true });
 * flags.backends; // ["wasm"]
 * ```
 *
 * @module
 */
import { either } from "fp-ts";
import { decodeText, positiveInt } from "../core/config.ts";
import { backendNames } from "../backends/types.ts";
import { type BenchConfigName, benchConfigs } from "./configs.ts";

/** Everything the command line decides. */
export interface BenchFlags {
  readonly help: boolean;
  /** Backends to measure, in order. */
  readonly backends: readonly string[];
  /** True when `--backends` named them (then a software WebGPU adapter is measured too). */
  readonly backendsExplicit: boolean;
  /** BLAS threads, passed to `loadBackend` as `threads`, and torch's `set_num_threads`. */
  readonly threads: number;
  readonly configs: readonly BenchConfigName[];
  /** The peer library measured in the same run, or null. */
  readonly peer: "torch" | null;
  /** Where to write the JSON document, or null. */
  readonly json: string | null;
  readonly quick: boolean;
  readonly workers: boolean;
  readonly stockKernels: boolean;
  /** Seconds after which a case is stopped and recorded as timed out; null = each case's default. */
  readonly caseTimeoutS: number | null;
}

/** A flag the runner does not know, or a bad value; the message names the flag. */
export class BenchFlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BenchFlagError";
  }
}

/** The configurations measured when `--configs` is not given (s135m takes minutes: ask for it). */
export const defaultConfigs: readonly BenchConfigName[] = ["tiny", "small", "medium"];

/**
 * The backends measured when `--backends` is not given: cpu, wasm, every further CPU backend that
 * backends/ knows (blas where it exists), and webgpu under Deno (left out when its adapter is a
 * software rasterizer). node and node-gpu are optional packages: name them to measure them.
 *
 * @example
 * ```ts
 * defaultBackends(true); // ["cpu", "wasm", "webgpu"] (plus "blas" once backends/ has it)
 * ```
 */
export const defaultBackends = (deno: boolean, known: readonly string[] = backendNames): string[] => [
  ...["cpu", "wasm"].filter((b) => known.includes(b)),
  ...known.filter((b) => !["cpu", "wasm", "webgpu", "node", "node-gpu"].includes(b)),
  ...(deno && known.includes("webgpu") ? ["webgpu"] : []),
];

/** The help text of `npx deno task bench --help`. */
export const benchHelp = `Usage: npx deno task bench [flags]       (Node: npx tsx bench/run.ts [flags])

Measures every backend on the standard configurations in one run (each case in its own process),
optionally next to PyTorch on the same configs and thread count, prints a table and writes JSON.

Flags:
  --help                 print this text and exit
  --backends a,b         backends to measure (default: cpu, wasm, any other CPU backend of backends/
                         such as blas, and webgpu under Deno; a software WebGPU adapter — llvmpipe,
                         lavapipe — is left out unless --backends names webgpu)
  --threads N            BLAS threads, passed to loadBackend as \`threads\` and to torch (default 1)
  --configs a,b          configurations: tiny, small, medium, s135m (default: tiny,small,medium;
                         s135m, SmolLM2-135M's shape with LoRA, takes several minutes on its own)
  --peer torch           also run PyTorch (scripts/torch-dpo-step.py, scripts/torch-generate.py) on the
                         same configs and threads, and report our/torch ratios (needs python3-torch)
  --json FILE            also write the JSON document (written even when cases fail)
  --quick                fewer repetitions (a smoke test of the runner)
  --no-workers           skip the 1-vs-2-thread trainer and generation measurements
  --stock-kernels        measure wasm without the fast matrix-product kernels
  --case-timeout S       stop any case after S seconds and record it as timed out
                         (default: 480 s per case, 1500 s for s135m)
`;

type Kind = "boolean" | "value";
const known: Readonly<Record<string, Kind>> = {
  "--help": "boolean",
  "--backends": "value",
  "--threads": "value",
  "--configs": "value",
  "--peer": "value",
  "--json": "value",
  "--quick": "boolean",
  "--no-workers": "boolean",
  "--stock-kernels": "boolean",
  "--case-timeout": "value",
};

const listOf = (flag: string, value: string): string[] => {
  const items = value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) {
    throw new BenchFlagError(`${flag}: expected a comma-separated list, got "${value}"`);
  }
  return items;
};

/** A count flag, decoded by the run config's own codec (core/config.ts). */
const countFlag = (flag: string, value: string): number => {
  const result = decodeText(positiveInt, value);
  if (either.isLeft(result)) throw new BenchFlagError(`${flag}: ${result.left}`);
  return result.right;
};

/**
 * Parse the runner's arguments (`--flag value` or `--flag=value`). Throws {@link BenchFlagError}
 * naming the flag for an unknown flag, a missing value, an unknown backend or configuration.
 *
 * @example
 * ```ts
 * parseBenchFlags(["--configs=s135m", "--threads", "2"], { deno: true }).threads; // 2
 * ```
 */
export const parseBenchFlags = (
  argv: readonly string[],
  options: { readonly deno: boolean; readonly knownBackends?: readonly string[] },
): BenchFlags => {
  const knownBackends = options.knownBackends ?? backendNames;
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const kind = known[name];
    if (kind === undefined) {
      const hint = arg === "-h" ? " (did you mean --help?)" : "";
      throw new BenchFlagError(`unknown flag "${arg}"${hint}; run with --help for the flags`);
    }
    if (kind === "boolean") {
      if (eq > 0) throw new BenchFlagError(`${name} takes no value`);
      values.set(name, "");
    } else if (eq > 0) values.set(name, arg.slice(eq + 1));
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) throw new BenchFlagError(`${name} needs a value`);
      values.set(name, next);
      i++;
    }
  }
  const backends = values.has("--backends") ? listOf("--backends", values.get("--backends")!) : null;
  for (const b of backends ?? []) {
    if (!knownBackends.includes(b)) {
      throw new BenchFlagError(`--backends: unknown backend "${b}"; known: ${knownBackends.join(", ")}`);
    }
  }
  const configs = values.has("--configs")
    ? listOf("--configs", values.get("--configs")!)
    : [...defaultConfigs];
  for (const c of configs) {
    if (!(c in benchConfigs)) {
      throw new BenchFlagError(
        `--configs: unknown config "${c}"; known: ${Object.keys(benchConfigs).join(", ")}`,
      );
    }
  }
  const peer = values.get("--peer");
  if (peer !== undefined && peer !== "torch") {
    throw new BenchFlagError(`--peer: unknown peer "${peer}"; known: torch`);
  }
  const json = values.get("--json");
  if (json === "") throw new BenchFlagError("--json needs a file name");
  return {
    help: values.has("--help"),
    backends: backends ?? defaultBackends(options.deno, knownBackends),
    backendsExplicit: backends !== null,
    threads: values.has("--threads") ? countFlag("--threads", values.get("--threads")!) : 1,
    configs: configs as BenchConfigName[],
    peer: peer === "torch" ? "torch" : null,
    json: json ?? null,
    quick: values.has("--quick"),
    workers: !values.has("--no-workers"),
    stockKernels: values.has("--stock-kernels"),
    caseTimeoutS: values.has("--case-timeout")
      ? countFlag("--case-timeout", values.get("--case-timeout")!)
      : null,
  };
};
