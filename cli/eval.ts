/**
 * `alpha-spin eval`: evaluate a model (optionally with a PEFT LoRA adapter, e.g. an iterate's
 * `iter-<t>/adapter`) with one of the metrics of eval/:
 *
 * - `--task synthetic` (default): the synthetic task — exact match (greedy + answer extraction),
 *   KL(p_data ‖ π) exact over the support, held-out NLL. Without `--data`, every prompt of the task
 *   with its probability and the embedded default's held-out split; with `--data` (JSONL of
 *   {prompt, completion} rows of the task), the file's prompts weighted by frequency and its rows
 *   as the held-out set;
 * - `--task nll`: token-weighted NLL, perplexity and bits per byte of the completions of a JSONL /
 *   Parquet file ({prompt, completion} rows, or UltraChat `messages` with `--schema messages`);
 * - `--task exact-match`: greedy answers to JSONL rows {prompt | question, answer | reference},
 *   the answer extracted as the last number (GSM8K style; a reference with `####` is cut after it)
 *   or by `--regex` (its first capture group);
 * - `--task mc`: multiple choice by log-likelihood (acc, acc_norm) from JSONL rows
 *   {context, choices, label}.
 *
 * `--model embedded` is the model shipped with the package. `--json` prints the result as JSON.
 *
 * @example
 * ```sh
 * alpha-spin eval --model embedded --adapter runs/default/iter-3/adapter
 * alpha-spin eval --model ./gpt2 --data arc-easy.jsonl --task mc
 * alpha-spin eval --model ./gpt2 --data gsm8k.jsonl --task exact-match --max-new-tokens 256
 * ```
 *
 * @module
 */
import { loadBackend } from "../backends/load.ts";
import type { BackendRequest } from "../backends/types.ts";
import { DataError, readJsonl } from "../data/jsonl.ts";
import { loadSftExamples } from "../data/sft.ts";
import {
  answerDistribution,
  distinctPrompts,
  makeSyntheticTask,
  type SyntheticFamilyName,
  type WeightedPrompt,
} from "../data/synthetic.ts";
import { evaluateSynthetic } from "../eval/evaluate-synthetic.ts";
import { type EvalModel, exactMatchEval, type ExactMatchItem, heldOutNll, multipleChoiceEval } from "../eval/evaluate.ts";
import { gsm8kAnswer } from "../eval/metrics.ts";
import { loadMultipleChoiceJsonl } from "../eval/multiple-choice.ts";
import { formatMetric } from "../eval/report-table.ts";
import { loadHfModel } from "../models/hf-load.ts";
import { loadTokenizer } from "../models/hf-tokenizer.ts";
import { loraAdapterFromRecord } from "../models/lora.ts";
import { readPeftAdapter } from "../models/peft.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { defaultEvalHeldOut, embeddedModelDir, embeddedTaskOptions } from "./default-run.ts";
import { checkTokenizerFits } from "../selfplay/examples.ts";
import { positiveInt } from "../core/config.ts";
import { ArgsError, type CommandSpec, formatHelp, parseArgs } from "./args.ts";

/** The flags of `alpha-spin eval`. */
export const evalCommandSpec = {
  name: "alpha-spin eval",
  summary: "evaluate a model: synthetic-task metrics, held-out NLL, exact match, multiple choice",
  flags: {
    model: { type: "string", short: "m", default: "embedded", valueName: "dir", description: 'Hugging Face model folder, or "embedded"' },
    adapter: { type: "string", valueName: "dir", description: "PEFT LoRA adapter folder to put on the model" },
    data: { type: "string", short: "d", valueName: "file", description: "evaluation data (JSONL; Parquet for nll)" },
    task: { type: "string", default: "synthetic", valueName: "name", description: "synthetic, nll, exact-match or mc" },
    regex: { type: "string", valueName: "re", description: "exact-match: extract the answer with this regex (first capture group)" },
    ignoreCase: { type: "boolean", description: "exact-match: compare case-insensitively" },
    schema: { type: "string", default: "prompt-completion", valueName: "name", description: "nll: prompt-completion or messages" },
    maxNewTokens: { type: "number", default: 32, codec: positiveInt, description: "exact-match: longest greedy answer" },
    limit: { type: "number", codec: positiveInt, valueName: "n", description: "evaluate only the first n rows" },
    batchSize: { type: "number", default: 64, codec: positiveInt, description: "rows per scoring pass" },
    backend: { type: "string", default: "auto", valueName: "name", description: "tfjs backend (auto, cpu, wasm, blas, webgpu, node, node-gpu)" },
    threads: { type: "number", codec: positiveInt, valueName: "n", description: "BLAS threads of the blas backend (default 1)" },
    json: { type: "boolean", description: "print the result as JSON" },
  },
  positionals: [],
  examples: [
    "alpha-spin eval --model embedded --adapter runs/default/iter-3/adapter",
    "alpha-spin eval --model ./gpt2 --data arc-easy.jsonl --task mc",
    "alpha-spin eval --model ./gpt2 --data gsm8k.jsonl --task exact-match --max-new-tokens 256",
  ],
} as const satisfies CommandSpec;

const tasks = ["synthetic", "nll", "exact-match", "mc"] as const;
type TaskName = (typeof tasks)[number];

const need = (data: string | undefined, task: string): string => {
  if (data === undefined) throw new ArgsError(evalCommandSpec.name, `--task ${task} needs --data <file>`);
  return data;
};

const field = (row: Record<string, unknown>, names: readonly string[], where: string): string => {
  for (const n of names) if (typeof row[n] === "string") return row[n] as string;
  throw new DataError([{ where, message: `expected a string field ${names.map((n) => `"${n}"`).join(" or ")}` }]);
};

/** Rows {prompt|question, answer|reference|completion} of an exact-match file. */
const loadExactMatchItems = async (path: string, limit: number | undefined): Promise<ExactMatchItem[]> => {
  const rows = await readJsonl(path, limit === undefined ? {} : { maxRows: limit });
  return rows.map(({ value, where }) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new DataError([{ where, message: "expected an object with prompt and answer" }]);
    }
    const row = value as Record<string, unknown>;
    const answer = field(row, ["answer", "reference", "completion"], where);
    return { prompt: field(row, ["prompt", "question"], where), answer: answer.includes("####") ? gsm8kAnswer(answer) : answer.trim() };
  });
};

type Result = Record<string, unknown>;

const runTask = async (task: TaskName, model: EvalModel, f: ReturnType<typeof parseArgs<typeof evalCommandSpec>>["flags"]): Promise<Result> => {
  const limit = f.limit;
  const cut = <A>(xs: readonly A[]): A[] => (limit === undefined ? [...xs] : xs.slice(0, limit));
  if (task === "mc") {
    const rows = cut(await loadMultipleChoiceJsonl(need(f.data, task)));
    const s = await multipleChoiceEval(model, rows, { batchSize: f.batchSize });
    return { task, n: s.n, acc: s.acc, accStderr: s.accStderr, accNorm: s.accNorm, accNormStderr: s.accNormStderr };
  }
  if (task === "nll") {
    const schema = f.schema === "messages" ? "messages" : "prompt-completion";
    const rows = cut(await loadSftExamples(need(f.data, task), { schema, maxExamples: limit ?? null }));
    const s = await heldOutNll(model, rows, { batchSize: f.batchSize });
    return { task, ...s };
  }
  if (task === "exact-match") {
    const items = await loadExactMatchItems(need(f.data, task), limit);
    const r = await exactMatchEval(model, items, {
      maxNewTokens: f.maxNewTokens,
      extract: f.regex === undefined ? "last-number" : new RegExp(f.regex),
      ignoreCase: f.ignoreCase,
    });
    return { task, n: r.n, accuracy: r.accuracy, stderr: r.stderr, samples: r.predictions.slice(0, 5) };
  }
  // synthetic
  let heldOut, prompts: WeightedPrompt[] | undefined;
  if (f.data === undefined) {
    heldOut = makeSyntheticTask(embeddedTaskOptions).heldOut.slice(0, defaultEvalHeldOut);
  } else {
    heldOut = cut(await loadSftExamples(f.data, { schema: "prompt-completion" }));
    const counts = new Map<string, number>();
    for (const row of heldOut) counts.set(row.prompt, (counts.get(row.prompt) ?? 0) + 1);
    prompts = distinctPrompts(heldOut).map((prompt) => {
      answerDistribution(prompt); // throws for a prompt that is not the task's
      return { prompt, family: prompt.split(" ")[0] as SyntheticFamilyName, weight: counts.get(prompt)! / heldOut.length };
    });
  }
  const r = await evaluateSynthetic(model, { heldOut, ...(prompts === undefined ? {} : { prompts }), batchSize: f.batchSize });
  return { task, ...r };
};

const printResult = (result: Result): void => {
  for (const [k, v] of Object.entries(result)) {
    if (typeof v === "number") console.log(`${k.padEnd(20)} ${Number.isInteger(v) && Math.abs(v) > 1 ? String(v) : formatMetric(v)}`);
    else if (typeof v === "string") console.log(`${k.padEnd(20)} ${v}`);
    else if (Array.isArray(v)) v.forEach((x) => console.log(`  ${JSON.stringify(x)}`));
    else if (v !== null && typeof v === "object") {
      console.log(`${k.padEnd(20)} ${Object.entries(v).map(([a, b]) => `${a} ${typeof b === "number" ? formatMetric(b) : String(b)}`).join(", ")}`);
    }
  }
};

/**
 * Run `alpha-spin eval` on `args` (without the command name) and resolve to the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await evalCommand(["--model", "embedded", "--task", "synthetic", "--json"]);
 * ```
 */
export const evalCommand = async (args: string[]): Promise<number> => {
  let parsed;
  try {
    parsed = parseArgs(evalCommandSpec, args);
    if (!(tasks as readonly string[]).includes(parsed.flags.task)) {
      throw new ArgsError(evalCommandSpec.name, `--task must be one of ${tasks.join(", ")} (got "${parsed.flags.task}")`);
    }
    if (parsed.flags.schema !== "prompt-completion" && parsed.flags.schema !== "messages") {
      throw new ArgsError(evalCommandSpec.name, `--schema must be prompt-completion or messages (got "${parsed.flags.schema}")`);
    }
    if (parsed.flags.regex !== undefined) new RegExp(parsed.flags.regex);
  } catch (e) {
    if (e instanceof ArgsError || e instanceof SyntaxError) {
      console.error(e.message);
      return 2;
    }
    throw e;
  }
  if (parsed.help) {
    console.log(formatHelp(evalCommandSpec));
    return 0;
  }
  const f = parsed.flags;
  await loadBackend(f.backend as BackendRequest, f.threads === undefined ? {} : { threads: f.threads });
  const dir = f.model === "embedded" ? embeddedModelDir() : f.model;
  const model = await loadHfModel(dir, { trainable: false });
  const adapter = f.adapter === undefined ? null : loraAdapterFromRecord(model, await readPeftAdapter(f.adapter));
  try {
    const tokenizer = await loadTokenizer(dir);
    checkTokenizerFits(tokenizer, model.config.vocabSize);
    const result = await runTask(f.task as TaskName, { policy: new TransformerPolicy(model, adapter), tokenizer }, f);
    const full = { model: dir, adapter: f.adapter ?? null, ...result };
    if (f.json) console.log(JSON.stringify(full, null, 2));
    else printResult(full);
    return 0;
  } catch (e) {
    if (e instanceof ArgsError || e instanceof DataError) {
      console.error(e.message);
      return e instanceof ArgsError ? 2 : 1;
    }
    throw e;
  } finally {
    adapter?.dispose();
    model.dispose();
  }
};
