/**
 * The benchmark document's types: the JSON that `deno task bench --json FILE` writes (machine,
 * backends and their configurations, the PyTorch peer and its ratios, the α-SPIN iteration
 * estimate). bench/report.ts builds and prints it.
 *
 * @example
 * ```ts
 * import type { BenchReport } from "./report-types.ts";
 * declare const report: BenchReport;
 * report.backends.wasm?.configs.small?.dpo_step?.tokens_per_s;
 * ```
 *
 * @module
 */
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

/** The figures of one configuration on one backend, in the layout. */
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
