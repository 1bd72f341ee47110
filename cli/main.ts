#!/usr/bin/env node
/**
 * The `alpha-spin` command: one entry point, one sub-command per job. Each sub-command lives in
 * its own module under cli/ and is loaded only when asked for, so `alpha-spin backends` does not
 * pay for loading the models.
 *
 * @example
 * ```sh
 * alpha-spin backends          # which tfjs backends work here, with a matmul self-test
 * alpha-spin --help
 * ```
 *
 * @module
 */
import process from "node:process";
import { didYouMean } from "../core/config.ts";

/** A sub-command: its one-line summary and how to run it (resolves to the exit code). */
interface SubCommand {
  readonly summary: string;
  readonly run: (args: string[]) => Promise<number>;
}

const commands: Record<string, SubCommand> = {
  backends: {
    summary: "list the tfjs backends, whether each initializes here, and a matmul self-test",
    run: async (args) => (await import("./backends.ts")).backendsCommand(args),
  },
  score: {
    summary: "Σ log p(completion | prompt) and token count of each JSONL line under a model (+ PEFT adapter)",
    run: async (args) => (await import("./score.ts")).scoreCommand(args),
  },
  train: {
    summary: "run α-SPIN self-play iterations from a run config (--resume continues a killed run)",
    run: async (args) => (await import("./train.ts")).trainCommand(args),
  },
  generate: {
    summary: "sample completions for a data file's prompts with a model and an optional LoRA adapter",
    run: async (args) => (await import("./generate.ts")).generateCommand(args),
  },
  spin: {
    summary: "the main job: α-SPIN on the embedded default model, a per-iteration table and report.html",
    run: async (args) => (await import("./spin.ts")).spinCommand(args),
  },
  serve: {
    summary: "an OpenAI-compatible HTTP server for a model folder and its LoRA adapters by name",
    run: async (args) => (await import("./serve.ts")).serveCommand(args),
  },
  data: {
    summary: "write the embedded task's data as JSONL that train accepts (alpha-spin data synthetic --out FILE)",
    run: async (args) => (await import("./data.ts")).dataCommand(args),
  },
  eval: {
    summary: "evaluate a model (+ adapter): synthetic-task metrics, held-out NLL, exact match, multiple choice",
    run: async (args) => (await import("./eval.ts")).evalCommand(args),
  },
};

const usage = (): string =>
  [
    "alpha-spin: regularized self-play fine-tuning (α-SPIN) of language models",
    "",
    "usage: alpha-spin <command> [options]     (alpha-spin <command> --help for its options)",
    "",
    "commands:",
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`),
  ].join("\n");

/** Run the CLI on `argv` (without the runtime and script) and resolve to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (command === undefined) {
    const guess = didYouMean(name.replace(/^-+/, ""), Object.keys(commands));
    console.error(`alpha-spin: unknown command "${name}"${guess === undefined ? "" : ` (did you mean ${guess}?)`}\n\n${usage()}`);
    return 2;
  }
  try {
    // Every sub-command loads tfjs anyway; its "running TensorFlow.js in Node.js" banner is noise
    // here (`alpha-spin backends` says what to install).
    (await import("../backends/quiet.ts")).quietTfjs();
    return await command.run(rest);
  } catch (error) {
    console.error(`alpha-spin ${name}: ${error instanceof Error ? error.message : String(error)}`);
    if (process.env.ALPHA_SPIN_DEBUG) console.error(error);
    return 1;
  }
}
