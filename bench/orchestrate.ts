/**
 * The benchmark run: every backend on every configuration (each case through `deps.runCase`, in
 * its own process in a real run), the two-thread measurements, the PyTorch peer on the same
 * configurations and threads, and the α-SPIN iteration estimate, into one {@link BenchReport}.
 *
 * A case that fails or runs past its time limit is recorded (`error` and `status` in the JSON, a
 * FAILED / TIMED OUT row in the table) and the others still run; the JSON is written at the end
 * even when something failed, and even when the run itself stops on an unexpected error.
 *
 * @example
 * ```ts
 * import { runBench } from "./orchestrate.ts";
 * const report = await runBench(parseBenchFlags(argv, { deno: true }), deps);
 * ```
 *
 * @module
 */
import os from "node:os";
import type { BenchConfigName } from "./configs.ts";
import type { BenchFlags } from "./flags.ts";
import type { ConfigFigures } from "./measure.ts";
import { caseTimeoutOf, planOf, skipReason } from "./plan.ts";
import { type BackendReport, type BenchReport, configReport, machineInfo } from "./report.ts";
import { addIterationEstimate, measureTorch } from "./peer-run.ts";
import { failureOf } from "./subprocess.ts";
import type { TorchCase } from "./torch-peer.ts";

/** What the run needs from the outside world (processes, files, the clock); tests pass fakes. */
export interface BenchDeps {
  /** Run bench/case.ts with these arguments; resolves with its result or rejects (CaseFailure). */
  runCase(args: readonly string[], timeoutS: number): Promise<Record<string, unknown>>;
  /** Where torch is, or why it is not (called only with `--peer torch`). */
  findTorch(): { python: string; version: string } | { reason: string };
  /** Run a peer script with `python`; resolves with its `@@torch` result or rejects. */
  runTorch(python: string, c: TorchCase, timeoutS: number): Promise<Record<string, unknown>>;
  /** Progress lines (stderr in a real run). */
  log(line: string): void;
  /** Write the JSON document (atomically in a real run). */
  writeJson(path: string, text: string): Promise<void> | void;
  /** How the run was started, for the document's `command`. */
  readonly command: string;
}

const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** The notes of the document: what every figure means. */
export const benchNotes: readonly string[] = [
  "tokens per training step = 2·batch·ctx (chosen and rejected sequences, prompt included).",
  "N = parameters minus token and position embeddings (an untied head counted; a tied head, s135m, counted once as the head).",
  "dpo_step gflops = 6·N·tokens/s (policy forward 2N + backward 4N per token): the step training runs " +
  "(train/step.ts's optimizerStep over alphaSpinGradients, reference log-probs pre-computed as the " +
  "reference phase does); full fine-tuning, sigmoid loss β = 0.1, AdamW with clipping at 1.",
  "medium and s135m run their training steps in passes of one pair (gradients accumulated over the 4 pairs, the " +
  "same update) and their log-probs two sequences at a time: a pass over the whole batch needs more than the wasm " +
  "backend's 4 GiB heap. The torch peer does the same.",
  "dpo_step_lora gflops = (4·N + 6·r·Σ(in+out))·tokens/s: forward 2N, activation gradients through the " +
  "frozen base 2N, adapters 2r(in+out) forward and 4r(in+out) backward per adapted projection; GPT-2 configs: r = 8 on " +
  "c_attn (q,k,v) and attn.c_proj (o); s135m: r = 16 on q,k,v,o,gate,up,down; reference log-probs pre-computed.",
  "s135m: SmolLM2-135M's shape (Llama blocks, vocab 49152, d 576, 30 layers, 9 heads, 3 KV heads, MLP 1536, tied " +
  "head), random weights; measures dpo_step_lora, logprob and generate (batch 8, 128 new tokens), once each.",
  "Both training steps skip the output head on prompt columns (except the last), as the library does; " +
  "the formulas count the head on every token.",
  "roofline = achieved gflops / the same backend's matmul1024_gflops in the same run.",
  "logprob tokens/s: no-gradient forward + log-probs of the same 2·batch sequences.",
  "generate: batch 8, prompt 16, L = 64 (s135m: 128) and 2L new tokens, KV cache, greedy with no EOS; " +
  "tokens_per_s = 8·L / t(L); time_ratio_2x = t(2L) / t(L); each t is the minimum over the cell's generate runs.",
  "tensors_growth_100_steps = numTensors after the last timed dpo_step (dpo_step_lora where the full step is not " +
  "measured) − after the first; measured over tensors_growth_steps_measured steps and scaled linearly to 100 where fewer. " +
  "tensors_growth_check: the growth over 100 real steps (full where the config measures it, and LoRA) on the config's " +
  "code path (family, attention layout, LoRA targets, micro-batching) with shrunk dimensions (bench/configs.ts growthShape).",
  "peers.torch: scripts/torch-dpo-step.py (modes full, lora, logprob, matmul) and scripts/torch-generate.py (greedy, " +
  "KV cache) on the same configs, repetitions, micro-batches and thread count (torch.set_num_threads), each mode in " +
  "its own process; its peak_rss_mb is the largest of those processes'. ratios = ours / torch.",
  "workers: tokens/s of the training step (train/step.ts, the micro-batch split over 1 or 2 threads by " +
  "train/pool.ts) on the small config, after 4 untimed warm-up steps, and generation split over the threads.",
  "trainer_threads: the self-play trainer's step (train/train.ts with workers 1 or 2) on the small config, full " +
  "fine-tuning, reference log-probs pre-computed, after 4 untimed warm-up steps; generation_tokens_per_s: the loop's " +
  "loser generation, 4 batches of 8 prompts × 64 new tokens, on 1 thread and on 2, after one untimed pass.",
];

/**
 * Run the benchmark described by `flags`. Writes `flags.json` (if set) before returning or throwing.
 *
 * @example
 * ```ts
 * const report = await runBench(flags, { runCase, findTorch, runTorch, log, writeJson, command });
 * console.log(formatTable(report));
 * ```
 */
export const runBench = async (flags: BenchFlags, deps: BenchDeps): Promise<BenchReport> => {
  const started = performance.now();
  const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(0)} s`;
  const extraArgs = [...(flags.stockKernels ? ["--stock-kernels"] : []), `--threads=${flags.threads}`];
  const runCase = (args: string[], config: BenchConfigName | null) =>
    deps.runCase([...args, ...extraArgs], caseTimeoutOf(config, flags.caseTimeoutS));
  let tfjsVersion = "unknown";
  const report: BenchReport = {
    machine: machineInfo(tfjsVersion),
    threads: flags.threads,
    backends: {},
    workers: {},
    elapsed_s: 0,
    command: deps.command,
    notes: [...benchNotes],
  };
  try {
    for (const backend of flags.backends) {
      tfjsVersion = await measureBackend(backend, flags, report, runCase, deps.log, elapsed) ?? tfjsVersion;
    }
    if (flags.workers && flags.backends.includes("wasm")) {
      await measureThreads(flags, report, runCase, deps.log, elapsed);
    }
    if (flags.peer === "torch") await measureTorch(flags, report, deps, elapsed);
    addIterationEstimate(report);
  } finally {
    report.machine = { ...machineInfo(tfjsVersion), load_average_start: report.machine.load_average_start };
    report.machine.load_average_end = os.loadavg().map((x) => round(x, 2));
    report.elapsed_s = round((performance.now() - started) / 1000, 1);
    if (flags.json !== null) await deps.writeJson(flags.json, JSON.stringify(report, null, 2) + "\n");
  }
  return report;
};

type CaseRun = (args: string[], config: BenchConfigName | null) => Promise<Record<string, unknown>>;

/** One backend: its matrix product, then every configuration; returns the tfjs version it reported. */
const measureBackend = async (
  backend: string,
  flags: BenchFlags,
  report: BenchReport,
  runCase: CaseRun,
  log: (s: string) => void,
  elapsed: () => string,
): Promise<string | undefined> => {
  log(`[${elapsed()}] ${backend}: matmul 1024²`);
  let section: BackendReport;
  let tfjs: string | undefined;
  try {
    const m = await runCase(["matmul", backend], null);
    tfjs = String(m.tfjs);
    section = {
      matmul1024_gflops: round(Number(m.matmul1024_gflops)),
      ...(m.matmul1024_cpu_gflops === undefined
        ? {}
        : { matmul1024_cpu_gflops: round(Number(m.matmul1024_cpu_gflops)) }),
      details: String(m.details),
      configs: {},
      skipped: {},
    };
  } catch (e) {
    const f = failureOf(e);
    report.backends[backend] = {
      matmul1024_gflops: 0,
      details: "",
      configs: {},
      skipped: {},
      error: f.message,
      status: f.status,
    };
    log(
      `  ${backend} ${f.status === "timed_out" ? "timed out" : "unavailable"}: ${f.message.split("\n")[0]}`,
    );
    return tfjs;
  }
  const software = /software|llvmpipe|lavapipe/i.test(section.details);
  if (backend === "webgpu" && software && !flags.backendsExplicit) {
    // Under load a software adapter's tiny case alone ran past 7 minutes: measured only on request.
    report.left_out = {
      ...report.left_out,
      webgpu:
        `the adapter is a software rasterizer (${section.details}; matmul 1024² ${section.matmul1024_gflops} ` +
        "GFLOP/s): measured only with --backends webgpu",
    };
    log(`  left out webgpu: software adapter (ask with --backends webgpu)`);
    return tfjs;
  }
  report.backends[backend] = section;
  for (const config of flags.configs) {
    const why = skipReason(backend, config, software);
    if (why !== undefined) {
      section.skipped[config] = why;
      log(`  skip ${backend}/${config}: ${why}`);
      continue;
    }
    const plan = planOf({ slow: backend === "cpu" || software, config, quick: flags.quick });
    log(`[${elapsed()}] ${backend}/${config}: ${JSON.stringify(plan)}`);
    try {
      const figures = await runCase(["config", backend, config, JSON.stringify(plan)], config);
      section.configs[config] = configReport(
        figures as unknown as ConfigFigures & { peak_rss_mb: number },
        section.matmul1024_gflops,
      );
    } catch (e) {
      const f = failureOf(e);
      section.configs[config] = { error: f.message, status: f.status };
      log(`  ${backend}/${config} ${f.status}: ${f.message}`);
    }
    log(`[${elapsed()}] ${backend}/${config}: tensor growth over 100 steps, shrunk dimensions`);
    try {
      const g = await runCase(["growth", backend, config, JSON.stringify(plan)], config);
      section.configs[config] = {
        ...section.configs[config],
        tensors_growth_check: {
          steps: Number(g.steps),
          ...(g.dpo_step === undefined ? {} : { dpo_step: Number(g.dpo_step) }),
          dpo_step_lora: Number(g.dpo_step_lora),
        },
      };
    } catch (e) {
      const f = failureOf(e);
      section.configs[config] = {
        ...section.configs[config],
        tensors_growth_check: { error: f.message, status: f.status },
      };
      log(`  ${backend}/${config} growth check ${f.status}: ${f.message}`);
    }
  }
  return tfjs;
};

/** Record a case outside the (backend, config) grid that failed or timed out. */
const recordFailure = (report: BenchReport, name: string, e: unknown, log: (s: string) => void): void => {
  const f = failureOf(e);
  report.case_failures = { ...report.case_failures, [name]: { status: f.status, error: f.message } };
  log(`  ${name} ${f.status}: ${f.message}`);
};

/** The data-parallel trainer, the self-play trainer and loser generation on 1 and 2 threads (wasm, small). */
const measureThreads = async (
  flags: BenchFlags,
  report: BenchReport,
  runCase: CaseRun,
  log: (s: string) => void,
  elapsed: () => string,
): Promise<void> => {
  // Untimed warm-up steps first: with both cores busy, V8's background compilation of the hot
  // JavaScript (tfjs's op dispatch) is starved and the first few steps of 2 workers run up to 40%
  // slower (measured here); a training run is hundreds of steps, so the steady state is the figure.
  const steps = flags.quick ? 1 : 6, warmup = flags.quick ? 1 : 4;
  const seconds: Record<string, number> = {}, generation: Record<string, number> = {};
  for (const n of [1, 2]) {
    log(`[${elapsed()}] workers: ${n} on small, ${warmup} warm-up + ${steps} timed steps`);
    try {
      const r = await runCase(["workers", String(n), "small", String(steps), String(warmup)], "small");
      report.workers[String(n)] = round(Number(r.tokens_per_s), 1);
      seconds[String(n)] = round(Number(r.seconds_per_step));
      generation[String(n)] = round(Number(r.generate_tokens_per_s), 1);
    } catch (e) {
      recordFailure(report, `workers ${n}`, e, log);
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
  const tokens: Record<string, number> = {}, trainerSeconds: Record<string, number> = {};
  for (const n of [1, 2]) {
    log(
      `[${elapsed()}] self-play trainer: ${n} thread${
        n === 1 ? "" : "s"
      } on small, ${warmup} warm-up + ${steps} timed steps`,
    );
    try {
      const r = await runCase(["trainer", String(n), "small", String(steps), String(warmup)], "small");
      tokens[String(n)] = round(Number(r.tokens_per_s), 1);
      trainerSeconds[String(n)] = round(Number(r.seconds_per_step));
    } catch (e) {
      recordFailure(report, `trainer ${n}`, e, log);
    }
  }
  const losers: Record<string, number> = {};
  for (const n of [1, 2]) {
    log(`[${elapsed()}] loser generation: ${n} thread${n === 1 ? "" : "s"} on small, 4 batches of 8`);
    try {
      losers[String(n)] = round(
        Number((await runCase(["losers", String(n), "small"], "small")).tokens_per_s),
        1,
      );
    } catch (e) {
      recordFailure(report, `losers ${n}`, e, log);
    }
  }
  if (tokens["1"] && tokens["2"]) {
    report.trainer_threads = {
      tokens_per_s: tokens,
      seconds_per_step: trainerSeconds,
      speedup: round(tokens["2"] / tokens["1"]),
      ...(losers["1"] && losers["2"]
        ? { generation_tokens_per_s: losers, generation_speedup: round(losers["2"] / losers["1"]) }
        : {}),
    };
  }
};
