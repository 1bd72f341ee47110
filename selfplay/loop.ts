/**
 * `runSelfPlay`: the α-SPIN loop (the paper's Algorithm 2) as one call. For t = 1..T it picks the
 * opponent window (h = 1, 2, … or "all"; or the EMA policy), assigns opponents, generates losers
 * (reusing stored generations where allowed; optionally from the geometric-mixture sampler),
 * pre-computes the reference log-probs once, trains π_t from π_{t−1} for E epochs through
 * `alphaSpin` with any registered loss, and writes the iterate to `runs/<name>/iter-<t>/`.
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
import type { MetricsRow } from "./checkpoint.ts";
import type { SelfPlayEventHandler } from "./events.ts";
import { runIteration } from "./iteration.ts";
import { RunIterates } from "./iterates.ts";
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
 * Run (or resume) α-SPIN as configured; see the module doc.
 *
 * @example
 * ```ts
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
    const context = {
      store,
      iterates: new RunIterates(store, ready),
      root: rngFromSeed(config.seed),
      emit,
      onMetrics: options.onMetrics,
      signal: options.signal,
      allowNonInvariant: options.allowNonInvariant,
      workerImports: [...(options.workerImports ?? []), ...ready.imports],
      previousMetrics,
    };
    for (let t = done + 1; t <= config.iterations; t++) await runIteration(context, t);
    await emit({ type: "run-complete", runDir: store.root, iterations: config.iterations });
    const iterateDirs = Array.from(
      { length: config.iterations },
      (_, i) => join(store.iterDir(i + 1), config.finetune === "lora" ? "adapter" : "model"),
    );
    return { runDir: store.root, iterations: config.iterations, startedAt: done + 1, metrics: previousMetrics, iterateDirs };
  } finally {
    await release?.();
    if (ready.ownsBase) ready.base.dispose();
  }
};
