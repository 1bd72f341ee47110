/**
 * `alpha-spin spin`: the main job. With no arguments it runs α-SPIN on the embedded default — the
 * embedded byte-level model (assets/embedded/) and the synthetic task whose answer distribution is
 * known exactly — with progress bars, prints a per-iteration table (exact match, KL(p_data ‖ π_t)
 * exact over the support, held-out NLL, reward margin and accuracy from training), and writes
 * `runs/default/` (the iterates) and `runs/default/report.html`.
 *
 * `--variants h=1,h=2,all` runs several variants (each in `<out>/<variant>/`) into one report;
 * a variant is `h=N` (or `history=N`), `h=all` (or `all`), `alpha=A`, `beta=B`, or several joined by `:`
 * (`h=2:alpha=0.5`). Running again continues the run in the folder (a complete run is only
 * re-evaluated); `--fresh` starts over.
 *
 * @example
 * ```sh
 * alpha-spin spin
 * alpha-spin spin --iterations 2 --alpha 0.5 --out runs/a05
 * alpha-spin spin --variants h=1,h=2,all --out runs/windows
 * ```
 *
 * @module
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { loadBackend } from "../backends/load.ts";
import type { BackendRequest } from "../backends/types.ts";
import { writeJsonlAtomic } from "../data/jsonl.ts";
import type { SftExample } from "../data/sft.ts";
import {
  enumerateSyntheticPrompts,
  isSyntheticCorrect,
  makeSyntheticTask,
  type SyntheticExample,
  type WeightedPrompt,
} from "../data/synthetic.ts";
import { evaluateSynthetic, type SyntheticEvaluation } from "../eval/evaluate-synthetic.ts";
import { storedBaselineSource, storedBaselinesFor } from "../eval/report-baselines.ts";
import { evaluateRun, reportVariant } from "../eval/report-run.ts";
import { pickSampleExamples } from "../eval/report-samples.ts";
import { formatIterationTable } from "../eval/report-table.ts";
import type { ReportVariant } from "../eval/report-types.ts";
import { writeReport } from "../eval/report.ts";
import { loadHfModel } from "../models/hf-load.ts";
import { loadTokenizer } from "../models/hf-tokenizer.ts";
import { TransformerPolicy } from "../models/policy.ts";
import type { Tokenizer } from "../models/tokenizer.ts";
import type { Transformer } from "../models/transformer.ts";
import { nonNegativeInt, positive, positiveInt, unitInterval } from "../core/config.ts";
import { historyLength } from "../selfplay/config.ts";
import { DecodedRun } from "../selfplay/decoded-run.ts";
import {
  defaultEvalHeldOut,
  defaultRunPairs,
  defaultSpinRun,
  embeddedModelDir,
  embeddedTaskOptions,
} from "./default-run.ts";
import type { SelfPlayEvent } from "../selfplay/events.ts";
import { runSelfPlay } from "../selfplay/loop.ts";
import { checkRunBounds } from "../selfplay/preflight.ts";
import { newRunAdvice, RunStoreError } from "../selfplay/store.ts";
import { planFreshRemoval, removePlanned } from "./fresh.ts";
import { parseVariants, type SpinVariant } from "./spin-variants.ts";
import { type CommandSpec, parseOrExit } from "./args.ts";
import { type Progress, startProgress } from "./progress.ts";

/** The flags of `alpha-spin spin`. */
export const spinCommandSpec = {
  name: "alpha-spin spin",
  summary: "run α-SPIN on the embedded default model and task; print a per-iteration table and write a report",
  flags: {
    out: { type: "string", short: "o", default: "runs/default", valueName: "dir", description: "run folder (iterates, eval, report.html)" },
    iterations: { type: "number", short: "T", default: 3, codec: positiveInt, description: "self-play iterations T" },
    alpha: { type: "number", default: 0.9, codec: unitInterval, description: "weight of π_{t−1} in the geometric reference (1 = SPIN)" },
    beta: { type: "number", default: 1, codec: positive, description: "loss temperature β" },
    history: { type: "string", default: 1, codec: historyLength, valueName: "n|all", description: "opponent window h: the last n iterates (all, inf or ∞: fictitious play)" },
    seed: { type: "number", default: 42, codec: nonNegativeInt, description: "seed of sampling, assignment and training order" },
    backend: { type: "string", default: "wasm", valueName: "name", description: "tfjs backend (auto, cpu, wasm, blas, webgpu, node, node-gpu)" },
    workers: { type: "number", default: 1, codec: positiveInt, description: "threads computing each gradient (2 uses both cores; wasm, blas or cpu)" },
    threads: { type: "number", codec: positiveInt, valueName: "n", description: "BLAS threads of the blas backend (default 1)" },
    pairs: { type: "number", default: defaultRunPairs, codec: positiveInt, description: "SFT examples (winners) per iteration" },
    epochs: { type: "number", default: 2, codec: positiveInt, description: "training epochs per iteration" },
    lr: { type: "number", default: 2e-3, codec: positive, description: "peak learning rate of the LoRA adapter" },
    variants: { type: "string", valueName: "list", description: "run several variants into one report, e.g. h=1,h=2,all or alpha=1,alpha=0.5" },
    fresh: { type: "boolean", description: "delete the run folder's earlier run first (else a finished run is re-evaluated, a killed one resumed)" },
    evalSize: { type: "number", default: 0, description: "evaluate on this many prompts and held-out examples (0: all 366 prompts, 400 held-out)" },
    quiet: { type: "boolean", short: "q", description: "no progress output (the table is still printed)" },
  },
  positionals: [],
  renamed: { h: "history" },
  examples: [
    "alpha-spin spin",
    "alpha-spin spin --history all --iterations 4",
    "alpha-spin spin --iterations 2 --alpha 1 --out runs/spin",
    "alpha-spin spin --variants h=1,h=2,all --out runs/windows",
  ],
} as const satisfies CommandSpec;

export { parseVariants, type SpinSettings, type SpinVariant } from "./spin-variants.ts";

/** Progress bars and lines on stderr from a run's events. */
const eventPrinter = (label: string, quiet: boolean): (event: SelfPlayEvent) => void => {
  let bar: Progress | null = null;
  let shown = 0;
  const say = (line: string): void => {
    if (!quiet) process.stderr.write(line + "\n");
  };
  return (e) => {
    if (e.type === "run-start") {
      say(
        e.startAt > e.iterations
          ? `[${label}] ${e.runDir} already finished (${e.iterations} iteration${e.iterations === 1 ? "" : "s"}): evaluating it (--fresh starts over)`
          : `[${label}] ${e.resumed ? "continuing" : "starting"} ${e.runDir}: iterations ${e.startAt}..${e.iterations}`,
      );
    } else if (e.type === "iteration-start") {
      const p = e.params;
      say(`[${label}] iteration ${e.iteration}: alpha ${p.alpha}, beta ${p.beta}, lr ${p.lr}, epochs ${p.epochs}`);
    } else if (e.type === "window") {
      say(`  opponents (h = ${e.h}): ${e.members.map((m) => `${m.id} x${m.pairs}`).join(", ")} -> ${e.pairs} pairs`);
    } else if (e.type === "phase-start") {
      bar?.stop();
      bar = startProgress(`  iter ${e.iteration} ${e.phase}`, e.total, { quiet });
      shown = 0;
    } else if (e.type === "progress" && bar !== null) {
      bar.tick(Math.max(0, e.done - shown), e.payload);
      shown = Math.max(shown, e.done);
    } else if (e.type === "phase-end") {
      bar?.stop();
      bar = null;
      if (e.note !== undefined) say(`  iter ${e.iteration} ${e.phase}: ${e.note}`);
    } else if (e.type === "warning") say(`  warning: ${e.message}`);
    else if (e.type === "info") say(`  ${e.message}`);
  };
};

/**
 * A refused run folder with spin's own fixes in place of the run config's (spin has no "name" or
 * "outputDir": `--out` picks the folder and `--fresh` starts it over).
 */
const withSpinAdvice = (e: unknown): unknown => {
  if (!(e instanceof RunStoreError) || !e.message.includes(newRunAdvice)) return e;
  const foreign = e.message.includes("holds no alpha-spin run"); // --fresh never deletes what it did not write
  const advice = foreign ? "choose another folder with --out DIR" : "pass --fresh to start it over, or choose another folder with --out DIR";
  return new RunStoreError(e.message.replace(newRunAdvice, advice));
};

/** Prompts in each iteration's sample table of the report. */
const sampleCount = 6;

/** What {@link runSpinVariant} needs. */
export interface RunSpinVariantOptions {
  readonly variant: SpinVariant;
  readonly outputDir: string;
  /** The embedded base model (frozen), already loaded on the active backend. */
  readonly base: Transformer;
  readonly tokenizer: Tokenizer;
  /** The winners: synthetic train examples. */
  readonly train: readonly SyntheticExample[];
  readonly heldOut: readonly SyntheticExample[];
  /** The base model's evaluation (iteration 0 of the table). */
  readonly baseEvaluation: SyntheticEvaluation;
  /** The evaluation prompts (default: every prompt of the task). */
  readonly prompts?: readonly WeightedPrompt[];
  /** The backend name recorded in the run config (the active tfjs backend is used either way). */
  readonly backend?: string;
  /** Threads computing each gradient (the run config's `workers`). Default 1. */
  readonly workers?: number;
  readonly quiet?: boolean;
  /** The variant's run config, decoded once already (default: {@link spinRunConfig} of these options, decoded here). */
  readonly run?: DecodedRun;
}

/**
 * The raw run config of one variant: the default run with the variant's settings, its folder, the
 * winners' file in it, and the backend and workers of the command line.
 *
 * @example
 * ```ts
 * import type { SpinVariant } from "./spin-variants.ts";
 * declare const variant: SpinVariant;
 * spinRunConfig({ variant, outputDir: "runs/default", backend: "wasm" }); // { name: "default", outputDir: "runs/default", ... }
 * ```
 */
export const spinRunConfig = (
  options: Pick<RunSpinVariantOptions, "variant" | "outputDir" | "backend" | "workers">,
): Record<string, unknown> => ({
  ...defaultSpinRun({
    ...options.variant.settings,
    name: options.variant.dirName ?? "default",
    outputDir: options.outputDir,
    train: join(options.outputDir, "train.jsonl"),
    ...(options.backend === undefined ? {} : { backend: options.backend }),
  }),
  ...(options.workers === undefined ? {} : { workers: options.workers }),
});

/**
 * Run (or continue) one variant of the default run in `outputDir`, evaluate its iterates, and
 * return it as a report variant. The winners are also written to `<outputDir>/train.jsonl`, the
 * file the run's config.json names, so `alpha-spin train --config <outputDir>/config.json` reruns it.
 *
 * @example
 * ```ts
 * declare const o: Omit<RunSpinVariantOptions, "outputDir">; // the variant, base model, tokenizer, task, base evaluation
 * const { variant, base, tokenizer, train, heldOut, baseEvaluation } = o;
 * const v = await runSpinVariant({ variant, outputDir: "runs/default", base, tokenizer, train, heldOut, baseEvaluation });
 * v.iterations.at(-1)?.kl;
 * ```
 */
export const runSpinVariant = async (options: RunSpinVariantOptions): Promise<ReportVariant> => {
  const trainPath = join(options.outputDir, "train.jsonl");
  const run = options.run ?? await DecodedRun.decode(spinRunConfig(options));
  const data: SftExample[] = options.train.map((ex) => ({
    id: ex.id,
    where: `synthetic ${ex.id}`,
    prompt: ex.prompt,
    completion: ex.completion,
    promptMessages: null,
  }));
  const resume = await readdir(options.outputDir).then((entries) => entries.includes("run.json"), () => false);
  const print = eventPrinter(options.variant.name, options.quiet ?? false);
  const result = await runSelfPlay({
    config: run,
    model: options.base,
    modelDir: embeddedModelDir(),
    tokenizer: options.tokenizer,
    data,
    backend: "current",
    resume,
    onEvent: async (event) => {
      if (event.type === "run-start" && !event.resumed) {
        await writeJsonlAtomic(trainPath, options.train.map((ex) => ({ id: ex.id, prompt: ex.prompt, completion: ex.completion })));
      }
      print(event);
    },
  }).catch((e) => {
    throw withSpinAdvice(e);
  });
  const { config } = result; // decoded once, by runSelfPlay
  const evalBar = startProgress(`[${options.variant.name}] evaluate`, config.iterations, { quiet: options.quiet });
  const { evaluations, samples } = await evaluateRun({
    runDir: result.runDir,
    base: options.base,
    tokenizer: options.tokenizer,
    config,
    heldOut: options.heldOut,
    ...(options.prompts === undefined ? {} : { prompts: options.prompts }),
    onEvaluated: () => evalBar.tick(1),
    samples: { examples: pickSampleExamples(options.train, sampleCount), isCorrect: isSyntheticCorrect, maxNewTokens: 16 },
  });
  evalBar.stop();
  const s = options.variant.settings;
  return reportVariant(
    options.variant.name,
    { iterations: s.iterations, alpha: s.alpha, beta: s.beta, h: s.h, seed: s.seed, epochs: s.epochs, lr: s.lr, pairs: options.train.length },
    [options.baseEvaluation, ...evaluations],
    result.metrics,
    samples,
  );
};

/** The caption of the stored baselines: their source, and a warning when this run's set-up differs. */
const baselineNote = (pairs: number, evalSize: number): string => {
  const same = pairs === defaultRunPairs && !(evalSize > 0);
  return `Stored baselines come from ${storedBaselineSource}` + (same
    ? "."
    : `; this run used ${pairs} pairs${evalSize > 0 ? ` and ${evalSize} evaluation prompts` : ""}, so compare directions, not levels.`);
};

/**
 * `n` evenly spaced prompts of the task (all of them for n = 0 or n ≥ 366), keeping their weights
 * (the evaluation renormalizes them).
 *
 * @example
 * ```ts
 * evaluationPrompts(16)?.length; // 16
 * ```
 */
export const evaluationPrompts = (n: number): WeightedPrompt[] | undefined => {
  const all = enumerateSyntheticPrompts();
  if (!(n > 0) || n >= all.length) return undefined;
  return Array.from({ length: Math.floor(n) }, (_, i) => all[Math.floor(((i + 0.5) * all.length) / Math.floor(n))]);
};

/**
 * Run `alpha-spin spin` on `args` (without the command name) and resolve to the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await spinCommand(["--iterations", "1", "--pairs", "8", "--out", "/tmp/spin"]);
 * ```
 */
export const spinCommand = async (args: string[]): Promise<number> => {
  const parsed = parseOrExit(spinCommandSpec, args);
  if (typeof parsed === "number") return parsed;
  const f = parsed.flags;
  let variants: SpinVariant[];
  try {
    const common = { iterations: f.iterations, alpha: f.alpha, beta: f.beta, h: f.history, seed: f.seed, epochs: f.epochs, lr: f.lr };
    variants = f.variants === undefined ? [{ name: "default", dirName: null, settings: common }] : parseVariants(f.variants, common);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    return 2;
  }
  const runs = new Map<SpinVariant, DecodedRun>();
  try {
    // Each variant's config decoded once, and the checks that need no model, before --fresh removes anything.
    for (const variant of variants) {
      const outputDir = variant.dirName === null ? f.out : join(f.out, variant.dirName);
      const run = await DecodedRun.decode(spinRunConfig({ variant, outputDir, backend: f.backend, workers: f.workers }));
      checkRunBounds(run.config);
      runs.set(variant, run);
    }
  } catch (e) {
    console.error(`alpha-spin spin: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  const started = Date.now();
  const say = (line: string): void => {
    if (!f.quiet) process.stderr.write(line + "\n");
  };
  if (f.fresh) {
    const plan = await planFreshRemoval(f.out);
    if (plan.refusal !== null) {
      console.error(plan.refusal);
      return 2;
    }
    await removePlanned(plan);
  }

  const backend = await loadBackend(f.backend as BackendRequest, f.threads === undefined ? {} : { threads: f.threads });
  const modelDir = embeddedModelDir();
  const base = await loadHfModel(modelDir, { trainable: false });
  try {
    const tokenizer = await loadTokenizer(modelDir);
    const task = makeSyntheticTask(embeddedTaskOptions);
    const train = task.train.slice(0, f.pairs);
    const heldOut = task.heldOut.slice(0, f.evalSize > 0 ? f.evalSize : defaultEvalHeldOut);
    const prompts = evaluationPrompts(f.evalSize);
    say(
      `α-SPIN on the embedded model (${modelDir}): ${variants.length} variant(s), ${train.length} pairs per iteration, ` +
        `backend ${backend.name}`,
    );
    const evalBar = startProgress("evaluate base", 1, { quiet: f.quiet });
    const baseEvaluation = await evaluateSynthetic({ policy: new TransformerPolicy(base), tokenizer }, {
      heldOut,
      ...(prompts === undefined ? {} : { prompts }),
    });
    evalBar.tick(1);
    evalBar.stop();

    const results: ReportVariant[] = [];
    for (const variant of variants) {
      const outputDir = variant.dirName === null ? f.out : join(f.out, variant.dirName);
      const result = await runSpinVariant({
        variant,
        run: runs.get(variant),
        outputDir,
        base,
        tokenizer,
        train,
        heldOut,
        baseEvaluation,
        quiet: f.quiet,
        backend: f.backend,
        workers: f.workers,
        ...(prompts === undefined ? {} : { prompts }),
      });
      results.push(result);
      console.log(`\n${variant.name} (${outputDir})\n${formatIterationTable(result.iterations)}`);
    }
    const reportPath = join(f.out, "report.html");
    const seconds = (Date.now() - started) / 1000;
    await writeReport(reportPath, {
      title: variants.length === 1 ? "α-SPIN on the embedded default" : "α-SPIN variants on the embedded default",
      subtitle:
        "Self-play fine-tuning of the embedded byte-level model on the synthetic task, whose answer distribution p_data is " +
        "known exactly: KL(p_data ‖ π_t) is summed over the whole support, exact match is greedy decoding with answer " +
        "extraction, the held-out NLL is per token. Iteration 0 is the base model; reward margin and accuracy are the " +
        "means over the last training epoch of each iteration.",
      createdAt: new Date().toISOString(),
      variants: results,
      baselines: storedBaselinesFor(results),
      baselineNote: baselineNote(train.length, f.evalSize),
      notes: [
        `command: alpha-spin spin ${args.join(" ")}`.trim(),
        `backend ${backend.name}; ${train.length} pairs per iteration; ${heldOut.length} held-out examples; ` +
        `wall time ${seconds.toFixed(0)} s`,
      ],
    });
    say(`\nreport: ${reportPath}  (${seconds.toFixed(0)} s)`);
    return 0;
  } finally {
    base.dispose();
  }
};
