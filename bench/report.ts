/**
 * The benchmark document (the JSON that `deno task bench --json FILE` writes), the machine
 * description, and the plain-text table printed at the end of a run.
 *
 * @example
 * ```ts
 * import { formatTable, machineInfo } from "./report.ts";
 * console.log(formatTable(report));
 * ```
 *
 * @module
 */
import os from "node:os";
import process from "node:process";
import type { ConfigFigures } from "./measure.ts";
import type { CaseStatus } from "./subprocess.ts";

/** The machine a run measured. */
export interface MachineInfo {
  readonly cpu_model: string;
  readonly cores: number;
  readonly memory_gb: number;
  readonly os: string;
  readonly runtime: string;
  readonly runtime_version: string;
  readonly tfjs_version: string;
  /** 1-, 5- and 15-minute load averages when the run started and when it ended. */
  readonly load_average_start: readonly number[];
  load_average_end?: readonly number[];
}

/** One figure of a training measurement, with the roofline fraction added. */
export interface StepReport {
  readonly tokens_per_s: number;
  readonly gflops: number;
  readonly roofline: number;
  readonly seconds_per_step: number;
  readonly cpu_seconds_per_step?: number;
  readonly steps: number;
}

/** The figures of one configuration on one backend, in the issue's layout. */
export interface ConfigReport {
  readonly dpo_step?: StepReport;
  readonly dpo_step_lora?: StepReport;
  readonly logprob?: { readonly tokens_per_s: number; readonly cpu_tokens_per_s?: number };
  readonly generate?: {
    readonly tokens_per_s: number;
    readonly cpu_tokens_per_s?: number;
    readonly time_ratio_2x: number;
  };
  readonly tensors_growth_100_steps?: number;
  /** Steps the growth was measured over (100 where possible; fewer on slow cells, said here). */
  readonly tensors_growth_steps_measured?: number;
  /**
   * numTensors growth over 100 real steps (full where measured, and LoRA) on this configuration's code
   * path with shrunk dimensions (bench/configs.ts growthShape); or why the check has no figure.
   */
  tensors_growth_check?:
    | { readonly steps: number; readonly dpo_step?: number; readonly dpo_step_lora?: number }
    | { readonly error: string; readonly status: CaseStatus };
  readonly peak_rss_mb?: number;
  /** Why the case has no figures (with `status`). */
  readonly error?: string;
  /** `failed` (threw or exited without a result) or `timed_out` (stopped at its time limit). */
  readonly status?: CaseStatus;
}

/** One backend's section. */
export interface BackendReport {
  matmul1024_gflops: number;
  /** The same product's GFLOP/s per CPU second of the process (all threads): robust to other load. */
  matmul1024_cpu_gflops?: number;
  details: string;
  configs: Record<string, ConfigReport>;
  /** Configurations not measured on this backend, with the reason. */
  skipped: Record<string, string>;
  error?: string;
  status?: CaseStatus;
}

/** The PyTorch peer's figures of one configuration (each mode runs in its own process). */
export interface TorchConfigReport {
  dpo_step?: { tokens_per_s: number; seconds_per_step: number; cpu_seconds_per_step: number; steps: number };
  dpo_step_lora?: {
    tokens_per_s: number;
    seconds_per_step: number;
    cpu_seconds_per_step: number;
    steps: number;
  };
  logprob?: { tokens_per_s: number; cpu_tokens_per_s: number };
  generate?: { tokens_per_s: number; cpu_tokens_per_s: number; time_ratio_2x: number; new_tokens: number };
  /** The largest peak resident memory of the mode processes, MiB. */
  peak_rss_mb?: number;
  /** Modes that failed or timed out, with the reason. */
  errors?: Record<string, { status: CaseStatus; error: string }>;
}

/** our figure / torch's for one backend: tokens/s ratios (> 1: ours faster) and peak memory (< 1: ours smaller). */
export type PeerRatios = Partial<
  Record<"dpo_step" | "dpo_step_lora" | "logprob" | "generate" | "peak_rss_mb", number>
>;

/** `peers.torch` of the document. */
export type TorchPeerReport =
  | { available: false; reason: string }
  | {
    available: true;
    python: string;
    version: string;
    threads: number;
    matmul1024_gflops?: number;
    matmul1024_cpu_gflops?: number;
    matmul_error?: string;
    configs: Record<string, TorchConfigReport>;
    /** Per backend: matmul1024 (ours/torch GFLOP/s) and per configuration the {@link PeerRatios} (wall time). */
    ratios: Record<string, { matmul1024?: number; configs: Record<string, PeerRatios> }>;
    /**
     * The same tokens/s ratios from CPU seconds (each side's process CPU time) instead of wall time:
     * robust to other load on a shared machine; equal to the wall ratios on a quiet one at 1 thread.
     */
    cpu_ratios: Record<string, { matmul1024?: number; configs: Record<string, PeerRatios> }>;
  };

/** What one α-SPIN iteration over `prompts` prompts would take at the measured rates (bench/estimate.ts). */
export interface IterationEstimate {
  generation_s: number;
  reference_s: number;
  training_s: number;
  total_s: number;
}

/** `alpha_spin_iteration`: the estimate for one configuration, ours per backend and torch's. */
export interface IterationReport {
  config: string;
  prompts: number;
  epochs: number;
  new_tokens_per_loser: number;
  reference_models: number;
  formula: string;
  ours: Record<string, IterationEstimate>;
  torch?: IterationEstimate;
  /** The same from tokens per CPU second (what the iteration takes on a core of its own). */
  ours_cpu?: Record<string, IterationEstimate>;
  torch_cpu?: IterationEstimate;
}

/** The whole document. */
export interface BenchReport {
  machine: MachineInfo;
  /** `--threads`: BLAS threads given to every backend and to the peer. */
  threads?: number;
  backends: Record<string, BackendReport>;
  /** Backends of the default list that were not measured, with the reason (a software WebGPU adapter). */
  left_out?: Record<string, string>;
  /** Libraries measured in the same run on the same configs and threads. */
  peers?: { torch?: TorchPeerReport };
  alpha_spin_iteration?: IterationReport;
  /** Cases outside the (backend, config) grid (workers, trainer, losers) that failed or timed out. */
  case_failures?: Record<string, { status: CaseStatus; error: string }>;
  workers: Record<string, number>;
  workers_detail?: {
    config: string;
    metric: string;
    seconds_per_step: Record<string, number>;
    warmup_steps: number;
    timed_steps: number;
    speedup: number;
    /** Generation (batch 8, L new tokens) split over the workers, tokens/s. */
    generate_tokens_per_s: Record<string, number>;
  };
  /** The self-play trainer's step (train/pool.ts) on 1 and 2 threads, small config. */
  trainer_threads?: {
    tokens_per_s: Record<string, number>;
    seconds_per_step: Record<string, number>;
    speedup: number;
    /** The loop's loser generation (4 batches of 8 prompts, 64 tokens) on 1 and 2 threads, tokens/s. */
    generation_tokens_per_s?: Record<string, number>;
    generation_speedup?: number;
  };
  elapsed_s: number;
  command: string;
  notes: string[];
}

/**
 * What this machine and runtime are.
 *
 * @example
 * ```ts
 * machineInfo("4.22.0").cores; // 2
 * ```
 */
export const machineInfo = (tfjsVersion: string): MachineInfo => {
  const deno = (globalThis as { Deno?: { version: { deno: string; v8: string } } }).Deno;
  const cpus = os.cpus();
  return {
    cpu_model: cpus[0]?.model?.trim() ?? "unknown",
    cores: cpus.length,
    memory_gb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.platform()} ${os.release()} ${os.arch()}`,
    runtime: deno ? "deno" : "node",
    runtime_version: deno
      ? `${deno.version.deno} (V8 ${deno.version.v8})`
      : `${process.version} (V8 ${process.versions.v8})`,
    tfjs_version: tfjsVersion,
    load_average_start: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
};

/**
 * A configuration's report from its measured figures and the backend's matrix-product rate.
 *
 * @example
 * ```ts
 * configReport(figures, 22.5, 12.3); // { dpo_step: { tokens_per_s, gflops, roofline, ... }, ... }
 * ```
 */
export const configReport = (
  f: ConfigFigures & { peak_rss_mb?: number },
  matmulGflops: number,
): ConfigReport => {
  const step = (s: ConfigFigures["dpo_step"]): StepReport | undefined =>
    s === undefined ? undefined : { ...s, roofline: s.gflops / matmulGflops };
  const growth = f.tensors_growth === undefined || f.tensors_growth_steps === undefined
    ? undefined
    : f.tensors_growth_steps >= 100
    ? f.tensors_growth
    : (f.tensors_growth / f.tensors_growth_steps) * 100; // linear extrapolation, stated in the notes
  return {
    ...(f.dpo_step ? { dpo_step: step(f.dpo_step) } : {}),
    ...(f.dpo_step_lora ? { dpo_step_lora: step(f.dpo_step_lora) } : {}),
    ...(f.logprob
      ? { logprob: { tokens_per_s: f.logprob.tokens_per_s, cpu_tokens_per_s: f.logprob.cpu_tokens_per_s } }
      : {}),
    ...(f.generate
      ? {
        generate: {
          tokens_per_s: f.generate.tokens_per_s,
          cpu_tokens_per_s: f.generate.cpu_tokens_per_s,
          time_ratio_2x: f.generate.time_ratio_2x,
        },
      }
      : {}),
    ...(growth !== undefined
      ? { tensors_growth_100_steps: growth, tensors_growth_steps_measured: f.tensors_growth_steps }
      : {}),
    ...(f.peak_rss_mb !== undefined ? { peak_rss_mb: Math.round(f.peak_rss_mb) } : {}),
  };
};

const growthCheck = (g: ConfigReport["tensors_growth_check"]): string =>
  g === undefined
    ? "-"
    : "error" in g
    ? statusWord(g.status)
    : `${g.dpo_step ?? "-"}/${g.dpo_step_lora ?? "-"}`;

const statusWord = (s: CaseStatus | undefined): string => (s === "timed_out" ? "TIMED OUT" : "FAILED");

const fmt = (x: number | undefined, digits = 1): string =>
  x === undefined || !Number.isFinite(x) ? "-" : x >= 1000 ? x.toFixed(0) : x.toFixed(digits);

/**
 * The report as an aligned plain-text table (one row per backend and configuration), followed
 * by the skipped cells, the worker figures and the elapsed time.
 *
 * @example
 * ```ts
 * console.log(formatTable(report));
 * ```
 */
export const formatTable = (report: BenchReport): string => {
  const header = [
    "backend",
    "config",
    "dpo tok/s",
    "GFLOP/s",
    "roofline",
    "lora tok/s",
    "GFLOP/s",
    "roofline",
    "logprob tok/s",
    "gen tok/s",
    "t(2L)/t(L)",
    "growth/100",
    "100 steps, shrunk",
    "peak MB",
  ];
  const rows: string[][] = [];
  for (const [backend, b] of Object.entries(report.backends)) {
    if (b.error !== undefined) {
      rows.push([backend, "-", `${statusWord(b.status)}: ${b.error.split("\n")[0]}`]);
    }
    for (const [config, c] of Object.entries(b.configs)) {
      if (c.error !== undefined) {
        rows.push([backend, config, `${statusWord(c.status)}: ${c.error.split("\n")[0].slice(0, 80)}`]);
        continue;
      }
      rows.push([
        backend,
        config,
        fmt(c.dpo_step?.tokens_per_s),
        fmt(c.dpo_step?.gflops, 2),
        fmt(c.dpo_step?.roofline, 2),
        fmt(c.dpo_step_lora?.tokens_per_s),
        fmt(c.dpo_step_lora?.gflops, 2),
        fmt(c.dpo_step_lora?.roofline, 2),
        fmt(c.logprob?.tokens_per_s),
        fmt(c.generate?.tokens_per_s),
        fmt(c.generate?.time_ratio_2x, 2),
        c.tensors_growth_100_steps === undefined
          ? "-"
          : `${fmt(c.tensors_growth_100_steps, 0)}${
            (c.tensors_growth_steps_measured ?? 100) < 100 ? "*" : ""
          }`,
        growthCheck(c.tensors_growth_check),
        fmt(c.peak_rss_mb, 0),
      ]);
    }
  }
  // An error row (backend, config, message) does not widen the columns: its message runs on.
  const full = rows.filter((r) => r.length === header.length);
  const widths = header.map((title, i) => Math.max(title.length, ...full.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells.length < header.length
      ? [cells[0].padStart(widths[0]), cells[1].padStart(widths[1]), ...cells.slice(2)].join("  ")
      : cells.map((c, i) => (c ?? "").padStart(widths[i])).join("  ");
  const out = [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
  out.push("");
  out.push(
    "matmul 1024² fp32: " +
      Object.entries(report.backends).map(([n, b]) => `${n} ${fmt(b.matmul1024_gflops, 2)} GFLOP/s`).join(
        ", ",
      ),
  );
  for (const [backend, b] of Object.entries(report.backends)) {
    for (const [config, why] of Object.entries(b.skipped)) out.push(`skipped ${backend}/${config}: ${why}`);
  }
  for (const [backend, why] of Object.entries(report.left_out ?? {})) out.push(`left out ${backend}: ${why}`);
  for (const [name, f] of Object.entries(report.case_failures ?? {})) {
    out.push(`${name} ${statusWord(f.status)}: ${f.error.split("\n")[0].slice(0, 120)}`);
  }
  if (report.peers?.torch !== undefined) out.push("", ...formatTorchPeer(report.peers.torch));
  if (report.alpha_spin_iteration !== undefined) {
    out.push("", ...formatIteration(report.alpha_spin_iteration));
  }
  if (Object.keys(report.workers).length > 0) {
    out.push(
      `workers (${report.workers_detail?.config ?? "small"}, dpo_step tokens/s): ` +
        Object.entries(report.workers).map(([k, v]) => `${k} → ${fmt(v)}`).join(", ") +
        (report.workers_detail ? ` (speed-up ${fmt(report.workers_detail.speedup, 2)}×)` : ""),
    );
    const g = report.workers_detail?.generate_tokens_per_s;
    if (g) {
      out.push(
        `workers, generation tokens/s: ${Object.entries(g).map(([k, v]) => `${k} → ${fmt(v)}`).join(", ")}`,
      );
    }
  }
  const tt = report.trainer_threads;
  if (tt !== undefined) {
    out.push(
      `self-play trainer (small, full fine-tuning, tokens/s): ` +
        Object.entries(tt.tokens_per_s).map(([k, v]) => `${k} thread${k === "1" ? "" : "s"} → ${fmt(v)}`)
          .join(", ") +
        ` (speed-up ${fmt(tt.speedup, 2)}×)`,
    );
    if (tt.generation_tokens_per_s !== undefined) {
      out.push(
        `self-play loser generation (small, 4 batches of 8, tokens/s): ` +
          Object.entries(tt.generation_tokens_per_s).map(([k, v]) => `${k} → ${fmt(v)}`).join(", ") +
          ` (speed-up ${fmt(tt.generation_speedup ?? 0, 2)}×)`,
      );
    }
  }
  out.push(
    "* growth measured over fewer than 100 steps and scaled to 100 (see the JSON's tensors_growth_steps_measured); " +
      "'100 steps, shrunk': growth over 100 real full/LoRA steps on the config's code path with shrunk dimensions",
  );
  out.push(
    `elapsed ${fmt(report.elapsed_s)} s; load average at start ${
      report.machine.load_average_start.join(" ")
    }` +
      (report.machine.load_average_end ? `, at end ${report.machine.load_average_end.join(" ")}` : ""),
  );
  return out.join("\n");
};

const ratio = (
  x: number | undefined,
): string => (x === undefined || !Number.isFinite(x) ? "-" : `${x.toFixed(2)}×`);

/**
 * The PyTorch peer's lines of the table: its figures per configuration, then ours/torch per backend.
 *
 * @example
 * ```ts
 * formatTorchPeer({ available: false, reason: "no torch" }); // ["peer torch: not run (no torch)"]
 * ```
 */
export const formatTorchPeer = (p: TorchPeerReport): string[] => {
  if (!p.available) return [`peer torch: not run (${p.reason})`];
  const out = [
    `peer torch ${p.version} (${p.python}, ${p.threads} thread${p.threads === 1 ? "" : "s"}): matmul 1024² ` +
    (p.matmul1024_gflops === undefined
      ? `failed (${p.matmul_error ?? "?"})`
      : `${fmt(p.matmul1024_gflops, 2)} GFLOP/s (${fmt(p.matmul1024_cpu_gflops, 2)} per CPU second)`),
  ];
  const header = [
    "torch",
    "config",
    "dpo tok/s",
    "lora tok/s",
    "logprob tok/s",
    "gen tok/s",
    "t(2L)/t(L)",
    "peak MB",
  ];
  const rows: string[][] = [];
  for (const [config, c] of Object.entries(p.configs)) {
    rows.push([
      "torch",
      config,
      fmt(c.dpo_step?.tokens_per_s),
      fmt(c.dpo_step_lora?.tokens_per_s),
      fmt(c.logprob?.tokens_per_s),
      fmt(c.generate?.tokens_per_s),
      fmt(c.generate?.time_ratio_2x, 2),
      fmt(c.peak_rss_mb, 0),
    ]);
  }
  const ratioRows = (label: string, configs: Record<string, PeerRatios>) => {
    for (const [config, c] of Object.entries(configs)) {
      rows.push([
        label,
        config,
        ratio(c.dpo_step),
        ratio(c.dpo_step_lora),
        ratio(c.logprob),
        ratio(c.generate),
        "",
        ratio(c.peak_rss_mb),
      ]);
    }
  };
  for (const [backend, r] of Object.entries(p.ratios)) ratioRows(`${backend}/torch`, r.configs);
  for (const [backend, r] of Object.entries(p.cpu_ratios ?? {})) ratioRows(`${backend}/torch cpu`, r.configs);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string => cells.map((c, i) => (c ?? "").padStart(widths[i])).join("  ");
  out.push(line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line));
  const mm = Object.entries(p.ratios).filter(([, r]) => r.matmul1024 !== undefined);
  if (mm.length > 0) {
    const cpu = (b: string) => ratio(p.cpu_ratios?.[b]?.matmul1024);
    out.push(
      `matmul 1024², ours/torch: ${
        mm.map(([b, r]) => `${b} ${ratio(r.matmul1024)} (cpu ${cpu(b)})`).join(", ")
      }`,
    );
  }
  for (const [config, c] of Object.entries(p.configs)) {
    for (const [mode, e] of Object.entries(c.errors ?? {})) {
      out.push(`torch ${config}/${mode} ${statusWord(e.status)}: ${e.error.split("\n")[0].slice(0, 120)}`);
    }
  }
  out.push(
    "ratios are ours/torch: tokens/s above 1 = ours faster; peak MB below 1 = ours smaller; " +
      "'cpu' rows: tokens per CPU second of each process, robust to other load",
  );
  return out;
};

const duration = (s: number): string =>
  !Number.isFinite(s)
    ? "-"
    : s >= 3600
    ? `${(s / 3600).toFixed(1)} h`
    : s >= 60
    ? `${(s / 60).toFixed(1)} min`
    : `${s.toFixed(0)} s`;

/**
 * The α-SPIN iteration estimate's lines.
 *
 * @example
 * ```ts
 * formatIteration(report.alpha_spin_iteration!); // ["one α-SPIN iteration over 1000 prompts (s135m) ...", ...]
 * ```
 */
export const formatIteration = (it: IterationReport): string[] => {
  const row = (who: string, e: IterationEstimate): string =>
    `  ${who}: ${duration(e.total_s)} (generation ${duration(e.generation_s)}, reference ${
      duration(e.reference_s)
    }, ` +
    `training ${duration(e.training_s)})`;
  return [
    `one α-SPIN iteration over ${it.prompts} prompts (${it.config}, ${it.epochs} epochs, ${it.new_tokens_per_loser} ` +
    `new tokens per loser, ${it.reference_models} reference models), at the measured rates:`,
    ...Object.entries(it.ours).map(([b, e]) => row(b, e)),
    ...(it.torch ? [row("torch", it.torch)] : []),
    ...Object.entries(it.ours_cpu ?? {}).map(([b, e]) => row(`${b}, per CPU second`, e)),
    ...(it.torch_cpu ? [row("torch, per CPU second", it.torch_cpu)] : []),
    `  formula: ${it.formula}`,
  ];
};
