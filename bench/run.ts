/**
 * The benchmark runner behind `npx deno task bench` (and `npm run bench`): measures every backend
 * on the standard configurations, optionally next to PyTorch (`--peer torch`), prints a table and,
 * with `--json FILE`, writes the JSON document. `--help` lists the flags (bench/flags.ts); an
 * unknown flag exits with code 2.
 *
 *   npx deno task bench [--backends cpu,wasm] [--threads N] [--configs tiny,small,medium,s135m]
 *                       [--peer torch] [--json FILE] [--quick] [--no-workers] [--stock-kernels]
 *                       [--case-timeout SECONDS]
 *
 * Each case runs in its own process (bench/case.ts; the peer's in scripts/), so its peak memory
 * and tensor counts are its own; the run itself is bench/orchestrate.ts.
 *
 * @module
 */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../data/jsonl.ts";
import { BenchFlagError, type BenchFlags, benchHelp, parseBenchFlags } from "./flags.ts";
import { runBench } from "./orchestrate.ts";
import { formatTable } from "./report.ts";
import { runMarkedProcess } from "./subprocess.ts";
import { findTorch } from "./torch-peer.ts";

const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
const here = dirname(fileURLToPath(import.meta.url));
const caseFile = join(here, "case.ts");
const root = dirname(here);
const argv = process.argv.slice(2);

let flags: BenchFlags;
try {
  flags = parseBenchFlags(argv, { deno: deno !== undefined });
} catch (e) {
  if (!(e instanceof BenchFlagError)) throw e;
  console.error(`bench: ${e.message}`);
  process.exit(2);
}
if (flags.help) {
  console.log(benchHelp);
  process.exit(0);
}

let env: Record<string, string | undefined> | undefined;
const childEnv = (): Record<string, string | undefined> => {
  if (env !== undefined) return env;
  env = { ...process.env };
  // wgpu prints an error line per adapter probe without it.
  if (!env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = mkdtempSync(join(os.tmpdir(), "alpha-spin-bench-"));
  return env;
};

try {
  const report = await runBench(flags, {
    runCase: (args, timeoutS) => {
      const [cmd, cmdArgs] = deno
        ? [deno.execPath(), ["run", "-A", caseFile, ...args]]
        : [process.execPath, ["--import", "tsx", caseFile, ...args]];
      return runMarkedProcess(cmd, cmdArgs, { marker: "@@bench ", timeoutS, cwd: root, env: childEnv() });
    },
    findTorch: () => findTorch(),
    runTorch: (python, c, timeoutS) => {
      // torch.set_num_threads sets its own pool; the BLAS and OpenMP pools get the same count here.
      const threads = String(flags.threads);
      const env = {
        ...process.env,
        OMP_NUM_THREADS: threads,
        OPENBLAS_NUM_THREADS: threads,
        MKL_NUM_THREADS: threads,
      };
      return runMarkedProcess(python, [c.script, ...c.args], {
        marker: "@@torch ",
        timeoutS,
        cwd: root,
        env,
      });
    },
    log: (line) => console.error(line),
    writeJson: async (path, text) => {
      await writeFileAtomic(path, text);
      console.error(`wrote ${path}`);
    },
    command: `${deno ? "npx deno task bench" : "npx tsx bench/run.ts"} ${argv.join(" ")}`.trim(),
  });
  console.log(formatTable(report));
} catch (e) {
  console.error(`bench: stopped: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  process.exit(1);
}
process.exit(0);
