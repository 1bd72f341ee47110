/**
 * The benchmark runner behind `deno task bench` (and `npm run bench`): measures every backend on
 * the standard configurations, prints a table and, with `--json FILE`, writes the JSON document.
 *
 *   deno task bench [--json FILE] [--backends cpu,wasm,webgpu] [--configs tiny,small,medium]
 *                   [--quick] [--no-workers] [--stock-kernels] [--case-timeout SECONDS]
 *
 * Each (backend, configuration) cell runs in its own process (bench/case.ts), so its peak memory
 * and tensor counts are its own. Repetitions are budgeted so the full run finishes in under ten
 * minutes on a 2-core machine: the slow `cpu` backend runs only `tiny`, a software WebGPU adapter
 * (lavapipe) only `tiny`; skipped cells are listed with the reason.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type BenchConfigName, benchConfigs } from "./configs.ts";
import type { ConfigFigures, MeasurePlan } from "./measure.ts";
import { type BackendReport, type BenchReport, configReport, formatTable, machineInfo } from "./report.ts";

const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
const here = dirname(fileURLToPath(import.meta.url));
const caseFile = join(here, "case.ts");
const root = dirname(here);

// ---- flags --------------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
};
const list = (name: string, all: string[]): string[] => {
  const v = flag(name);
  return v === undefined ? all : v.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
};
const quick = argv.includes("--quick");
const stock = argv.includes("--stock-kernels");
const withWorkers = !argv.includes("--no-workers");
const jsonFile = flag("--json");
/** Seconds after which one cell's process is stopped (its figures are then reported as an error). */
const caseTimeoutS = Number(flag("--case-timeout") ?? 480);
const backends = list("--backends", deno ? ["cpu", "wasm", "webgpu"] : ["cpu", "wasm"]);
const configs = list("--configs", ["tiny", "small", "medium"]) as BenchConfigName[];
for (const c of configs) {
  if (!(c in benchConfigs)) {
    throw new RangeError(`unknown config "${c}"; known: ${Object.keys(benchConfigs).join(", ")}`);
  }
}

// ---- repetitions ------------------------------------------------------------------------------------
/**
 * The plan of one cell: full runs are budgeted for < 10 minutes in all on 2 cores. Generation
 * times are the minimum over `generateRuns` runs each of L and 2L (one run of the small config is
 * a third of a second, so a single one can be off by a scheduling hiccup).
 */
const planOf = (backend: string, config: BenchConfigName): MeasurePlan => {
  if (backend === "wasm" || backend === "node" || backend === "node-gpu" || backend === "webgpu-hardware") {
    if (config === "tiny") {
      return quick
        ? { steps: 5, loraSteps: 3, logprobReps: 2, generateRuns: 1 }
        : { steps: 100, loraSteps: 10, logprobReps: 5, generateRuns: 3 };
    }
    if (config === "small") {
      return quick
        ? { steps: 1, loraSteps: 1, logprobReps: 1, generateRuns: 1 }
        : { steps: 3, loraSteps: 3, logprobReps: 3, generateRuns: 3 };
    }
    // medium: one pair per forward/backward pass (gradients accumulated over the batch), since a
    // pass over the whole batch needs more than wasm's 4 GiB heap.
    return quick
      ? { steps: 1, loraSteps: 1, logprobReps: 1, generateRuns: 1, microBatch: 1 }
      : { steps: 2, loraSteps: 2, logprobReps: 2, generateRuns: 2, microBatch: 1 };
  }
  // cpu and software webgpu: tiny only, one timed repetition each.
  return { steps: 1, loraSteps: 1, logprobReps: 1, generateRuns: 1 };
};

/** Why a cell is not measured, or undefined when it is. */
const skipReason = (backend: string, config: BenchConfigName, software: boolean): string | undefined => {
  if (config === "tiny") return undefined;
  if (backend === "cpu") {
    return "the cpu backend runs plain JavaScript kernels (about 1 GFLOP/s here): one step of this config takes " +
      "minutes, which does not fit the 10-minute run";
  }
  if (backend === "webgpu" && software) {
    return "the WebGPU adapter is software (lavapipe, about 1 GFLOP/s): only tiny fits the 10-minute run";
  }
  return undefined;
};

// ---- subprocesses -----------------------------------------------------------------------------------
const childEnv = (): Record<string, string | undefined> => {
  const env = { ...process.env };
  // wgpu prints an error line per adapter probe without it.
  if (!env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = mkdtempSync(join(os.tmpdir(), "alpha-spin-bench-"));
  return env;
};

/** Run bench/case.ts with `args` in a fresh process; resolves with its `@@bench` result. */
const runCase = (args: string[]): Promise<Record<string, unknown>> =>
  new Promise((resolve, reject) => {
    const all = [...args, ...(stock ? ["--stock-kernels"] : [])];
    const [cmd, cmdArgs] = deno
      ? [deno.execPath(), ["run", "-A", caseFile, ...all]]
      : [process.execPath, ["--import", "tsx", caseFile, ...all]];
    const child = spawn(cmd, cmdArgs, { cwd: root, env: childEnv(), stdio: ["ignore", "pipe", "pipe"] });
    // A cell that hangs (a stuck GPU driver, say) must not stop the run.
    const timer = setTimeout(() => child.kill("SIGKILL"), caseTimeoutS * 1000);
    let out = "", err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith("@@bench "));
      if (line !== undefined) resolve(JSON.parse(line.slice("@@bench ".length)));
      else {
        const tail = (err.trim() || out.trim()).split("\n").filter((l) => !/^npm warn/.test(l)).slice(-6)
          .join("\n");
        const why = code === null ? `was stopped after ${caseTimeoutS} s` : `exited with code ${code}`;
        reject(new Error(`bench case ${args.join(" ")} ${why}: ${tail}`));
      }
    });
  });

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const log = (s: string): void => console.error(s);
const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;

// ---- the run ----------------------------------------------------------------------------------------
const started = performance.now();
const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(0)} s`;
let tfjsVersion = "unknown";
const report: BenchReport = {
  machine: machineInfo(tfjsVersion),
  backends: {},
  workers: {},
  elapsed_s: 0,
  command: `${deno ? "deno task bench" : "npx tsx bench/run.ts"} ${argv.join(" ")}`.trim(),
  notes: [
    "tokens per training step = 2·batch·ctx (chosen and rejected sequences, prompt included).",
    "N = parameters minus token and position embeddings (untied head counted).",
    "dpo_step gflops = 6·N·tokens/s (policy forward 2N + backward 4N per token): the step training runs " +
    "(train/step.ts's optimizerStep over alphaSpinGradients, reference log-probs pre-computed as the " +
    "reference phase does); full fine-tuning, sigmoid loss β = 0.1, AdamW with clipping at 1.",
    "medium runs its training steps in passes of one pair (gradients accumulated over the 4 pairs, the same " +
    "update): a pass over the whole batch needs more than the wasm backend's 4 GiB heap.",
    "dpo_step_lora gflops = (4·N + 6·r·Σ(in+out))·tokens/s: forward 2N, activation gradients through the " +
    "frozen base 2N, adapters 2r(in+out) forward and 4r(in+out) backward per adapted projection; r = 8 on " +
    "c_attn (q,k,v) and attn.c_proj (o); reference log-probs pre-computed.",
    "Both training steps skip the output head on prompt columns (except the last), as the library does; " +
    "the formulas count the head on every token.",
    "roofline = achieved gflops / the same backend's matmul1024_gflops in the same run.",
    "logprob tokens/s: no-gradient forward + log-probs of the same 2·batch sequences.",
    "generate: batch 8, prompt 16, L = 64 and 2L new tokens, KV cache, temperature-1 sampling with no EOS; " +
    "tokens_per_s = 8·L / t(L); time_ratio_2x = t(2L) / t(L); each t is the minimum over the cell's generate runs.",
    "tensors_growth_100_steps = numTensors after the last timed dpo_step − after the first; measured over " +
    "tensors_growth_steps_measured steps and scaled linearly to 100 where fewer.",
    "workers: tokens/s of the training step (train/step.ts, the micro-batch split over 1 or 2 threads by " +
    "train/pool.ts) on the small config, after 4 untimed warm-up steps, and generation split over the threads.",
    "trainer_threads: the self-play trainer's step (train/train.ts with workers 1 or 2: the training thread " +
    "and one gradient worker each take half of the micro-batch; AdamW on the training thread; weights shared " +
    "after each step) on the small config, full fine-tuning, reference log-probs pre-computed, after 4 untimed warm-up steps; generation_tokens_per_s: " +
    "the loop's loser generation, 4 batches of 8 prompts × 64 new tokens, on 1 thread and on 2 (a generation " +
    "worker takes every other batch), after one untimed pass.",
  ],
};

for (const backend of backends) {
  log(`[${elapsed()}] ${backend}: matmul 1024²`);
  let section: BackendReport;
  try {
    const m = await runCase(["matmul", backend]);
    tfjsVersion = String(m.tfjs);
    section = {
      matmul1024_gflops: round(Number(m.matmul1024_gflops)),
      details: String(m.details),
      configs: {},
      skipped: {},
    };
  } catch (e) {
    report.backends[backend] = {
      matmul1024_gflops: 0,
      details: "",
      configs: {},
      skipped: {},
      error: message(e),
    };
    log(`  ${backend} unavailable: ${message(e).split("\n")[0]}`);
    continue;
  }
  report.backends[backend] = section;
  const software = /software/i.test(section.details);
  for (const config of configs) {
    const why = skipReason(backend, config, software);
    if (why !== undefined) {
      section.skipped[config] = why;
      log(`  skip ${backend}/${config}: ${why}`);
      continue;
    }
    const plan = planOf(backend === "webgpu" && !software ? "webgpu-hardware" : backend, config);
    log(`[${elapsed()}] ${backend}/${config}: ${JSON.stringify(plan)}`);
    try {
      const figures = await runCase(["config", backend, config, JSON.stringify(plan)]);
      section.configs[config] = configReport(
        figures as unknown as ConfigFigures & { peak_rss_mb: number },
        section.matmul1024_gflops,
      );
    } catch (e) {
      section.configs[config] = { error: message(e) };
      log(`  ${backend}/${config} failed: ${message(e)}`);
    }
  }
}

if (withWorkers && backends.includes("wasm")) {
  // Untimed warm-up steps first: with both cores busy, V8's background compilation of the hot
  // JavaScript (tfjs's op dispatch) is starved and the first few steps of 2 workers run up to 40%
  // slower (measured here); a training run is hundreds of steps, so the steady state is the figure.
  const steps = quick ? 1 : 6, warmup = quick ? 1 : 4;
  const seconds: Record<string, number> = {}, generation: Record<string, number> = {};
  for (const n of [1, 2]) {
    log(`[${elapsed()}] workers: ${n} on small, ${warmup} warm-up + ${steps} timed steps`);
    try {
      const r = await runCase(["workers", String(n), "small", String(steps), String(warmup)]);
      report.workers[String(n)] = round(Number(r.tokens_per_s), 1);
      seconds[String(n)] = round(Number(r.seconds_per_step));
      generation[String(n)] = round(Number(r.generate_tokens_per_s), 1);
    } catch (e) {
      log(`  workers ${n} failed: ${message(e)}`);
    }
  }
  if (report.workers["1"] && report.workers["2"]) {
    report.workers_detail = {
      config: "small",
      metric: "training step tokens/s (full fine-tuning, reference log-probs pre-computed)",
      seconds_per_step: seconds,
      warmup_steps: warmup,
      timed_steps: steps,
      speedup: round(report.workers["2"] / report.workers["1"]),
      generate_tokens_per_s: generation,
    };
  }
}

if (withWorkers && backends.includes("wasm")) {
  const steps = quick ? 1 : 6, warmup = quick ? 1 : 4;
  const tokens: Record<string, number> = {}, seconds: Record<string, number> = {};
  for (const n of [1, 2]) {
    log(`[${elapsed()}] self-play trainer: ${n} thread${n === 1 ? "" : "s"} on small, ${warmup} warm-up + ${steps} timed steps`);
    try {
      const r = await runCase(["trainer", String(n), "small", String(steps), String(warmup)]);
      tokens[String(n)] = round(Number(r.tokens_per_s), 1);
      seconds[String(n)] = round(Number(r.seconds_per_step));
    } catch (e) {
      log(`  trainer ${n} failed: ${message(e)}`);
    }
  }
  const losers: Record<string, number> = {};
  for (const n of [1, 2]) {
    log(`[${elapsed()}] loser generation: ${n} thread${n === 1 ? "" : "s"} on small, 4 batches of 8`);
    try {
      losers[String(n)] = round(Number((await runCase(["losers", String(n), "small"])).tokens_per_s), 1);
    } catch (e) {
      log(`  losers ${n} failed: ${message(e)}`);
    }
  }
  if (tokens["1"] && tokens["2"]) {
    report.trainer_threads = {
      tokens_per_s: tokens,
      seconds_per_step: seconds,
      speedup: round(tokens["2"] / tokens["1"]),
      ...(losers["1"] && losers["2"]
        ? { generation_tokens_per_s: losers, generation_speedup: round(losers["2"] / losers["1"]) }
        : {}),
    };
  }
}

report.machine = { ...machineInfo(tfjsVersion), load_average_start: report.machine.load_average_start };
report.machine.load_average_end = os.loadavg().map((x) => round(x, 2));
report.elapsed_s = round((performance.now() - started) / 1000, 1);
console.log(formatTable(report));
if (jsonFile !== undefined) {
  writeFileSync(jsonFile, JSON.stringify(report, null, 2) + "\n");
  console.log(`wrote ${jsonFile}`);
}
