/**
 * The α-SPIN loop, the paper's Algorithm 2: for t = 1..T, five phases (selfplay/phases/), each a
 * function over the iteration's typed state (phases/state.ts):
 *
 * 1. opponents: the window W_t of the last h iterates (h = 1, 2, … or "all"; or the EMA policy),
 *    its mixture weights, and the opponent of each example;
 * 2. losers: y_l ∼ π_j(·|x) from each example's opponent (reusing stored generations where
 *    allowed; optionally from the geometric-mixture sampler);
 * 3. references: lp_prev and lp_base of every winner and loser, computed once, and
 *    lp_ref = α·lp_prev + (1 − α)·lp_base;
 * 4. train: π_t from π_{t−1} for E epochs, minimizing the loss of β·h with
 *    h = (lp_θ(y_w) − lp_ref(y_w)) − (lp_θ(y_l) − lp_ref(y_l)) (train/);
 * 5. commit: π_t, its metrics and exports to `runs/<name>/iter-<t>/`, the completion marker last.
 *
 * With `method: "sppo"` each iteration is SPPO's instead (sppo-loop.ts): K samples per prompt from
 * π_{t−1}, an oracle's preferences, win rates, and the `sppo` loss.
 *
 * Every random stream is derived from (seed, t, phase), and every phase is resumable
 * (phases/resumable.ts): a resumed iteration repeats exactly what an uninterrupted one does.
 *
 * Everything is checked before anything is written (setup.ts); a run folder started under another
 * config, data or base model is refused on resume; a killed run resumes from its last complete
 * state and ends with the same metrics as an uninterrupted run on the same backend.
 *
 * @example
 * ```ts
 * import { runSelfPlay } from "./loop.ts";
 * const result = await runSelfPlay({
 *   config: { name: "demo", model: "./tiny-gpt2", data: { train: "ultrachat.jsonl" }, iterations: 2, alpha: 0.9 },
 *   onEvent: (e) => { if (e.type === "metrics") console.log(e.row); },
 * });
 * result.runDir; // "runs/demo"
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { rngFromSeed } from "../core/rng.ts";
import type { MetricsRow } from "../train/checkpoint.ts";
import type { RunConfig } from "./config.ts";
import type { SelfPlayEventHandler } from "./events.ts";
import { RunIterates } from "./iterates.ts";
import { commitPhase, spinRecords } from "./phases/commit.ts";
import { losersPhase } from "./phases/losers.ts";
import { opponentsPhase } from "./phases/opponents.ts";
import { referencesPhase } from "./phases/references.ts";
import { startIteration } from "./phases/start.ts";
import type { RunContext } from "./phases/state.ts";
import { runSppoIteration } from "./sppo-loop.ts";
import { trainPhase } from "./phases/train.ts";
import { acquireRunLock } from "./run-lock.ts";
import { prepareRun, type PrepareRunOptions } from "./setup.ts";
import { IterateStore } from "./store.ts";

/** Options of {@link runSelfPlay}: the inputs of setup.ts plus the run's own. */
export interface RunSelfPlayOptions extends PrepareRunOptions {
  /** Continue a run folder that already holds a run (else such a folder is refused). */
  readonly resume?: boolean;
  /** Watch the run (progress, metrics, warnings); a throw stops the run. */
  readonly onEvent?: SelfPlayEventHandler;
  /** Called with every training step's metrics. */
  readonly onMetrics?: (row: MetricsRow) => void | Promise<void>;
  /** Stop the run (at the next batch or step); earlier iterates stay complete. */
  readonly signal?: AbortSignal;
  /**
   * With `workers` > 1: module URLs each gradient worker imports before it starts, e.g. the module
   * that registers a custom loss (the workers have their own loss registry).
   */
  readonly workerImports?: readonly string[];
}

/** What a finished run reports. */
export interface SelfPlayResult {
  /** The run config as decoded (once, by setup.ts): every default filled in. */
  readonly config: RunConfig;
  readonly runDir: string;
  readonly iterations: number;
  /** The first iteration this call ran (> 1 after a resume; iterations + 1 when nothing was left). */
  readonly startedAt: number;
  /** Every training step's metrics of every iteration. */
  readonly metrics: readonly MetricsRow[];
  /** The folder of each iterate's parameters, by iteration. */
  readonly iterateDirs: readonly string[];
}

/**
 * Iteration t of Algorithm 2 (see the module doc); resolves to its metrics.
 *
 * @example
 * ```ts
 * import type { RunContext } from "./phases/state.ts";
 * declare const context: RunContext;
 * const metrics = await runIteration(context, 1);
 * ```
 */
export const runIteration = async (ctx: RunContext, t: number): Promise<MetricsRow[]> => {
  const it = await startIteration(ctx, t); //                              α_t, β_t, lr_t, E_t
  const opponents = await opponentsPhase(ctx, it); //                      W_t, and each x's opponent π_j ∈ W_t
  const losers = await losersPhase(ctx, it, opponents); //                 y_l ∼ π_j(·|x)
  const references = await referencesPhase(ctx, it, opponents, losers); // lp_ref = α_t·lp_{t−1} + (1 − α_t)·lp_base
  const trained = await trainPhase(ctx, it, losers, references); //        π_t ← argmin_θ E ℓ(β_t·h_θ), from π_{t−1}
  const records = spinRecords(losers, references);
  await commitPhase(ctx, it, { records, references, trained }); //         π_t → iter-<t>/, COMPLETE.json last
  return [...trained.metrics];
};

/**
 * Run (or resume) α-SPIN as configured; see the module doc.
 *
 * @example
 * ```ts
 * declare const raw: unknown; // the run config as read from JSON
 * await runSelfPlay({ config: raw, resume: true, backend: "wasm", onEvent: console.log });
 * ```
 */
export const runSelfPlay = async (options: RunSelfPlayOptions): Promise<SelfPlayResult> => {
  const ready = await prepareRun(options);
  const emit: SelfPlayEventHandler = options.onEvent ?? (() => {});
  let release: (() => Promise<void>) | null = null;
  try {
    const { config } = ready;
    release = await acquireRunLock(config.outputDir);
    const store = new IterateStore(config.outputDir);
    const resumed = await store.openRun({ config, fingerprints: ready.fingerprints }, { resume: options.resume ?? false });
    const done = await store.completedIterations(config.iterations, ready.fingerprints.config);
    const previousMetrics: MetricsRow[] = [];
    for (let t = 1; t <= done; t++) {
      await store.removeWork(t);
      const path = join(store.iterDir(t), "metrics.jsonl");
      previousMetrics.push(...((await store.readJsonl(path)) as MetricsRow[]));
    }
    await emit({
      type: "run-start",
      runDir: store.root,
      iterations: config.iterations,
      startAt: done + 1,
      resumed,
      examples: ready.examples.length,
      backend: ready.backend,
    });
    for (const message of ready.warnings) await emit({ type: "warning", message });
    const context: RunContext = {
      store,
      iterates: new RunIterates(store, ready),
      root: rngFromSeed(config.seed),
      emit,
      onMetrics: options.onMetrics,
      signal: options.signal,
      workerImports: [...(options.workerImports ?? []), ...ready.imports],
      previousMetrics,
    };
    const iteration = config.method === "sppo" ? runSppoIteration : runIteration;
    for (let t = done + 1; t <= config.iterations; t++) await iteration(context, t);
    await emit({ type: "run-complete", runDir: store.root, iterations: config.iterations });
    const iterateDirs = Array.from(
      { length: config.iterations },
      (_, i) => join(store.iterDir(i + 1), config.finetune === "lora" ? "adapter" : "model"),
    );
    return { config, runDir: store.root, iterations: config.iterations, startedAt: done + 1, metrics: previousMetrics, iterateDirs };
  } finally {
    await release?.();
    if (ready.ownsBase) ready.base.dispose();
  }
};
