/**
 * `alpha-spin score`: the summed log-probability of each completion given its prompt under a model
 * (optionally with a PEFT LoRA adapter): the reference pre-compute of the self-play loop, exposed.
 *
 * ```sh
 * alpha-spin score --model DIR --data FILE.jsonl [--adapter DIR] [--tokenizer DIR] [--backend NAME]
 *                  [--batch-size N] [--add-bos] [--add-eos]
 * ```
 *
 * Prints one JSON line per input line (blank lines skipped), in input order:
 * `{"index", "line", "id"?, "logprob", "tokens", "prompt_tokens", "prefix_ok"?}` where `logprob` is
 * Σ log p(completion token | prefix) in nats and `tokens` the number of completion tokens; for text
 * lines `prefix_ok` says whether tokenizing prompt + completion together would have kept the prompt
 * tokens as a prefix (the scores always use the separate tokenizations; a warning goes to stderr).
 * The input formats are in score-input.ts.
 *
 * @example
 * ```sh
 * echo '{"prompt": "The capital of France is", "completion": " Paris."}' > q.jsonl
 * alpha-spin score --model ./gpt2 --data q.jsonl --backend wasm
 * # {"index":0,"line":1,"logprob":-5.81,"tokens":3,"prompt_tokens":5,"prefix_ok":true}
 * ```
 *
 * @module
 */
import process from "node:process";
import { loadBackend } from "../backends/load.ts";
import type { BackendRequest } from "../backends/types.ts";
import { applyChatTemplate } from "../models/chat-template.ts";
import { loadHfModel } from "../models/hf-load.ts";
import { loadTokenizer } from "../models/hf-tokenizer.ts";
import { loraAdapterFromRecord } from "../models/lora.ts";
import { readPeftAdapter } from "../models/peft.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { tokenizePair, type Tokenizer } from "../models/tokenizer.ts";
import { readUtf8File } from "../data/text.ts";
import { positiveInt } from "../core/config.ts";
import { ArgsError, type CommandSpec, formatHelp, parseArgs } from "./args.ts";
import { modelFolder, nonFiniteResultError } from "./model-input.ts";
import { parseScoreLines, ScoreInputError, type ScoreRequest } from "./score-input.ts";

/**
 * The command line of `alpha-spin score` (flags, help text).
 *
 * @example
 * ```ts
 * import { formatHelp } from "./args.ts";
 * console.log(formatHelp(scoreSpec));
 * ```
 */
export const scoreSpec = {
  name: "alpha-spin score",
  summary: "Σ log p(completion | prompt) and the token count of each JSONL line, under a model (and adapter)",
  flags: {
    model: {
      type: "string",
      short: "m",
      valueName: "dir",
      description: 'Hugging Face model folder (config.json + safetensors), or "embedded"',
      required: true,
    },
    data: {
      type: "string",
      short: "d",
      valueName: "file",
      description: 'JSONL: {"prompt","completion"} text or messages, or {"prompt_ids","completion_ids"}',
      required: true,
    },
    adapter: { type: "string", valueName: "dir", description: "a PEFT LoRA adapter folder to apply" },
    tokenizer: {
      type: "string",
      valueName: "dir",
      description: "folder with the tokenizer (default: --model)",
    },
    backend: {
      type: "string",
      valueName: "name",
      description: "auto, cpu, wasm, blas, webgpu, node, node-gpu",
      default: "auto",
    },
    threads: { type: "number", codec: positiveInt, valueName: "n", description: "BLAS threads of the blas backend (default 1)" },
    batchSize: { type: "number", codec: positiveInt, valueName: "n", description: "sequences per forward pass", default: 8 },
    addBos: {
      type: "boolean",
      description: "put the tokenizer's BOS before text prompts (if not already there)",
    },
    addEos: {
      type: "boolean",
      description: "put the tokenizer's EOS after text completions (if not already there)",
    },
  },
  positionals: [],
  examples: [
    "alpha-spin score --model ./gpt2 --data pairs.jsonl --backend wasm",
    "alpha-spin score --model ./TinyLlama --adapter runs/iter-1/adapter --data pairs.jsonl --add-eos",
  ],
} as const satisfies CommandSpec;

/** Parsed options of `alpha-spin score`. */
export interface ScoreArgs {
  readonly model: string;
  readonly data: string;
  readonly adapter?: string;
  readonly tokenizer?: string;
  readonly backend: BackendRequest;
  /** BLAS threads of the blas backend. */
  readonly threads?: number;
  readonly batchSize: number;
  readonly addBos: boolean;
  readonly addEos: boolean;
}

/**
 * Parse the arguments of `alpha-spin score`; "help" for --help. Throws an ArgsError (from
 * cli/args.ts) for a wrong command line.
 *
 * @example
 * ```ts
 * parseScoreArgs(["--model", "gpt2", "--data", "q.jsonl", "--batch-size=4"]); // { ..., batchSize: 4 }
 * ```
 */
export const parseScoreArgs = (args: readonly string[]): ScoreArgs | "help" => {
  const parsed = parseArgs(scoreSpec, args);
  if (parsed.help) return "help";
  const { model, data, adapter, tokenizer, backend, threads, batchSize, addBos, addEos } = parsed.flags;
  return {
    model,
    data,
    ...(adapter === undefined ? {} : { adapter }),
    ...(tokenizer === undefined ? {} : { tokenizer }),
    backend: backend as BackendRequest,
    ...(threads === undefined ? {} : { threads }),
    batchSize,
    addBos,
    addEos,
  };
};

/** Where the command writes: result lines and diagnostics. */
export interface ScoreIo {
  readonly write: (line: string) => void;
  readonly warn: (line: string) => void;
}

const defaultIo: ScoreIo = {
  write: (line) => void process.stdout.write(line + "\n"),
  warn: (line) => console.error(line),
};

/** A request made ready for the model: ids, and the boundary check of text lines. */
interface Prepared {
  readonly request: ScoreRequest;
  readonly promptIds: number[];
  readonly completionIds: number[];
  readonly prefixOk?: boolean;
  readonly warning?: string;
}

const prepare = (
  request: ScoreRequest,
  tokenizer: Tokenizer | null,
  args: ScoreArgs,
  vocabSize: number,
  positions: number,
): Prepared => {
  const at = `${args.data}:${request.line}`;
  let prepared: Prepared;
  if (request.kind === "ids") {
    prepared = { request, promptIds: request.promptIds, completionIds: request.completionIds };
  } else {
    if (tokenizer === null) throw new Error("internal: no tokenizer"); // loaded whenever a text line exists
    let prompt: string, completion: string;
    if (request.kind === "text") [prompt, completion] = [request.prompt, request.completion];
    else {
      prompt = applyChatTemplate(tokenizer, request.prompt, { addGenerationPrompt: true });
      const whole = applyChatTemplate(tokenizer, [...request.prompt, ...request.completion], {
        addGenerationPrompt: false,
      });
      if (!whole.startsWith(prompt)) {
        throw new ScoreInputError(
          `${at}: the chat template's rendering of prompt + completion does not start with its rendering of the prompt`,
        );
      }
      completion = whole.slice(prompt.length);
    }
    const pair = tokenizePair(tokenizer, prompt, completion, { addBos: args.addBos, addEos: args.addEos });
    prepared = {
      request,
      promptIds: pair.promptIds,
      completionIds: pair.completionIds,
      prefixOk: pair.prefixOk,
      ...(pair.warning === undefined ? {} : { warning: pair.warning }),
    };
  }
  for (
    const [field, ids] of [["prompt_ids", prepared.promptIds], [
      "completion_ids",
      prepared.completionIds,
    ]] as const
  ) {
    const bad = ids.findIndex((id) => id >= vocabSize);
    if (bad >= 0) {
      throw new ScoreInputError(
        `${at}: "${field}"[${bad}] = ${ids[bad]} is not in the model's vocabulary [0, ${vocabSize})`,
      );
    }
  }
  if (prepared.completionIds.length === 0) {
    throw new ScoreInputError(
      `${at}: the completion is empty (no tokens to score: its log-probability would be 0 by definition)` +
        (request.kind === "text" && !args.addEos ? "; give a completion, or use --add-eos to score the end of the answer" : ""),
    );
  }
  const length = prepared.promptIds.length + prepared.completionIds.length;
  if (length > positions) {
    throw new ScoreInputError(
      `${at}: prompt + completion is ${prepared.promptIds.length} + ${prepared.completionIds.length} = ${length} tokens, ` +
        `more than the model's ${positions} positions`,
    );
  }
  if (prepared.promptIds.length === 0) {
    throw new ScoreInputError(
      `${at}: the prompt has no tokens, so the first completion token cannot be scored` +
        (request.kind === "ids" ? "" : " (use --add-bos, or give a prompt)"),
    );
  }
  return prepared;
};

/**
 * Run `alpha-spin score` with its arguments; resolves to the exit code (0 done, 2 usage error).
 * Input and model errors are thrown with a message naming the file, line and field.
 *
 * @example
 * ```ts
 * const code = await scoreCommand(["--model", "tests/fixtures/hf-tiny-gpt2", "--data", "q.jsonl", "--backend", "cpu"]);
 * ```
 */
export async function scoreCommand(args: string[], io: ScoreIo = defaultIo): Promise<number> {
  let parsed: ScoreArgs | "help";
  try {
    parsed = parseScoreArgs(args);
  } catch (e) {
    if (!(e instanceof ArgsError)) throw e;
    io.warn(`alpha-spin score: ${e.message}`);
    return 2;
  }
  if (parsed === "help") {
    io.write(formatHelp(scoreSpec));
    return 0;
  }
  const options = { ...parsed, model: await modelFolder(parsed.model) };
  const text = await readUtf8File(options.data, "--data"); // strict UTF-8: a bad byte is refused with its line
  const requests = parseScoreLines(text, options.data);
  if (requests.length === 0) throw new ScoreInputError(`${options.data}: no lines to score (the file is empty)`);
  await loadBackend(options.backend, options.threads === undefined ? {} : { threads: options.threads });
  const model = await loadHfModel(options.model);
  let adapter = null;
  try {
    if (options.adapter !== undefined) {
      adapter = loraAdapterFromRecord(model, await readPeftAdapter(options.adapter));
    }
    const policy = new TransformerPolicy(model, adapter);
    const vocabSize = model.config.vocabSize;
    let tokenizer: Tokenizer | null = null;
    if (requests.some((r) => r.kind !== "ids")) {
      tokenizer = await loadTokenizer(options.tokenizer ?? options.model);
      if (tokenizer.vocabSize > vocabSize) {
        throw new Error(
          `the tokenizer has ${tokenizer.vocabSize} ids but the model's vocabulary has only ${vocabSize}`,
        );
      }
    }
    // Every line is checked (ids, lengths, empty completions) before any output is written.
    const prepared = requests.map((r) => prepare(r, tokenizer, options, vocabSize, model.config.maxPositions));
    const mismatches = prepared.filter((p) => p.prefixOk === false);
    if (mismatches.length > 0) {
      io.warn(`alpha-spin score: ${options.data}:${mismatches[0].request.line}: ${mismatches[0].warning}`);
      if (mismatches.length > 1) {
        io.warn(
          `alpha-spin score: the same holds for ${mismatches.length - 1} more line(s) ("prefix_ok": false)`,
        );
      }
    }
    const lines: string[] = []; // written only once every score is known to be finite
    const window = options.batchSize * 32;
    for (let start = 0; start < prepared.length; start += window) {
      const chunk = prepared.slice(start, start + window);
      // Similar lengths in one batch waste less padding; results go back to input order.
      const order = chunk.map((_, i) => i).sort((a, b) =>
        chunk[a].promptIds.length + chunk[a].completionIds.length - chunk[b].promptIds.length -
        chunk[b].completionIds.length
      );
      const scores = await policy.sequenceLogProbs(
        order.map((i) => chunk[i].promptIds),
        order.map((i) => chunk[i].completionIds),
        { batchSize: options.batchSize },
      );
      const logProbs = new Array<number>(chunk.length), counts = new Array<number>(chunk.length);
      order.forEach((i, k) => {
        logProbs[i] = scores.logProbs[k];
        counts[i] = scores.tokenCounts[k];
      });
      for (const [i, p] of chunk.entries()) {
        if (!Number.isFinite(logProbs[i])) {
          throw await nonFiniteResultError(`${options.data}:${p.request.line}`, "log-probability", logProbs[i], model, adapter);
        }
      }
      chunk.forEach((p, i) => {
        lines.push(JSON.stringify({
          index: start + i,
          line: p.request.line,
          ...(p.request.id === undefined ? {} : { id: p.request.id }),
          logprob: logProbs[i],
          tokens: counts[i],
          prompt_tokens: p.promptIds.length,
          ...(p.prefixOk === undefined ? {} : { prefix_ok: p.prefixOk }),
        }));
      });
    }
    lines.forEach((line) => io.write(line));
    return 0;
  } finally {
    adapter?.dispose();
    model.dispose();
  }
}
