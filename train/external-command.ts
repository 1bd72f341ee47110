/**
 * Training one iteration on an external engine (`training.engine: "command"`): the iteration's pairs
 * are written with their α-mixed reference log-probs in TRL's DPO format (JSONL and Parquet), a user
 * command template is filled in and run through the shell, and the PEFT adapter it leaves in the
 * output folder is checked (train/import-adapter.ts) and saved as iterate t.
 *
 * Placeholders of the template, each replaced by its value in POSIX shell single quotes (so paths
 * with spaces or quotes stay one argument; `{init_adapter}` at t = 1 becomes `''`):
 *
 * | placeholder        | value                                                                 |
 * | ------------------ | --------------------------------------------------------------------- |
 * | `{pairs_jsonl}`    | the iteration's pairs, TRL DPO JSONL with `ref_chosen_logps` / `ref_rejected_logps` |
 * | `{pairs_parquet}`  | the same rows as Parquet                                              |
 * | `{base_model}`     | the base model π_base (hub id or folder)                              |
 * | `{init_adapter}`   | π_{t−1}'s adapter folder, empty at t = 1 (π_0 = π_base)               |
 * | `{output_dir}`     | where the command must save the new adapter (empty or absent before)  |
 * | `{beta}`, `{iteration}`, `{seed}` | β_t, t, and the iteration's seed                       |
 * | `{alpha}`, `{learning_rate}`, `{epochs}`, `{lora_r}`, `{lora_alpha}`, `{lora_targets}` | when the caller gives them (targets comma-separated) |
 * | `{lora_dropout}`, `{batch_size}`, `{gradient_accumulation}`, `{warmup_ratio}`, `{schedule}`, `{weight_decay}`, `{max_grad_norm}`, `{max_length}`, `{loss}` | when the caller gives them |
 * | `{run_config}`     | when given: a JSON file with the iteration's settings and the whole run config |
 *
 * A placeholder the template uses but the caller gave no value for is an error before anything runs;
 * `${NAME}` (shell variables) is left alone. The command inherits the environment, runs in `cwd`,
 * and its stdout and stderr go to a log file (appended per attempt, with a header naming the
 * command); a non-zero exit or a signal is an error naming the command, the log and its last lines.
 * The output folder must be empty or absent before the run, so an adapter left by an earlier attempt
 * is never mistaken for this one's. The shell is /bin/sh: templates are POSIX shell, not cmd.exe.
 *
 * @example
 * ```ts
 * import type { PreferenceRecord } from "../data/export.ts";
 * declare const records: PreferenceRecord[]; // the iteration's (prompt, chosen, rejected) pairs
 * import type { ModelConfig } from "../models/config.ts";
 * declare const config: ModelConfig; // the base model's
 * const result = await trainOnCommand({
 *   template: "accelerate launch scripts/trl_dpo_alpha_spin.py --pairs {pairs_parquet} --model {base_model} " +
 *     "--init-adapter {init_adapter} --output-dir {output_dir} --beta {beta} --seed {seed}",
 *   iterationDir: "runs/demo/iter-2",
 *   records, values: { baseModel: "google/gemma-2b", initAdapter: "runs/demo/iter-1/adapter", beta: 0.1, iteration: 2, seed: 7 },
 *   expect: { modelConfig: config, r: 16, targetModules: ["q_proj", "v_proj"], baseModelNames: ["google/gemma-2b"] },
 * });
 * result.adapterDir; // "runs/demo/iter-2/adapter"
 * ```
 *
 * @module
 */
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type PreferenceRecord, toTrlDpoRow, writeTrlDpoJsonl, writeTrlDpoParquet } from "../data/export.ts";
import { DataError, type DataProblem, writeJsonlAtomic } from "../data/jsonl.ts";
import { writePeftAdapter } from "../models/peft.ts";
import { type AdapterExpectations, importTrainedAdapter } from "./import-adapter.ts";

/** The values a template's placeholders take. */
export interface TrainCommandValues {
  readonly pairsJsonl: string;
  readonly pairsParquet: string;
  readonly baseModel: string;
  /** π_{t−1}'s adapter folder, or null at t = 1. */
  readonly initAdapter: string | null;
  readonly outputDir: string;
  readonly beta: number;
  readonly iteration: number;
  readonly seed: number;
  readonly alpha?: number;
  readonly learningRate?: number;
  readonly epochs?: number;
  readonly loraR?: number;
  readonly loraAlpha?: number;
  readonly loraTargets?: readonly string[] | "all-linear";
  readonly loraDropout?: number;
  readonly batchSize?: number;
  readonly gradientAccumulation?: number;
  readonly warmupRatio?: number;
  readonly schedule?: string;
  readonly weightDecay?: number;
  readonly maxGradNorm?: number;
  readonly maxLength?: number;
  /** The loss's registry name (TRL's `loss_type` for the losses both know, e.g. "sigmoid"). */
  readonly loss?: string;
  /** A JSON file with the iteration's settings and the run config (selfplay's `iter-<t>/config.json`). */
  readonly runConfig?: string;
}

/** Placeholder name → the value it stands for (undefined: not given). */
const placeholderValues = (v: TrainCommandValues): Record<string, string | undefined> => ({
  pairs_jsonl: v.pairsJsonl,
  pairs_parquet: v.pairsParquet,
  base_model: v.baseModel,
  init_adapter: v.initAdapter ?? "",
  output_dir: v.outputDir,
  beta: String(v.beta),
  iteration: String(v.iteration),
  seed: String(v.seed),
  alpha: v.alpha?.toString(),
  learning_rate: v.learningRate?.toString(),
  epochs: v.epochs?.toString(),
  lora_r: v.loraR?.toString(),
  lora_alpha: v.loraAlpha?.toString(),
  lora_targets: v.loraTargets === undefined
    ? undefined
    : v.loraTargets === "all-linear"
    ? "all-linear"
    : v.loraTargets.join(","),
  lora_dropout: v.loraDropout?.toString(),
  batch_size: v.batchSize?.toString(),
  gradient_accumulation: v.gradientAccumulation?.toString(),
  warmup_ratio: v.warmupRatio?.toString(),
  schedule: v.schedule,
  weight_decay: v.weightDecay?.toString(),
  max_grad_norm: v.maxGradNorm?.toString(),
  max_length: v.maxLength?.toString(),
  loss: v.loss,
  run_config: v.runConfig,
});

/**
 * A string as one POSIX shell word: single-quoted, each `'` written as `'\''`.
 *
 * @example
 * ```ts
 * shellQuote("it's here"); // "'it'\\''s here'"
 * ```
 */
export const shellQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/** `{name}` not preceded by `$` (a shell `${NAME}` is not a placeholder). */
const placeholderPattern = /(?<!\$)\{([A-Za-z_]+)\}/g;

/**
 * The command line of a template with every placeholder replaced by its shell-quoted value. Throws
 * an Error naming an unknown placeholder, or a known one without a value, before anything runs.
 *
 * @example
 * ```ts
 * declare const values: TrainCommandValues;
 * renderTrainCommand("train --pairs {pairs_jsonl} --out {output_dir} --beta {beta}", { ...values, pairsJsonl: "p.jsonl", outputDir: "a b", beta: 0.1 });
 * // "train --pairs 'p.jsonl' --out 'a b' --beta '0.1'"
 * ```
 */
export const renderTrainCommand = (template: string, values: TrainCommandValues): string => {
  const known = placeholderValues(values);
  const problems: string[] = [];
  const rendered = template.replace(placeholderPattern, (whole, name: string) => {
    if (!(name in known)) {
      problems.push(
        `unknown placeholder ${whole} (known: ${Object.keys(known).map((k) => `{${k}}`).join(", ")})`,
      );
      return whole;
    }
    const value = known[name];
    if (value === undefined) {
      problems.push(`placeholder ${whole} has no value (the run did not give one)`);
      return whole;
    }
    return shellQuote(value);
  });
  const uses = (name: string) => [...template.matchAll(placeholderPattern)].some((m) => m[1] === name);
  if (!uses("output_dir")) problems.push("it must use {output_dir} (where the command saves the adapter)");
  if (!uses("pairs_jsonl") && !uses("pairs_parquet")) {
    problems.push("it must use {pairs_jsonl} or {pairs_parquet} (the pairs to train on)");
  }
  if (problems.length > 0) throw new Error(`training command template: ${problems.join("; ")}`);
  return rendered;
};

/** Options of {@link runTrainCommand}. */
export interface RunCommandOptions {
  /** The rendered command line (run by /bin/sh). */
  readonly command: string;
  /** The log file (appended). */
  readonly logPath: string;
  /** Working directory. Default: this process's. */
  readonly cwd?: string;
  /** Aborting kills the command (SIGTERM). */
  readonly signal?: AbortSignal;
  /** Also receives the command's output as it comes (e.g. to show it on the terminal). */
  readonly onOutput?: (text: string) => void;
}

const lastLines = async (path: string, n: number): Promise<string> => {
  const text = await readFile(path, "utf8").catch(() => "");
  return text.trimEnd().split("\n").slice(-n).map((l) => `    ${l}`).join("\n");
};

/**
 * Run a command through the shell with the inherited environment, its stdout and stderr appended to
 * `logPath` (after a header line with the command and the start time), and wait for it. Resolves
 * with the wall time in seconds; rejects naming the command, the exit code or signal, the log file
 * and its last 20 lines.
 *
 * @example
 * ```ts
 * await runTrainCommand({ command: "accelerate launch train.py", logPath: "runs/demo/iter-2/train-command.log" });
 * ```
 */
export const runTrainCommand = async (options: RunCommandOptions): Promise<number> => {
  const { command, logPath } = options;
  await mkdir(dirname(logPath), { recursive: true });
  const log = createWriteStream(logPath, { flags: "a" });
  await new Promise<void>((ok, fail) => {
    log.once("open", () => ok());
    log.once("error", fail);
  });
  log.write(`# ${new Date().toISOString()} alpha-spin runs: ${command}\n`);
  let logError: Error | undefined;
  log.on("error", (e) => (logError ??= e)); // a full disk must not crash the run; reported below
  const started = performance.now();
  let outcome: { code: number | null; signal: string | null; error?: Error };
  try {
    outcome = await new Promise((done) => {
      const child = spawn(command, {
        shell: true,
        cwd: options.cwd,
        env: process.env,
        stdio: ["ignore", "pipe", "pipe"],
        signal: options.signal,
        killSignal: "SIGTERM",
      });
      child.stdout.pipe(log, { end: false });
      child.stderr.pipe(log, { end: false });
      if (options.onOutput !== undefined) {
        // One decoder per stream, so a character split across chunks is decoded whole.
        for (const stream of [child.stdout, child.stderr]) {
          const decoder = new TextDecoder();
          stream.on(
            "data",
            (chunk: Uint8Array) => options.onOutput!(decoder.decode(chunk, { stream: true })),
          );
        }
      }
      let error: Error | undefined;
      child.once("error", (e) => {
        error = e;
        // A process that never started has no 'close' to wait for; an aborted one closes after the kill.
        if (child.pid === undefined) done({ code: null, signal: null, error });
      });
      child.once("close", (code, signal) => done({ code, signal, error }));
    });
  } finally {
    await new Promise<void>((ok) => log.end(ok));
  }
  const seconds = (performance.now() - started) / 1000;
  if (outcome.code === 0 && logError === undefined) return seconds;
  if (outcome.code === 0) {
    throw new Error(`the training command's log ${logPath} could not be written: ${logError!.message}`);
  }
  const aborted = options.signal?.aborted === true ? " (aborted)" : "";
  const how = outcome.signal !== null
    ? `was killed by ${outcome.signal}${aborted}`
    : outcome.code !== null
    ? `exited with code ${outcome.code}${aborted}`
    : `could not be run (${outcome.error?.message ?? "no exit status"})`;
  throw new Error(
    `the training command ${how}:\n  ${command}\n  log: ${logPath}\n  last lines of the log:\n${await lastLines(
      logPath,
      20,
    )}`,
  );
};

/**
 * Write the pairs an external trainer reads: `pairs.dpo.jsonl` and `pairs.dpo.parquet` in `dir`.
 * `extraColumns` (one object per record) are added to the JSONL rows only, e.g. the token ids
 * (`prompt_input_ids`, …) a trainer can use instead of tokenizing the text again.
 * Every record must carry both reference log-probs (the trainer must not compute its own
 * reference); a record without one is a {@link DataError} naming it, raised before anything is
 * written.
 *
 * @example
 * ```ts
 * import type { PreferenceRecord } from "../data/export.ts";
 * declare const records: PreferenceRecord[]; // the iteration's (prompt, chosen, rejected) pairs
 * const { jsonl, parquet } = await writeTrainingPairs("runs/demo/iter-2", records);
 * ```
 */
export const writeTrainingPairs = async (
  dir: string,
  records: readonly PreferenceRecord[],
  extraColumns?: readonly Readonly<Record<string, unknown>>[],
): Promise<{ jsonl: string; parquet: string }> => {
  const problems: DataProblem[] = [];
  records.forEach((r, i) => {
    for (
      const [key, name] of [["refChosenLogp", "ref_chosen_logps"], [
        "refRejectedLogp",
        "ref_rejected_logps",
      ]] as const
    ) {
      if (r[key] === null || !Number.isFinite(r[key])) {
        problems.push({
          where: `pair ${i + 1}${r.id === null ? "" : ` (${r.id})`}`,
          message: `no finite ${name}`,
        });
      }
    }
  });
  if (records.length === 0) problems.push({ where: dir, message: "no pairs to train on" });
  if (problems.length > 0) throw new DataError(problems.slice(0, 10), Math.max(0, problems.length - 10));
  const jsonl = join(dir, "pairs.dpo.jsonl"), parquet = join(dir, "pairs.dpo.parquet");
  if (extraColumns === undefined) await writeTrlDpoJsonl(jsonl, records);
  else await writeJsonlAtomic(jsonl, records.map((r, i) => ({ ...toTrlDpoRow(r), ...extraColumns[i] })));
  await writeTrlDpoParquet(parquet, records);
  return { jsonl, parquet };
};

const checkEmptyOutput = async (dir: string): Promise<void> => {
  const entries = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return [];
    throw e;
  });
  if (entries.length > 0) {
    throw new Error(
      `the training output folder ${dir} is not empty (${entries.slice(0, 3).join(", ")}${
        entries.length > 3 ? ", …" : ""
      }): an adapter left by an earlier attempt could be taken for this one's; move it away or choose another folder`,
    );
  }
};

/** Options of {@link trainOnCommand}. */
export interface TrainOnCommandOptions {
  /** The user's command template (placeholders above). */
  readonly template: string;
  /** The iteration's folder: pairs, log, output and iterate go here unless given. */
  readonly iterationDir: string;
  /** The iteration's pairs, with their α-mixed reference log-probs. */
  readonly records: readonly PreferenceRecord[];
  /** Columns added to each JSONL row (see {@link writeTrainingPairs}). */
  readonly extraColumns?: readonly Readonly<Record<string, unknown>>[];
  /** The placeholder values other than the paths this function chooses. */
  readonly values: Omit<TrainCommandValues, "pairsJsonl" | "pairsParquet" | "outputDir">;
  /** What the trained adapter must agree with. */
  readonly expect: AdapterExpectations;
  /** Where the command saves its adapter. Default `<iterationDir>/trainer-output`. */
  readonly outputDir?: string;
  /** Where the checked adapter is saved as iterate t. Default `<iterationDir>/adapter`. */
  readonly adapterDir?: string;
  /** The log file. Default `<iterationDir>/train-command.log`. */
  readonly logPath?: string;
  readonly cwd?: string;
  readonly signal?: AbortSignal;
  readonly onOutput?: (text: string) => void;
}

/** What {@link trainOnCommand} did. */
export interface TrainOnCommandResult {
  readonly command: string;
  readonly logPath: string;
  readonly outputDir: string;
  readonly adapterDir: string;
  readonly seconds: number;
}

/**
 * One iteration's training on an external engine: write the pairs, run the command, check the
 * adapter it saved and write it as iterate t (PEFT layout, `base_model_name_or_path` = the base
 * model). Nothing is written to `adapterDir` unless the adapter passes every check.
 *
 * @example
 * ```ts
 * declare const o: TrainOnCommandOptions;
 * const { template, records, values, expect } = o;
 * await trainOnCommand({ template, iterationDir: "runs/demo/iter-1", records, values, expect });
 * ```
 */
export const trainOnCommand = async (options: TrainOnCommandOptions): Promise<TrainOnCommandResult> => {
  const dir = options.iterationDir;
  const outputDir = options.outputDir ?? join(dir, "trainer-output");
  const adapterDir = options.adapterDir ?? join(dir, "adapter");
  const logPath = options.logPath ?? join(dir, "train-command.log");
  const paths = {
    pairsJsonl: join(dir, "pairs.dpo.jsonl"),
    pairsParquet: join(dir, "pairs.dpo.parquet"),
    outputDir,
  };
  const command = renderTrainCommand(options.template, { ...options.values, ...paths }); // template errors first
  await checkEmptyOutput(outputDir);
  await writeTrainingPairs(dir, options.records, options.extraColumns);
  const seconds = await runTrainCommand({
    command,
    logPath,
    cwd: options.cwd,
    signal: options.signal,
    onOutput: options.onOutput,
  });
  const adapter = await importTrainedAdapter(outputDir, options.expect).catch((error: Error) => {
    throw new Error(`the training command succeeded (log: ${logPath}) but ${error.message}`);
  });
  await writePeftAdapter(adapterDir, adapter, { baseModelNameOrPath: options.values.baseModel });
  return { command, logPath, outputDir, adapterDir, seconds };
};
