/**
 * The PyTorch side of a benchmark run (`--peer torch`): the peer's cases on the run's
 * configurations and threads with the ratios ours/torch, and the α-SPIN iteration estimate from
 * the s135m rates of both sides. bench/orchestrate.ts calls both after our cases.
 *
 * @example
 * ```ts
 * import { addIterationEstimate, measureTorch } from "./peer-run.ts";
 * import type { BenchFlags } from "./flags.ts";
 * import type { BenchDeps } from "./orchestrate.ts";
 * import type { BenchReport } from "./report.ts";
 * declare const flags: BenchFlags, report: BenchReport, deps: BenchDeps;
 * await measureTorch(flags, report, deps, () => "12 s");
 * addIterationEstimate(report);
 * ```
 *
 * @module
 */
import { type BenchConfigName, benchConfigs } from "./configs.ts";
import { defaultIterationShape, iterationEstimate, iterationFormula } from "./estimate.ts";
import type { BenchFlags } from "./flags.ts";
import type { BenchDeps } from "./orchestrate.ts";
import { caseTimeoutOf, planOf } from "./plan.ts";
import type { BenchReport, IterationEstimate, TorchPeerReport } from "./report.ts";
import { failureOf } from "./subprocess.ts";
import {
  peerCpuRatios,
  peerRatios,
  type TorchCase,
  torchCases,
  torchConfig,
  torchMatmulCase,
} from "./torch-peer.ts";

const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * The PyTorch peer on the run's configurations and thread count, and the ratios ours/torch.
 *
 * @example
 * ```ts
 * import type { BenchFlags } from "./flags.ts";
 * import type { BenchDeps } from "./orchestrate.ts";
 * import type { BenchReport } from "./report.ts";
 * declare const flags: BenchFlags, report: BenchReport, deps: BenchDeps;
 * await measureTorch(flags, report, deps, () => "12 s");
 * ```
 */
export const measureTorch = async (
  flags: BenchFlags,
  report: BenchReport,
  deps: BenchDeps,
  elapsed: () => string,
): Promise<void> => {
  const found = deps.findTorch();
  if ("reason" in found) {
    report.peers = { torch: { available: false, reason: found.reason } };
    deps.log(`peer torch: not run: ${found.reason}`);
    return;
  }
  const peer: TorchPeerReport & { available: true } = {
    available: true,
    python: found.python,
    version: found.version,
    threads: flags.threads,
    configs: {},
    ratios: {},
    cpu_ratios: {},
  };
  report.peers = { torch: peer };
  const run = (c: TorchCase, config: BenchConfigName | null) =>
    deps.runTorch(found.python, c, caseTimeoutOf(config, flags.caseTimeoutS));
  deps.log(`[${elapsed()}] torch ${found.version}: matmul 1024²`);
  try {
    const mm = await run(torchMatmulCase(flags.threads), null);
    peer.matmul1024_gflops = round(Number(mm.matmul1024_gflops));
    peer.matmul1024_cpu_gflops = round(Number(mm.matmul1024_cpu_gflops));
  } catch (e) {
    peer.matmul_error = failureOf(e).message;
  }
  for (const config of flags.configs) {
    const plan = planOf({ slow: false, config, quick: flags.quick });
    deps.log(`[${elapsed()}] torch ${config}`);
    peer.configs[config] = await torchConfig(torchCases(config, plan, flags.threads), (c) => run(c, config));
  }
  for (const [backend, b] of Object.entries(report.backends)) {
    if (b.error !== undefined) continue;
    const configs = Object.fromEntries(
      Object.entries(b.configs)
        .filter(([config]) => peer.configs[config] !== undefined)
        .map(([config, c]) => [config, peerRatios(c, peer.configs[config])]),
    );
    peer.ratios[backend] = {
      ...(peer.matmul1024_gflops ? { matmul1024: round(b.matmul1024_gflops / peer.matmul1024_gflops) } : {}),
      configs,
    };
    peer.cpu_ratios[backend] = {
      ...(peer.matmul1024_cpu_gflops && b.matmul1024_cpu_gflops
        ? { matmul1024: round(b.matmul1024_cpu_gflops / peer.matmul1024_cpu_gflops) }
        : {}),
      configs: Object.fromEntries(
        Object.entries(b.configs)
          .filter(([config]) => peer.configs[config] !== undefined)
          .map(([config, c]) => [config, peerCpuRatios(c, peer.configs[config])]),
      ),
    };
  }
};

/**
 * One α-SPIN iteration over 1,000 prompts at the rates measured for s135m (bench/estimate.ts),
 * ours per backend and torch's, by the wall clock and by CPU seconds.
 *
 * @example
 * ```ts
 * import type { BenchReport } from "./report.ts";
 * declare const report: BenchReport;
 * addIterationEstimate(report); // report.alpha_spin_iteration, when s135m was measured
 * ```
 */
export const addIterationEstimate = (report: BenchReport): void => {
  const c = benchConfigs.s135m;
  type Figures = {
    dpo_step_lora?: { tokens_per_s: number; seconds_per_step: number; cpu_seconds_per_step?: number };
    logprob?: { tokens_per_s: number; cpu_tokens_per_s?: number };
    generate?: { tokens_per_s: number; cpu_tokens_per_s?: number };
  };
  // By the wall clock, or (cpu) by each process's CPU seconds, robust to other load.
  const rates = (f: Figures | undefined, cpu: boolean) => {
    if (!f?.dpo_step_lora || !f.logprob || !f.generate) return undefined;
    const l = f.dpo_step_lora;
    const lora = cpu
      ? (l.tokens_per_s * l.seconds_per_step) / (l.cpu_seconds_per_step ?? NaN)
      : l.tokens_per_s;
    const logprob = cpu ? f.logprob.cpu_tokens_per_s ?? NaN : f.logprob.tokens_per_s;
    const generate = cpu ? f.generate.cpu_tokens_per_s ?? NaN : f.generate.tokens_per_s;
    return [lora, logprob, generate].every(Number.isFinite)
      ? iterationEstimate(c.ctx, { lora, logprob, generate })
      : undefined;
  };
  const ours: Record<string, IterationEstimate> = {}, oursCpu: Record<string, IterationEstimate> = {};
  for (const [backend, b] of Object.entries(report.backends)) {
    const e = rates(b.configs.s135m, false), ec = rates(b.configs.s135m, true);
    if (e !== undefined) ours[backend] = e;
    if (ec !== undefined) oursCpu[backend] = ec;
  }
  const peer = report.peers?.torch?.available ? report.peers.torch.configs.s135m : undefined;
  const torch = rates(peer, false), torchCpu = rates(peer, true);
  if (Object.keys(ours).length === 0 && torch === undefined) return;
  report.alpha_spin_iteration = {
    config: "s135m",
    prompts: defaultIterationShape.prompts,
    epochs: defaultIterationShape.epochs,
    new_tokens_per_loser: c.ctx - c.ctx / 4,
    reference_models: defaultIterationShape.referenceModels,
    formula: iterationFormula,
    ours,
    ...(torch ? { torch } : {}),
    ours_cpu: oursCpu,
    ...(torchCpu ? { torch_cpu: torchCpu } : {}),
  };
};
