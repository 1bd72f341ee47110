/**
 * `alpha-spin train --config run.json [--resume] [--backend NAME] [--workers N] [--quiet] [--log FILE]`: run (or
 * resume) α-SPIN as the run config says. The config is decoded by its io-ts codec (every problem
 * reported by path and rule); progress bars with rate and ETA show generation, the reference
 * pre-compute and training (plain lines when the output is not a terminal, nothing with --quiet);
 * every training step's metrics go to `<outputDir>/iter-<t>/metrics.jsonl` and
 * `<outputDir>/metrics.jsonl`, and every event to the JSON-lines log (`<outputDir>/events.jsonl`
 * unless --log says otherwise).
 *
 * Relative paths in the config (model, data, outputDir) are taken from the current folder; the
 * config's `imports` (modules to import first, e.g. one registering a custom loss) from the config
 * file's folder, and `--import a.ts,b.ts` adds more (from the current folder).
 *
 * @example
 * ```sh
 * alpha-spin train --config run.json
 * alpha-spin train --config run.json --resume --backend wasm
 * ```
 *
 * @module
 */
import { appendFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import type { BackendRequest } from "../backends/types.ts";
import { checkWritable, ensureDir, fsError } from "../data/fs-errors.ts";
import { readUtf8File } from "../data/text.ts";
import type { SelfPlayEvent } from "../selfplay/events.ts";
import { importUrl } from "../selfplay/imports.ts";
import { runSelfPlay } from "../selfplay/loop.ts";
import { oracleModuleFrom } from "../selfplay/oracle.ts";
import { positiveInt } from "../core/config.ts";
import { type CommandSpec, parseOrExit } from "./args.ts";
import { engineFlagSpecs, withEngineFlags } from "./engine-flags.ts";
import { type Progress, startProgress } from "./progress.ts";

/** The flags of `alpha-spin train`. */
export const trainCommandSpec = {
  name: "alpha-spin train",
  summary: "run α-SPIN self-play iterations as a run config says",
  flags: {
    config: { type: "string", short: "c", valueName: "file", description: "the run config (JSON; see docs/config.md)", required: true },
    resume: { type: "boolean", description: "continue a killed run in the same output folder from its last complete state" },
    backend: { type: "string", valueName: "name", description: "tfjs backend (auto, cpu, wasm, blas, webgpu, node, node-gpu); overrides the config's" },
    workers: { type: "number", codec: positiveInt, valueName: "n", description: "threads computing each gradient (2 uses both cores); overrides the config's" },
    threads: { type: "number", codec: positiveInt, valueName: "n", description: "BLAS threads of the blas backend (default 1); overrides the config's" },
    quiet: { type: "boolean", short: "q", description: "no progress output (errors only)" },
    log: { type: "string", valueName: "file", description: "JSON-lines event log (default: <outputDir>/events.jsonl)" },
    import: {
      type: "string",
      valueName: "paths",
      description: "modules to import first, comma-separated (e.g. one that registers a custom loss); added to the config's imports",
    },
    ...engineFlagSpecs,
  },
  positionals: [],
  examples: ["alpha-spin train --config run.json", "alpha-spin train --config run.json --resume --backend wasm", "alpha-spin train --config run.json --workers 2", "alpha-spin train --config run.json --import ./my-loss.ts", "alpha-spin train --config run.json --generation-engine openai --reference-engine openai --openai-base-url http://127.0.0.1:8000/v1 --openai-model google/gemma-2b"],
} as const satisfies CommandSpec;

const backendNames = ["auto", "cpu", "wasm", "blas", "webgpu", "node", "node-gpu"];

const readConfigFile = async (path: string): Promise<unknown> => {
  const text = await readUtf8File(path, "config file"); // strict UTF-8; a leading BOM is dropped
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
};

const fmt = (x: number | undefined): string => (x === undefined ? "?" : Math.abs(x) >= 100 || Number.isInteger(x) ? String(x) : x.toPrecision(4));

/** Turns run events into progress bars and lines on stderr, and JSON lines in the log. */
const eventPrinter = (quiet: boolean, logPath: string | undefined): { handle: (event: SelfPlayEvent) => Promise<void>; close: () => void } => {
  let bar: Progress | null = null;
  let shown = 0;
  let log: string | null = null;
  let finished = false; // the run was complete before this call
  const say = (line: string): void => {
    if (!quiet) process.stderr.write(line + "\n");
  };
  const handle = async (event: SelfPlayEvent): Promise<void> => {
    if (event.type === "run-start") {
      log = logPath ?? join(event.runDir, "events.jsonl");
      await ensureDir(dirname(log));
      finished = event.startAt > event.iterations;
      say(
        finished
          ? `${event.runDir} already finished (${event.iterations} iteration${event.iterations === 1 ? "" : "s"}): nothing to do`
          : `${event.resumed ? "resuming" : "starting"} ${event.runDir}: ${event.examples} examples, ` +
            `iterations ${event.startAt}..${event.iterations}, backend ${event.backend}`,
      );
    }
    if (log !== null && event.type !== "progress") {
      await appendFile(log, JSON.stringify({ time: new Date().toISOString(), ...event }) + "\n").catch((e) => {
        throw fsError(e, `write the event log ${log}`);
      });
    }
    switch (event.type) {
      case "warning":
        say(`warning: ${event.message}`);
        break;
      case "info":
        say(event.message);
        break;
      case "iteration-start":
        say(`iteration ${event.iteration}: alpha ${event.params.alpha}, beta ${event.params.beta}, lr ${event.params.lr}, epochs ${event.params.epochs}`);
        break;
      case "window":
        say(`  opponent: ${event.members.map((m) => `${m.id} (${m.pairs} pairs)`).join(", ")}`);
        break;
      case "phase-start":
        bar?.stop();
        if (event.note !== undefined) say(`  ${event.note}`);
        bar = startProgress(`  iter ${event.iteration} ${event.phase}`, event.total, { quiet });
        shown = 0;
        break;
      case "progress":
        if (bar !== null) {
          bar.tick(event.done - shown, event.payload);
          shown = event.done;
        }
        break;
      case "phase-end":
        bar?.stop();
        bar = null;
        if (event.note !== undefined) say(`  ${event.phase}: ${event.note}`);
        break;
      case "iteration-complete":
        say(
          `  done: ${event.dir} (loss ${fmt(event.summary.loss)}, margin ${fmt(event.summary["rewards/margins"])}, ` +
            `accuracy ${fmt(event.summary["rewards/accuracies"])})`,
        );
        break;
      case "run-complete":
        if (!finished) say(`finished ${event.iterations} iterations in ${event.runDir}`);
        break;
    }
  };
  return { handle, close: () => bar?.stop() };
};

/**
 * The config with its `imports` made absolute from the config file's folder (so the run folder's
 * copy of the config works from anywhere) and the `--import` paths (from the current folder)
 * added. A malformed `imports` is left for the config codec to report.
 */
const withImports = (file: Record<string, unknown>, configDir: string, flag: string | undefined): Record<string, unknown> => {
  const listed = file.imports;
  const fromFlag = (flag ?? "").split(",").map((p) => p.trim()).filter((p) => p !== "").map((p) => importUrl(p));
  if (listed !== undefined && !(Array.isArray(listed) && listed.every((e) => typeof e === "string" && e !== ""))) return file;
  const fromConfig = ((listed ?? []) as string[]).map((e) => importUrl(e, resolve(configDir)));
  const all = [...new Set([...fromConfig, ...fromFlag])];
  return all.length === 0 && listed === undefined ? file : { ...file, imports: all };
};

/**
 * Run `alpha-spin train` on its arguments; resolves to the exit code (0 done, 2 bad arguments;
 * other failures throw, and cli/main.ts prints them).
 *
 * @example
 * ```ts
 * process.exitCode = await trainCommand(["--config", "run.json", "--quiet"]);
 * ```
 */
export const trainCommand = async (args: string[]): Promise<number> => {
  const parsed = parseOrExit(trainCommandSpec, args);
  if (typeof parsed === "number") return parsed;
  const { config: configPath, resume, backend, workers, threads, quiet, log } = parsed.flags;
  if (backend !== undefined && !backendNames.includes(backend)) {
    console.error(`--backend must be one of ${backendNames.join(", ")} (got "${backend}")`);
    return 2;
  }
  for (const [flag, value] of [["--generation-engine", parsed.flags.generationEngine], ["--reference-engine", parsed.flags.referenceEngine]]) {
    if (value !== undefined && value !== "local" && value !== "openai") {
      console.error(`${flag} must be local or openai (got "${value}")`);
      return 2;
    }
  }
  if (log !== undefined) await checkWritable(log, "--log"); // before the run folder is made
  const file = await readConfigFile(configPath);
  const overrides = { ...(workers === undefined ? {} : { workers }), ...(threads === undefined ? {} : { threads }) };
  const raw = typeof file !== "object" || file === null || Array.isArray(file)
    ? file
    : oracleModuleFrom(
      withEngineFlags({ ...withImports(file as Record<string, unknown>, dirname(configPath), parsed.flags.import), ...overrides }, parsed.flags),
      resolve(dirname(configPath)),
    );
  const printer = eventPrinter(quiet, log);
  try {
    await runSelfPlay({
      config: raw,
      resume,
      ...(backend === undefined ? {} : { backend: backend as BackendRequest }),
      onEvent: printer.handle,
    });
  } finally {
    printer.close(); // a bar left open by an error ends its line before the message
  }
  return 0;
};
