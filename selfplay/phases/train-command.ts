/**
 * Phase 4 on an external engine (`training.engine: "command"`): the iteration's pairs, with the
 * stored lp_ref (the α-mixed reference the local engine would train against, read from
 * `iter-<t>/reference/lp_ref.json`), are written in TRL's DPO format to `iter-<t>/trainer/`
 * (`pairs.dpo.jsonl`, which also carries the token ids as `prompt_input_ids`, `chosen_input_ids`
 * and `rejected_input_ids`, and `pairs.dpo.parquet`); the `training.command.template` is filled in
 * and run (train/external-command.ts); the PEFT adapter it saves is checked (base model, target
 * modules, rank, sizes) and written to `iter-<t>/adapter/`; and its parameters go to the commit
 * phase as a locally trained π_t's do, so the next iteration, resume, eval and report see no
 * difference.
 *
 * Resuming. Each attempt gets a fresh output folder, `iter-<t>/trainer/output-<n>` (n = 1, 2, …, the
 * first that does not exist, created before the command starts): a killed or failed attempt's
 * folder holds files the trainer wrote, which this tool never deletes or moves, and a fresh folder
 * cannot be mistaken for a finished one (a trainer that checkpoints could also be pointed at the
 * previous folder through its own options). When the import succeeds, `iter-<t>/trainer/command.json`
 * records the attempt (command, folder, log, seconds); a resumed iteration that finds it loads
 * `iter-<t>/adapter/` and never runs the command or imports again. The log,
 * `iter-<t>/trainer/command.log`, is appended to by every attempt.
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart, Losers, References } from "./state.ts";
 * declare const context: RunContext;
 * declare const start: IterationStart;
 * declare const losers: Losers;
 * declare const references: References;
 * const trained = await commandTrainPhase(context, start, losers, references);
 * trained.ema; // null: an external trainer keeps no EMA
 * ```
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { forkRng, nextUint32 } from "../../core/rng.ts";
import { defaultLoraTargets } from "../../models/lora.ts";
import { renderTrainCommand, type TrainCommandValues, trainOnCommand } from "../../train/external-command.ts";
import { loadIterateSnapshot } from "../../train/params.ts";
import { missingCommandEnv, type TrainingCommandConfig } from "../config-training-engine.ts";
import type { RunConfig } from "../config-types.ts";
import { iterateParamsDir } from "../iterates.ts";
import { spinRecords } from "./commit.ts";
import { jsonFile, resumable } from "./resumable.ts";
import type { IterationStart, Losers, References, RunContext, Trained } from "./state.ts";

/** What `iter-<t>/trainer/command.json` records of the attempt whose adapter was imported. */
export interface CommandTrainingRecord {
  readonly command: string;
  readonly attempt: number;
  readonly outputDir: string;
  readonly logPath: string;
  readonly exitCode: 0;
  readonly seconds: number;
  readonly adapterDir: string;
}

/**
 * Check a "command" engine's settings before a run writes anything: the template's placeholders
 * (rendered with stand-in values) and the environment variables `training.command.env` names.
 * Throws an Error naming the key.
 *
 * @example
 * ```ts
 * import type { RunConfig } from "../config-types.ts";
 * declare const config: RunConfig;
 * checkTrainingCommand(config); // throws when e.g. HF_TOKEN is listed in training.command.env but not set
 * ```
 */
export const checkTrainingCommand = (config: RunConfig): void => {
  const command = config.training.command;
  if (config.training.engine !== "command" || command === null) return;
  try {
    renderTrainCommand(command.template, standInValues);
  } catch (error) {
    throw new Error(`training.command.template: ${(error as Error).message.replace(/^training command template: /, "")}`);
  }
  const missing = missingCommandEnv(command, process.env);
  if (missing.length > 0) {
    throw new Error(`training.command.env: ${missing.join(", ")} not set in the environment (the training command needs them)`);
  }
};

/** Every placeholder with a value, to check a template before the run. */
const standInValues: TrainCommandValues = {
  pairsJsonl: "p", pairsParquet: "p", baseModel: "m", initAdapter: null, outputDir: "o", beta: 1, iteration: 1, seed: 1,
  alpha: 1, learningRate: 1, epochs: 1, loraR: 1, loraAlpha: 1, loraTargets: ["q"], loraDropout: 0, batchSize: 1,
  gradientAccumulation: 1, warmupRatio: 0, schedule: "linear", weightDecay: 0, maxGradNorm: 1, maxLength: 1, loss: "sigmoid",
  runConfig: "c",
};

/** The placeholder values of iteration t (paths absolute: the command may run in another folder). */
const commandValues = (ctx: RunContext, it: IterationStart): Omit<TrainCommandValues, "pairsJsonl" | "pairsParquet" | "outputDir"> => {
  const { config, spec, base, modelDir } = ctx.iterates.ready;
  const { training } = config;
  return {
    baseModel: modelDir === null ? config.model : resolve(modelDir),
    initAdapter: it.t === 1 ? null : resolve(iterateParamsDir(ctx.store, it.t - 1, "lora")),
    beta: it.settings.beta,
    iteration: it.t,
    seed: nextUint32(forkRng(ctx.root, `train-command-${it.t}`))[0] >>> 1,
    alpha: it.settings.alpha,
    learningRate: it.settings.lr,
    epochs: it.settings.epochs,
    loraR: spec.lora.r,
    loraAlpha: spec.lora.alpha,
    loraTargets: spec.lora.targetModules ?? defaultLoraTargets(base.config),
    loraDropout: spec.lora.dropout,
    batchSize: training.batchSize,
    gradientAccumulation: training.gradientAccumulation,
    warmupRatio: training.warmupRatio,
    schedule: training.schedule,
    weightDecay: training.weightDecay,
    maxGradNorm: training.maxGradNorm,
    maxLength: config.maxLength,
    loss: config.loss.name,
    runConfig: resolve(join(it.dir, "config.json")),
  };
};

/** A fresh output folder for this attempt: the first `output-<n>` that does not exist, created now. */
const claimOutputDir = async (trainerDir: string): Promise<{ attempt: number; dir: string }> => {
  await mkdir(trainerDir, { recursive: true });
  for (let attempt = 1;; attempt++) {
    const dir = join(trainerDir, `output-${attempt}`);
    try {
      await mkdir(dir); // not recursive: fails when the folder exists, so no attempt's folder is reused
      return { attempt, dir };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
};

/** The run's signal, and a stop after `timeoutSeconds` (null: none); `timedOut()` says which fired. */
const withTimeout = (signal: AbortSignal | undefined, timeoutSeconds: number | null) => {
  const controller = new AbortController();
  let timedOut = false;
  const stop = () => controller.abort();
  signal?.addEventListener("abort", stop, { once: true });
  if (signal?.aborted) controller.abort();
  const timer = timeoutSeconds === null ? undefined : setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutSeconds * 1000);
  const dispose = () => {
    clearTimeout(timer);
    signal?.removeEventListener("abort", stop);
  };
  return { signal: controller.signal, timedOut: () => timedOut, dispose };
};

/** Run the command once (a fresh output folder), import its adapter as iterate t, and say what ran. */
const runAttempt = async (ctx: RunContext, it: IterationStart, losers: Losers, references: References): Promise<CommandTrainingRecord> => {
  const { config, spec, base, modelDir } = ctx.iterates.ready;
  const command = config.training.command as TrainingCommandConfig;
  const trainerDir = join(it.dir, "trainer");
  const records = spinRecords(losers, references); // the exports' rows: the stored lp_ref, pair by pair
  const extraColumns = losers.pairs.map((p) => ({
    prompt_input_ids: p.example.promptIds,
    chosen_input_ids: p.example.chosenIds,
    rejected_input_ids: p.rejectedIds,
  }));
  const values = commandValues(ctx, it);
  const { attempt, dir: outputDir } = await claimOutputDir(trainerDir);
  const logPath = join(trainerDir, "command.log");
  await ctx.emit({ type: "info", message: `iteration ${it.t}: training command, attempt ${attempt} (output ${outputDir}, log ${logPath})` });
  const stop = withTimeout(ctx.signal, command.timeoutSeconds);
  try {
    const result = await trainOnCommand({
      template: command.template,
      iterationDir: trainerDir,
      records,
      extraColumns,
      values,
      expect: {
        modelConfig: base.config,
        r: spec.lora.r,
        alpha: spec.lora.alpha,
        targetModules: values.loraTargets!,
        baseModelNames: [config.model, ...(modelDir === null ? [] : [modelDir])],
      },
      outputDir,
      adapterDir: iterateParamsDir(ctx.store, it.t, "lora"),
      logPath,
      cwd: command.cwd ?? undefined,
      signal: stop.signal,
    });
    const { command: line, seconds, adapterDir } = result;
    return { command: line, attempt, outputDir, logPath, exitCode: 0, seconds, adapterDir };
  } catch (error) {
    const message = (error as Error).message;
    if (stop.timedOut()) {
      throw new Error(`iteration ${it.t}: the training command ran past training.command.timeoutSeconds (${command.timeoutSeconds} s) and was stopped; ${message}`);
    }
    throw new Error(`iteration ${it.t}: ${message}\n  (the iteration's generations and reference log-probs are kept: --resume runs the command again in a fresh output folder)`);
  } finally {
    stop.dispose();
  }
};

/**
 * Train π_t with the configured command (see the module doc).
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart, Losers, References } from "./state.ts";
 * declare const context: RunContext;
 * declare const start: IterationStart;
 * declare const losers: Losers;
 * declare const references: References;
 * const { weights } = await commandTrainPhase(context, start, losers, references);
 * ```
 */
export const commandTrainPhase = async (ctx: RunContext, it: IterationStart, losers: Losers, references: References): Promise<Trained> => {
  const { spec, base } = ctx.iterates.ready;
  await ctx.emit({ type: "phase-start", iteration: it.t, phase: "train", total: 1, note: "external command" });
  const path = join(it.dir, "trainer", "command.json");
  const { value, resumed } = await resumable(ctx.store, path, jsonFile<CommandTrainingRecord>(), () => runAttempt(ctx, it, losers, references));
  const weights = await loadIterateSnapshot(iterateParamsDir(ctx.store, it.t, "lora"), base, spec);
  const how = resumed ? "imported before this resume" : `exit 0 after ${value.seconds.toFixed(1)} s`;
  await ctx.emit({ type: "progress", iteration: it.t, phase: "train", done: 1, total: 1, payload: { seconds: value.seconds } });
  await ctx.emit({ type: "phase-end", iteration: it.t, phase: "train", note: `training command attempt ${value.attempt}, ${how}; log ${value.logPath}` });
  return { weights, ema: null, metrics: [] };
};
