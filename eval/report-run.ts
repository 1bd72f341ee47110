/**
 * Evaluate the iterates of a finished (or partly finished) self-play run on the synthetic task and
 * turn the run into a report variant: one {@link IterationMetrics} row per iterate (0 = the base)
 * and the run's training steps.
 *
 * With `samples`, {@link evaluateRun} also collects each iteration's sample table (report-samples.ts).
 *
 * Each iterate's evaluation (and sample table) is cached as `<runDir>/eval/iter-<t>.json`, keyed by
 * the completion time in the iterate's marker, the size of the evaluation sets and the sample
 * prompts, so evaluating a run again (after a resume, or to remake the report) only evaluates what
 * changed.
 *
 * @example
 * ```ts
 * import { evaluateRunIterates, reportVariant } from "./report-run.ts";
 * import type { Transformer } from "../models/transformer.ts";
 * import type { Tokenizer } from "../models/tokenizer.ts";
 * import type { RunConfig } from "../selfplay/config.ts";
 * import type { PromptCompletion } from "./evaluate.ts";
 * declare const base: Transformer;
 * declare const tokenizer: Tokenizer;
 * declare const config: RunConfig;
 * declare const heldOut: PromptCompletion[];
 * import type { SyntheticEvaluation } from "./evaluate-synthetic.ts";
 * import type { TrainingStep } from "./report-types.ts";
 * declare const baseEval: SyntheticEvaluation; // π_0 evaluated the same way
 * declare const metricsRows: TrainingStep[]; // the run's metrics.jsonl
 * const runDir = "runs/default";
 * const evals = await evaluateRunIterates({ runDir, base, tokenizer, config, heldOut });
 * const variant = reportVariant("h=1", { h: 1 }, [baseEval, ...evals], metricsRows);
 * ```
 *
 * @module
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../data/jsonl.ts";
import type { WeightedPrompt } from "../data/synthetic.ts";
import type { Tokenizer } from "../models/tokenizer.ts";
import type { Transformer } from "../models/transformer.ts";
import type { RunConfig } from "../selfplay/config.ts";
import { loadIterateSnapshot, policyFromSnapshot } from "../train/params.ts";
import { finetuneSpec } from "../selfplay/setup.ts";
import { iterationMarkerName } from "../selfplay/store.ts";
import { evaluateSynthetic, type SyntheticEvaluation } from "./evaluate-synthetic.ts";
import type { PromptCompletion } from "./evaluate.ts";
import { collectIterationSamples, type SampleExample } from "./report-samples.ts";
import { summarizeTraining } from "./report-table.ts";
import type { IterationMetrics, IterationSamples, ReportVariant, TrainingStep } from "./report-types.ts";

/** Options of {@link evaluateRunIterates}. */
export interface EvaluateRunOptions {
  readonly runDir: string;
  /** The run's frozen base model (LoRA iterates are adapters on it). */
  readonly base: Transformer;
  readonly tokenizer: Tokenizer;
  readonly config: RunConfig;
  readonly heldOut: readonly PromptCompletion[];
  /** The prompts of exact match and KL (default: every prompt of the task). */
  readonly prompts?: readonly WeightedPrompt[];
  /** Called after each iterate is evaluated (t, whether it came from the cache). */
  readonly onEvaluated?: (iteration: number, cached: boolean) => void;
  /** Collect a sample table per iteration on these prompts (see report-samples.ts). */
  readonly samples?: {
    readonly examples: readonly SampleExample[];
    readonly isCorrect?: (prompt: string, answer: string) => boolean;
    readonly maxNewTokens?: number;
  };
}

/** What {@link evaluateRun} gives: evaluations of π_1 … π_T, and their sample tables when asked for. */
export interface RunEvaluation {
  readonly evaluations: SyntheticEvaluation[];
  readonly samples: IterationSamples[];
}

const readJsonOrNull = async (path: string): Promise<unknown> => {
  try {
    return JSON.parse(await readFile(path, "utf8"));
  } catch {
    return null;
  }
};

/**
 * Evaluate iterates 1 … T of a run (each from its adapter or model folder) with
 * `evaluateSynthetic`; stops at the first iteration without a completion marker.
 *
 * @example
 * ```ts
 * import type { Transformer } from "../models/transformer.ts";
 * import type { Tokenizer } from "../models/tokenizer.ts";
 * import type { RunConfig } from "../selfplay/config.ts";
 * import type { PromptCompletion } from "./evaluate.ts";
 * declare const base: Transformer;
 * declare const tokenizer: Tokenizer;
 * declare const config: RunConfig;
 * declare const heldOut: PromptCompletion[];
 * const evals = await evaluateRunIterates({ runDir: "runs/default", base, tokenizer, config, heldOut });
 * evals[0].kl; // KL of π_1
 * ```
 */
export const evaluateRunIterates = async (options: EvaluateRunOptions): Promise<SyntheticEvaluation[]> =>
  (await evaluateRun(options)).evaluations;

/**
 * {@link evaluateRunIterates}, plus a sample table per iteration when `o.samples` is given.
 *
 * @example
 * ```ts
 * import type { Transformer } from "../models/transformer.ts";
 * import type { Tokenizer } from "../models/tokenizer.ts";
 * import type { RunConfig } from "../selfplay/config.ts";
 * import type { PromptCompletion } from "./evaluate.ts";
 * declare const base: Transformer;
 * declare const tokenizer: Tokenizer;
 * declare const config: RunConfig;
 * declare const heldOut: PromptCompletion[];
 * import type { SampleExample } from "./report-samples.ts";
 * declare const examples: SampleExample[];
 * const runDir = "runs/default";
 * const { evaluations, samples } = await evaluateRun({ runDir, base, tokenizer, config, heldOut, samples: { examples } });
 * samples[0].rows[0].model; // π_1's greedy answer to the first sample prompt
 * ```
 */
export const evaluateRun = async (options: EvaluateRunOptions): Promise<RunEvaluation> => {
  const spec = finetuneSpec(options.config);
  const out: SyntheticEvaluation[] = [];
  const tables: IterationSamples[] = [];
  const sampleKey = options.samples === undefined ? "" : `|samples:${options.samples.examples.map((e) => e.id).join(",")}`;
  await mkdir(join(options.runDir, "eval"), { recursive: true });
  for (let t = 1; t <= options.config.iterations; t++) {
    const iterDir = join(options.runDir, `iter-${t}`);
    const marker = await readJsonOrNull(join(iterDir, iterationMarkerName)) as { completedAt?: string } | null;
    if (marker === null) break;
    const cachePath = join(options.runDir, "eval", `iter-${t}.json`);
    const cached = await readJsonOrNull(cachePath) as {
      completedAt?: string;
      key?: string;
      evaluation?: SyntheticEvaluation;
      samples?: IterationSamples;
    } | null;
    const key = `${options.heldOut.length}|${options.prompts?.length ?? "all"}${sampleKey}`;
    if (cached !== null && cached.completedAt === marker.completedAt && cached.key === key && cached.evaluation !== undefined) {
      out.push(cached.evaluation);
      if (cached.samples !== undefined) tables.push(cached.samples);
      options.onEvaluated?.(t, true);
      continue;
    }
    const paramsDir = join(iterDir, options.config.finetune === "lora" ? "adapter" : "model");
    const snapshot = await loadIterateSnapshot(paramsDir, options.base, spec);
    const loaded = policyFromSnapshot(options.base, spec, snapshot);
    try {
      const model = { policy: loaded.policy, tokenizer: options.tokenizer };
      const evaluation = await evaluateSynthetic(model, {
        heldOut: options.heldOut,
        ...(options.prompts === undefined ? {} : { prompts: options.prompts }),
      });
      const samples = options.samples === undefined ? undefined : await collectIterationSamples({ runDir: options.runDir, iteration: t, model, ...options.samples });
      await writeFileAtomic(cachePath, JSON.stringify({ completedAt: marker.completedAt, key, evaluation, samples }, null, 2) + "\n");
      out.push(evaluation);
      if (samples !== undefined) tables.push(samples);
      options.onEvaluated?.(t, false);
    } finally {
      loaded.dispose();
    }
  }
  return { evaluations: out, samples: tables };
};

/**
 * The per-iteration rows of a run: `evaluations[t]` is π_t's evaluation (index 0 the base), and
 * the reward columns summarize iteration t's training steps (`iteration` field = t).
 *
 * @example
 * ```ts
 * import type { SyntheticEvaluation } from "./evaluate-synthetic.ts";
 * import type { TrainingStep } from "./report-types.ts";
 * declare const baseEval: SyntheticEvaluation;
 * declare const eval1: SyntheticEvaluation;
 * declare const steps: TrainingStep[];
 * const rows = iterationRows([baseEval, eval1], steps); // rows[1].rewardMargin from iteration 1's steps
 * ```
 */
export const iterationRows = (
  evaluations: readonly SyntheticEvaluation[],
  steps: readonly TrainingStep[],
): IterationMetrics[] =>
  evaluations.map((e, t) => {
    const summary = t === 0 ? null : summarizeTraining(steps.filter((s) => s.iteration === t));
    return {
      iteration: t,
      exactMatch: e.exactMatch,
      kl: e.kl,
      heldOutNll: e.heldOutNll,
      massOnSupport: e.massOnSupport,
      rewardMargin: summary?.rewardMargin ?? null,
      rewardAccuracy: summary?.rewardAccuracy ?? null,
    };
  });

/**
 * A report variant from a run's evaluations (index 0 = base) and training steps.
 *
 * @example
 * ```ts
 * import type { SyntheticEvaluation } from "./evaluate-synthetic.ts";
 * import type { SelfPlayResult } from "../selfplay/loop.ts";
 * declare const baseEval: SyntheticEvaluation;
 * declare const evals: SyntheticEvaluation[]; // π_1 … π_T
 * declare const result: SelfPlayResult;
 * reportVariant("alpha=0.9", { alpha: 0.9, h: 1 }, [baseEval, ...evals], result.metrics);
 * ```
 */
export const reportVariant = (
  name: string,
  settings: Readonly<Record<string, string | number | boolean>>,
  evaluations: readonly SyntheticEvaluation[],
  steps: readonly TrainingStep[],
  samples?: readonly IterationSamples[],
): ReportVariant => ({
  name,
  settings,
  iterations: iterationRows(evaluations, steps),
  steps,
  ...(samples === undefined || samples.length === 0 ? {} : { samples }),
});
