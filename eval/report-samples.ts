/**
 * The sample tables of the report: for iteration t, a few prompts with the data's answer (the
 * winner), the answer the opponent π_{t−1} sampled for the same prompt (the loser iteration t
 * trained against, read from `iter-<t>/generations.jsonl`) and the new model π_t's greedy answer.
 * The same prompts at every iteration, so a reader can follow what changed.
 *
 * @example
 * ```ts
 * import { collectIterationSamples, pickSampleExamples } from "./report-samples.ts";
 * import type { EvalModel } from "./evaluate.ts";
 * declare const train: SampleExample[];
 * declare const model: EvalModel;
 * const picked = pickSampleExamples(train, 6);
 * const table = await collectIterationSamples({ runDir: "runs/default", iteration: 2, model, examples: picked });
 * table.rows[0].opponent; // what π_1 answered to the first prompt
 * ```
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type EvalModel, greedyCompletions } from "./evaluate.ts";
import type { IterationSamples } from "./report-types.ts";

/** A training example: its id (as in generations.jsonl), prompt and the data's answer. */
export interface SampleExample {
  readonly id: string;
  readonly prompt: string;
  readonly completion: string;
}

/** Options of {@link collectIterationSamples}. */
export interface CollectSamplesOptions {
  readonly runDir: string;
  /** t ≥ 1: the table of π_t against its opponent π_{t−1}. */
  readonly iteration: number;
  /** π_t. */
  readonly model: EvalModel;
  /** The prompts to show (see {@link pickSampleExamples}). */
  readonly examples: readonly SampleExample[];
  /** Whether an answer is right, when the task can tell (e.g. isSyntheticCorrect). */
  readonly isCorrect?: (prompt: string, answer: string) => boolean;
  /** Longest greedy answer. Default 32. */
  readonly maxNewTokens?: number;
}

/**
 * `count` evenly spaced examples of `examples` (all of them when there are fewer).
 *
 * @example
 * ```ts
 * declare const train: SampleExample[]; // at least 4 examples
 * pickSampleExamples(train, 4).length; // 4
 * ```
 */
export const pickSampleExamples = <E>(examples: readonly E[], count: number): E[] => {
  const n = Math.min(examples.length, Math.max(0, Math.floor(count)));
  return Array.from({ length: n }, (_, i) => examples[Math.floor(((i + 0.5) * examples.length) / n)]);
};

/**
 * The opponent's answers of iteration t: `iter-<t>/generations.jsonl` rows made by iterate t − 1,
 * by example id. A line that is not JSON is an error naming the file and line.
 */
const opponentAnswers = async (runDir: string, t: number): Promise<Map<string, string>> => {
  const path = join(runDir, `iter-${t}`, "generations.jsonl");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return new Map();
  }
  const out = new Map<string, string>();
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let row: { exampleId?: unknown; iterate?: unknown; text?: unknown };
    try {
      row = JSON.parse(line);
    } catch {
      throw new Error(`${path}:${i + 1}: not a JSON line`);
    }
    if (row.iterate === t - 1 && typeof row.exampleId === "string" && typeof row.text === "string" && !out.has(row.exampleId)) {
      out.set(row.exampleId, row.text);
    }
  });
  return out;
};

/**
 * The sample table of iteration t (see the module doc). An opponent answer that is not stored
 * (the file is missing or holds no row for the example) shows as "(not stored)".
 *
 * @example
 * ```ts
 * import type { Policy } from "../models/policy.ts";
 * import type { Tokenizer } from "../models/tokenizer.ts";
 * declare const policy: Policy;
 * declare const tokenizer: Tokenizer;
 * declare const examples: SampleExample[];
 * const runDir = "runs/default";
 * const s = await collectIterationSamples({ runDir, iteration: 1, model: { policy, tokenizer }, examples });
 * ```
 */
export const collectIterationSamples = async (options: CollectSamplesOptions): Promise<IterationSamples> => {
  const opponents = await opponentAnswers(options.runDir, options.iteration);
  const answers = await greedyCompletions(options.model, options.examples.map((e) => e.prompt), { maxNewTokens: options.maxNewTokens ?? 32 });
  return {
    iteration: options.iteration,
    rows: options.examples.map((e, i) => ({
      exampleId: e.id,
      prompt: e.prompt.trimEnd(),
      data: e.completion,
      opponent: opponents.get(e.id) ?? "(not stored)",
      model: answers[i],
      ...(options.isCorrect === undefined ? {} : { correct: options.isCorrect(e.prompt, answers[i]) }),
    })),
  };
};
