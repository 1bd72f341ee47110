/**
 * Phase 4 of an iteration, training: π_t from π_{t−1} (π_1 from a fresh adapter, i.e. from π_base;
 * with full fine-tuning from π_base's weights) for E epochs on the pairs and their stored lp_ref,
 * through train/'s `trainIteration` (with `training.engine: "command"`, by an external trainer instead:
 * train-command.ts) (AdamW, the schedule, the EMA when the opponent or the reference
 * is the EMA). Training is resumable by its own per-epoch checkpoints in `iter-<t>/work/train/`.
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart, Losers, References } from "./state.ts";
 * declare const context: RunContext;
 * declare const start: IterationStart;
 * declare const losers: Losers;
 * declare const references: References;
 * const trained = await trainPhase(context, start, losers, references);
 * trained.metrics.length; // optimizer steps
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { forkRng, nextUint32, type Rng } from "../../core/rng.ts";
import { freshLoraSnapshot, loadIterateSnapshot, modelSnapshot, type ParamSnapshot } from "../../train/params.ts";
import type { TrainingPair } from "../../train/step.ts";
import { trainIteration } from "../../train/train.ts";
import { iterateParamsDir } from "../iterates.ts";
import { listsByPrompt } from "../listwise.ts";
import { commandTrainPhase } from "./train-command.ts";
import type { IterationStart, Losers, References, RunContext, Trained } from "./state.ts";

const seedOf = (rng: Rng): number => nextUint32(rng)[0] >>> 1;

/**
 * The random streams of iteration t's training, forked from the run's root stream
 * (`rngFromSeed(config.seed)`): the seed of the fresh LoRA adapter π_1 starts from, and the stream
 * of the epochs' data order and dropout. Exported so an external trainer (scripts/dpo-on-pairs.ts)
 * can train exactly as this phase does.
 *
 * @example
 * ```ts
 * import { rngFromSeed } from "../../core/rng.ts";
 * const { loraInitSeed, rng } = trainingStreams(rngFromSeed(42), 2);
 * ```
 */
export const trainingStreams = (root: Rng, t: number): { loraInitSeed: number; rng: Rng } => ({
  loraInitSeed: seedOf(forkRng(root, "lora-init")),
  rng: forkRng(root, `train-${t}`),
});

/** π_t's starting parameters, and the EMA's when one is kept. */
const startingPoint = async (ctx: RunContext, t: number): Promise<{ init: ParamSnapshot; emaInit: ParamSnapshot | null }> => {
  const { config, spec, base } = ctx.iterates.ready;
  const { store } = ctx;
  const init: ParamSnapshot = t === 1
    ? (spec.finetune === "lora" ? await freshLoraSnapshot(base, spec.lora, trainingStreams(ctx.root, t).loraInitSeed) : await modelSnapshot(base))
    : await loadIterateSnapshot(iterateParamsDir(store, t - 1, spec.finetune), base, spec);
  const needsEma = config.opponent === "ema" || config.reference.mixture === "ema";
  const emaInit = !needsEma ? null : t === 1 ? init : await loadIterateSnapshot(join(store.iterDir(t - 1), "ema"), base, spec);
  return { init, emaInit };
};

/** A warning when every update of the iteration falls in the warm-up; the number of updates. */
const checkWarmup = async (ctx: RunContext, it: IterationStart, pairs: number): Promise<number> => {
  const { training } = ctx.iterates.ready.config;
  const stepsPerEpoch = Math.ceil(Math.ceil(pairs / training.batchSize) / training.gradientAccumulation);
  const updates = stepsPerEpoch * it.settings.epochs, warmup = Math.ceil(training.warmupRatio * updates);
  if (warmup > 0 && updates <= warmup) {
    await ctx.emit({
      type: "warning",
      message: `iteration ${it.t}: all ${updates} optimizer update(s) fall in the warm-up (warmupRatio ${training.warmupRatio} ` +
        `gives ${warmup}), so the learning rate never reaches its peak` +
        (updates === 1 ? " and the only update uses 0 (as Hugging Face's schedulers do): nothing is learned" : "") +
        "; lower training.warmupRatio or train more steps",
    });
  }
  return updates;
};

/**
 * Train π_t (see the module doc) on the iteration's pairs (winner, loser and lp_ref), or, with
 * `listwise`, on one list per prompt (listwise.ts).
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart, Losers, References } from "./state.ts";
 * declare const context: RunContext;
 * declare const start: IterationStart;
 * declare const losers: Losers;
 * declare const references: References;
 * const { weights, ema, metrics } = await trainPhase(context, start, losers, references);
 * ```
 */
export const trainPhase = (ctx: RunContext, it: IterationStart, losers: Losers, references: References): Promise<Trained> => {
  if (ctx.iterates.ready.config.training.engine === "command") return commandTrainPhase(ctx, it, losers, references);
  const pairs: TrainingPair[] = losers.pairs.map((p, i) => ({
    promptIds: p.example.promptIds,
    chosenIds: p.example.chosenIds,
    rejectedIds: p.rejectedIds,
    ...references.lpRef[i],
  }));
  const listwise = ctx.iterates.ready.config.listwise;
  return trainOnPairs(ctx, it, listwise ? listsByPrompt(pairs, losers.pairs.map((p) => p.example.index)) : pairs);
};

/**
 * Train π_t on any list of training pairs (the SPPO loop's pairs of samples, with their win rates).
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart } from "./state.ts";
 * import type { TrainingPair } from "../../train/step.ts";
 * declare const context: RunContext;
 * declare const start: IterationStart;
 * declare const pairs: TrainingPair[];
 * const trained = await trainOnPairs(context, start, pairs);
 * ```
 */
export const trainOnPairs = async (ctx: RunContext, it: IterationStart, pairs: readonly TrainingPair[]): Promise<Trained> => {
  const { config, spec, base, loss } = ctx.iterates.ready;
  const { init, emaInit } = await startingPoint(ctx, it.t);
  const updates = await checkWarmup(ctx, it, pairs.length);
  await ctx.emit({ type: "phase-start", iteration: it.t, phase: "train", total: updates });
  const trained = await trainIteration({
    iteration: it.t,
    pairs: [...pairs],
    base,
    spec,
    init,
    beta: it.settings.beta,
    lr: it.settings.lr,
    epochs: it.settings.epochs,
    loss,
    lossParams: config.loss.params,
    training: config.training,
    ema: emaInit === null ? null : { decay: config.ema.decay, init: emaInit },
    rng: trainingStreams(ctx.root, it.t).rng,
    checkpointDir: join(it.work, "train"),
    onResume: (epochs, steps) => ctx.emit({ type: "info", message: `iteration ${it.t}: training resumes after epoch ${epochs} (step ${steps})` }),
    onStep: async (row, total) => {
      await ctx.emit({ type: "metrics", iteration: it.t, row });
      await ctx.onMetrics?.(row);
      await ctx.emit({ type: "progress", iteration: it.t, phase: "train", done: row.step, total, payload: { loss: row.loss } });
    },
    signal: ctx.signal,
    workers: config.workers,
    workerImports: ctx.workerImports ?? [],
  });
  await ctx.emit({ type: "phase-end", iteration: it.t, phase: "train" });
  return trained;
};
