/**
 * A trainer for `training.engine: "command"` that runs on a CPU: it reads the TRL DPO JSONL an
 * iteration wrote (`iter-<t>/trainer/pairs.dpo.jsonl`, with `ref_chosen_logps` /
 * `ref_rejected_logps` and the token ids `prompt_input_ids`, `chosen_input_ids`,
 * `rejected_input_ids`), trains a LoRA adapter on the base model (from the init adapter, or from a
 * fresh one) with this project's own training loop (train/train.ts: the run's loss, AdamW, schedule,
 * batching) against the given reference log-probs as lp_ref, and saves a PEFT adapter folder.
 *
 * It takes every setting from the iteration's settings file (`{run_config}`, i.e.
 * `iter-<t>/config.json`: α, β, learning rate, epochs, backend and the whole run config) and derives
 * its random streams from the run's seed and t as the local engine does (selfplay/phases/train.ts,
 * `trainingStreams`), so on the same backend it trains the same adapter as `training.engine:
 * "local"`. It reads no reference of its own: lp_ref is exactly the file's numbers.
 *
 * ```sh
 * # training.command.template in a run config:
 * npx tsx scripts/dpo-on-pairs.ts --pairs {pairs_jsonl} --run-config {run_config} \
 *   --base-model {base_model} --init-adapter {init_adapter} --output-dir {output_dir}
 * ```
 *
 * Options: `--backend NAME` overrides the settings file's backend; `--help`.
 *
 * @module
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { loadBackend } from "../backends/load.ts";
import type { BackendRequest } from "../backends/types.ts";
import { rngFromSeed } from "../core/rng.ts";
import { fromTrlDpoRow } from "../data/export.ts";
import { DataError, type DataProblem, readJsonl } from "../data/jsonl.ts";
import { lossRegistry } from "../losses/mod.ts";
import { loadHfModel } from "../models/hf-load.ts";
import { freshLoraSnapshot, loadIterateSnapshot, saveIterate } from "../train/params.ts";
import { type TrainingPair, trainIteration } from "../train/train.ts";
import { resolveRunConfig } from "../selfplay/config.ts";
import { importRunModules } from "../selfplay/imports.ts";
import { trainingStreams } from "../selfplay/phases/train.ts";
import { finetuneSpec } from "../selfplay/setup.ts";

const usage = `usage: dpo-on-pairs --pairs FILE.jsonl --run-config ITER_CONFIG.json --base-model DIR
       --output-dir DIR [--init-adapter DIR] [--backend NAME]`;

/** `--name value` pairs; a name followed by another option (or nothing) has the value "". */
const parseArgs = (argv: readonly string[]): Map<string, string> => {
  const known = ["pairs", "run-config", "base-model", "output-dir", "init-adapter", "backend"];
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--help" || argv[i] === "-h") {
      console.log(usage);
      process.exit(0);
    }
    const name = argv[i].startsWith("--") ? argv[i].slice(2) : null;
    if (name === null || !known.includes(name)) throw new Error(`unknown argument ${argv[i]}\n${usage}`);
    // An empty value (`--init-adapter ''`) may arrive as nothing at all: Deno drops empty arguments.
    const next = argv[i + 1];
    const hasValue = next !== undefined && !next.startsWith("--");
    args.set(name, hasValue ? next : "");
    if (hasValue) i++;
  }
  for (const name of ["pairs", "run-config", "base-model", "output-dir"]) {
    if (!args.get(name)) throw new Error(`--${name} is required\n${usage}`);
  }
  return args;
};

/** The iteration's settings file (selfplay's iter-<t>/config.json): what training reads of it. */
interface IterationSettings {
  readonly iteration: number;
  readonly beta: number;
  readonly lr: number;
  readonly epochs: number;
  readonly backend: string;
  readonly run: unknown;
}

const readSettings = async (path: string): Promise<IterationSettings> => {
  const value = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  for (const key of ["iteration", "beta", "lr", "epochs"]) {
    if (typeof value[key] !== "number" || !Number.isFinite(value[key])) {
      throw new Error(`${path}: "${key}" must be a number (an alpha-spin iteration's config.json)`);
    }
  }
  if (typeof value.backend !== "string" || typeof value.run !== "object" || value.run === null) {
    throw new Error(`${path}: needs "backend" and "run" (an alpha-spin iteration's config.json)`);
  }
  return value as unknown as IterationSettings;
};

const tokenIds = (row: Record<string, unknown>, key: string, where: string, problems: DataProblem[]): number[] => {
  const v = row[key];
  if (Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0)) return v as number[];
  problems.push({ where, message: `"${key}" must be a list of token ids (this trainer reads the ids alpha-spin writes)` });
  return [];
};

/** The pairs with their token ids and reference log-probs; every bad row is named by file:line. */
const readPairs = async (path: string): Promise<TrainingPair[]> => {
  const problems: DataProblem[] = [];
  const pairs: TrainingPair[] = [];
  for (const { where, value } of await readJsonl(path)) {
    try {
      const record = fromTrlDpoRow(value, where);
      const row = value as Record<string, unknown>;
      if (record.refChosenLogp === null || record.refRejectedLogp === null) {
        problems.push({ where, message: "needs ref_chosen_logps and ref_rejected_logps (the reference is never computed here)" });
        continue;
      }
      pairs.push({
        promptIds: tokenIds(row, "prompt_input_ids", where, problems),
        chosenIds: tokenIds(row, "chosen_input_ids", where, problems),
        rejectedIds: tokenIds(row, "rejected_input_ids", where, problems),
        lpRefChosen: record.refChosenLogp,
        lpRefRejected: record.refRejectedLogp,
      });
    } catch (error) {
      if (!(error instanceof DataError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (pairs.length === 0 && problems.length === 0) problems.push({ where: path, message: "no pairs" });
  if (problems.length > 0) throw new DataError(problems.slice(0, 10), Math.max(0, problems.length - 10));
  return pairs;
};

const main = async (): Promise<void> => {
  const args = parseArgs(process.argv.slice(2));
  const settings = await readSettings(args.get("run-config")!);
  const imports = await importRunModules(settings.run); // a custom loss registers itself (here and in the workers)
  const run = resolveRunConfig(settings.run, { knownLosses: lossRegistry.names() });
  if (run.finetune !== "lora") throw new Error(`this trainer trains LoRA adapters (the run has finetune "${run.finetune}")`);
  const backend = (args.get("backend") || settings.backend) as BackendRequest;
  await loadBackend(backend, run.threads === null ? {} : { threads: run.threads });
  const pairs = await readPairs(args.get("pairs")!);
  const baseModel = args.get("base-model")!, initAdapter = args.get("init-adapter") ?? "";
  const base = await loadHfModel(baseModel);
  const spec = finetuneSpec(run);
  const t = settings.iteration;
  const streams = trainingStreams(rngFromSeed(run.seed), t);
  const init = initAdapter === ""
    ? await freshLoraSnapshot(base, spec.lora, streams.loraInitSeed)
    : await loadIterateSnapshot(initAdapter, base, spec);
  const checkpointDir = await mkdtemp(join(tmpdir(), "alpha-spin-dpo-on-pairs-"));
  console.log(`dpo-on-pairs: iteration ${t}, ${pairs.length} pairs, ${settings.epochs} epoch(s), backend ${backend}`);
  try {
    const result = await trainIteration({
      iteration: t,
      pairs,
      base,
      spec,
      init,
      beta: settings.beta,
      lr: settings.lr,
      epochs: settings.epochs,
      loss: lossRegistry.get(run.loss.name),
      lossParams: run.loss.params,
      training: run.training,
      ema: null,
      rng: streams.rng,
      checkpointDir,
      onStep: (row, total) => console.log(`step ${row.step}/${total} loss ${row.loss}`),
      workers: run.workers,
      workerImports: imports,
    });
    await saveIterate(args.get("output-dir")!, base, spec, result.weights, { baseModel, tokenizerDir: null });
  } finally {
    await rm(checkpointDir, { recursive: true, force: true });
    base.dispose();
  }
  console.log(`dpo-on-pairs: adapter saved in ${args.get("output-dir")}`);
};

main().catch((error) => {
  console.error(`dpo-on-pairs: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
