/**
 * The PyTorch peer of `--peer torch`: find a Python that imports torch (Debian's /usr/bin/python3
 * first: the `python3` first on PATH may be a pyenv shim without it), the peer's cases for one
 * configuration (scripts/torch-dpo-step.py per training mode, scripts/torch-generate.py), and the
 * ratios ours/torch.
 *
 * @example
 * ```ts
 * import { findTorch, torchCases } from "./torch-peer.ts";
 * const found = findTorch();
 * if ("python" in found) console.log(torchCases("small", plan, 1));
 * ```
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import type { BenchConfigName } from "./configs.ts";
import type { MeasurePlan } from "./measure.ts";
import type { ConfigReport, PeerRatios, TorchConfigReport } from "./report.ts";
import { failureOf } from "./subprocess.ts";

/** Pythons tried in order. */
export const pythonCandidates: readonly string[] = ["/usr/bin/python3", "python3"];

/**
 * The first candidate that can `import torch`, with torch's version; or why none can.
 *
 * @example
 * ```ts
 * findTorch(); // { python: "/usr/bin/python3", version: "1.13.0a0" } or { reason: "..." }
 * ```
 */
export const findTorch = (
  candidates: readonly string[] = pythonCandidates,
): { python: string; version: string } | { reason: string } => {
  const tried: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ["-c", "import torch; print(torch.__version__)"], {
      encoding: "utf8",
      timeout: 120_000,
    });
    if (r.status === 0) return { python, version: r.stdout.trim() };
    tried.push(`${python}: ${r.error ? r.error.message : (r.stderr ?? "").trim().split("\n").pop()}`);
  }
  return {
    reason:
      `no Python here imports torch (install Debian's python3-torch: apt-get install python3-torch); tried ${
        tried.join("; ")
      }`,
  };
};

/** One peer process: the figure it gives, the script and its arguments. */
export interface TorchCase {
  readonly mode: "dpo_step" | "dpo_step_lora" | "logprob" | "generate" | "matmul";
  readonly script: string;
  readonly args: readonly string[];
}

/**
 * The peer's processes for one configuration, with the same repetitions, micro-batch and skipped
 * measurements as our plan.
 *
 * @example
 * ```ts
 * torchCases("small", { steps: 3, loraSteps: 3, logprobReps: 3, generateRuns: 3 }, 1).length; // 4
 * ```
 */
export const torchCases = (config: BenchConfigName, plan: MeasurePlan, threads: number): TorchCase[] => {
  const skip = new Set(plan.skip ?? []);
  const common = [
    "--config",
    config,
    "--threads",
    String(threads),
    "--json",
    ...(plan.warmup === false ? ["--no-warmup"] : []),
  ];
  const step = (mode: string, steps: number) => [
    ...common,
    "--mode",
    mode,
    "--steps",
    String(steps),
    "--micro-batch",
    String(plan.microBatch ?? 0),
  ];
  const cases: TorchCase[] = [];
  if (!skip.has("dpo_step")) {
    cases.push({ mode: "dpo_step", script: "scripts/torch-dpo-step.py", args: step("full", plan.steps) });
  }
  if (!skip.has("dpo_step_lora")) {
    cases.push({
      mode: "dpo_step_lora",
      script: "scripts/torch-dpo-step.py",
      args: step("lora", plan.loraSteps),
    });
  }
  if (!skip.has("logprob")) {
    cases.push({
      mode: "logprob",
      script: "scripts/torch-dpo-step.py",
      args: step("logprob", plan.logprobReps),
    });
  }
  if (!skip.has("generate")) {
    cases.push({
      mode: "generate",
      script: "scripts/torch-generate.py",
      args: [...common, "--runs", String(plan.generateRuns)],
    });
  }
  return cases;
};

/**
 * The peer's 1024² matrix product (torch.mm) on `threads` threads.
 *
 * @example
 * ```ts
 * torchMatmulCase(1).args; // ["--mode", "matmul", "--threads", "1", "--json"]
 * ```
 */
export const torchMatmulCase = (threads: number): TorchCase => ({
  mode: "matmul",
  script: "scripts/torch-dpo-step.py",
  args: ["--mode", "matmul", "--threads", String(threads), "--json"],
});

/**
 * Run a configuration's peer cases through `run` (one process each); a case that fails or times
 * out is recorded in `errors` while the others still run.
 *
 * @example
 * ```ts
 * await torchConfig(torchCases("tiny", plan, 1), (c) => runMarkedProcess(python, [c.script, ...c.args], opts));
 * ```
 */
export const torchConfig = async (
  cases: readonly TorchCase[],
  run: (c: TorchCase) => Promise<Record<string, unknown>>,
): Promise<TorchConfigReport> => {
  const out: TorchConfigReport = {};
  let peak = 0;
  for (const c of cases) {
    try {
      const r = await run(c);
      peak = Math.max(peak, Number(r.peak_rss_mb ?? 0));
      const tokens = Number(r.tokens_per_s);
      const cpuTokens = Number(r.cpu_tokens_per_s);
      if (c.mode === "generate") {
        out.generate = {
          tokens_per_s: tokens,
          cpu_tokens_per_s: cpuTokens,
          time_ratio_2x: r.time_ratio_2x === null ? NaN : Number(r.time_ratio_2x),
          new_tokens: Number(r.new_tokens),
        };
      } else if (c.mode === "logprob") out.logprob = { tokens_per_s: tokens, cpu_tokens_per_s: cpuTokens };
      else if (c.mode !== "matmul") {
        out[c.mode] = {
          tokens_per_s: tokens,
          seconds_per_step: Number(r.seconds_per_step),
          cpu_seconds_per_step: Number(r.cpu_seconds_per_step),
          steps: Number(r.steps),
        };
      }
    } catch (e) {
      const f = failureOf(e);
      out.errors = { ...out.errors, [c.mode]: { status: f.status, error: f.message } };
    }
  }
  if (peak > 0) out.peak_rss_mb = Math.round(peak);
  return out;
};

const div = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined || !(b > 0) ? undefined : Math.round((a / b) * 1000) / 1000;

/**
 * ours/torch for every figure both have: tokens/s (above 1: ours faster) and peak memory (below 1:
 * ours smaller).
 *
 * @example
 * ```ts
 * peerRatios({ generate: { tokens_per_s: 50, time_ratio_2x: 2 } }, { generate: { tokens_per_s: 100, time_ratio_2x: 2, new_tokens: 64 } });
 * // { generate: 0.5 }
 * ```
 */
export const peerRatios = (ours: ConfigReport, torch: TorchConfigReport): PeerRatios => {
  const r: PeerRatios = {
    dpo_step: div(ours.dpo_step?.tokens_per_s, torch.dpo_step?.tokens_per_s),
    dpo_step_lora: div(ours.dpo_step_lora?.tokens_per_s, torch.dpo_step_lora?.tokens_per_s),
    logprob: div(ours.logprob?.tokens_per_s, torch.logprob?.tokens_per_s),
    generate: div(ours.generate?.tokens_per_s, torch.generate?.tokens_per_s),
    peak_rss_mb: div(ours.peak_rss_mb, torch.peak_rss_mb),
  };
  return Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as PeerRatios;
};

/**
 * ours/torch from CPU seconds: each side's tokens per CPU second of its own process, so other load
 * on the machine cancels out (at one thread; with more, it compares total CPU work).
 *
 * @example
 * ```ts
 * peerCpuRatios(ours, torch); // { dpo_step: 0.41, ... }
 * ```
 */
export const peerCpuRatios = (ours: ConfigReport, torch: TorchConfigReport): PeerRatios => {
  const perCpu = (s: { cpu_seconds_per_step?: number } | undefined) =>
    s?.cpu_seconds_per_step === undefined ? undefined : 1 / s.cpu_seconds_per_step;
  const r: PeerRatios = {
    dpo_step: div(perCpu(ours.dpo_step), perCpu(torch.dpo_step)),
    dpo_step_lora: div(perCpu(ours.dpo_step_lora), perCpu(torch.dpo_step_lora)),
    logprob: div(ours.logprob?.cpu_tokens_per_s, torch.logprob?.cpu_tokens_per_s),
    generate: div(ours.generate?.cpu_tokens_per_s, torch.generate?.cpu_tokens_per_s),
  };
  return Object.fromEntries(
    Object.entries(r).filter(([, v]) => v !== undefined && Number.isFinite(v)),
  ) as PeerRatios;
};
