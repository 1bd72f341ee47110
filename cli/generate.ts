/**
 * `alpha-spin generate --model DIR [--adapter DIR] --data FILE --out FILE [sampling options]`:
 * sample one completion per prompt with a model (optionally with a PEFT LoRA adapter, e.g. an
 * iterate's `iter-<t>/adapter`), batched and KV-cached, and write them as JSON lines:
 * `{"index", "prompt_id"?, "prompt", "completion", "finished", "tokens"}`.
 *
 * Input rows (JSONL, or Parquet by extension): `{"prompt": "…"}`, `{"prompt": [messages]}` or
 * UltraChat's `{"messages": [...]}` (the turns before the first assistant turn are the prompt).
 * Message prompts are rendered with the tokenizer's chat template; a bad row is reported with its
 * file:line and field. The output file is written atomically at the end.
 *
 * @example
 * ```sh
 * alpha-spin generate --model ./gpt2 --adapter runs/demo/iter-2/adapter --data prompts.jsonl --out samples.jsonl --temperature 0.7 --top-p 0.9
 * ```
 *
 * @module
 */
import { loadBackend } from "../backends/load.ts";
import type { BackendRequest } from "../backends/types.ts";
import { checkWritable } from "../data/fs-errors.ts";
import { DataError, type DataProblem, readJsonlRows, writeJsonlAtomic } from "../data/jsonl.ts";
import { readParquetRows } from "../data/parquet.ts";
import { checkTurns, detectDataFormat } from "../data/sft.ts";
import { applyChatTemplate } from "../models/chat-template.ts";
import { loadHfModel } from "../models/hf-load.ts";
import { loadTokenizer } from "../models/hf-tokenizer.ts";
import { loraAdapterFromRecord } from "../models/lora.ts";
import { readPeftAdapter } from "../models/peft.ts";
import { TransformerPolicy } from "../models/policy.ts";
import type { Tokenizer } from "../models/tokenizer.ts";
import { checkTokenizerFits } from "../selfplay/examples.ts";
import { nonNegativeInt, positiveInt, safeInteger } from "../core/config.ts";
import { ArgsError, type CommandSpec, formatHelp, parseArgs } from "./args.ts";
import { firstNonFiniteWeight, modelFolder } from "./model-input.ts";
import { startProgress } from "./progress.ts";

/** The flags of `alpha-spin generate`. */
export const generateCommandSpec = {
  name: "alpha-spin generate",
  summary: "sample completions for the prompts of a data file with a model (and an optional LoRA adapter)",
  flags: {
    model: { type: "string", short: "m", valueName: "dir", description: 'Hugging Face model folder, or "embedded"', required: true },
    adapter: { type: "string", valueName: "dir", description: "PEFT LoRA adapter folder (e.g. runs/<name>/iter-<t>/adapter)" },
    tokenizer: { type: "string", valueName: "dir", description: "tokenizer folder (default: the model folder)" },
    data: { type: "string", short: "d", valueName: "file", description: "prompts: JSONL or Parquet rows with prompt or messages", required: true },
    out: { type: "string", short: "o", valueName: "file", description: "where the completions go (JSON lines)", required: true },
    maxNewTokens: { type: "number", codec: positiveInt, valueName: "n", description: "most new tokens per prompt (capped to the model's positions after the prompt)", default: 256 },
    temperature: { type: "number", valueName: "t", description: "sampling temperature (0 = greedy)", default: 1 },
    topK: { type: "number", codec: nonNegativeInt, valueName: "k", description: "keep the k most likely tokens (0 = all)", default: 0 },
    topP: { type: "number", valueName: "p", description: "nucleus sampling mass", default: 1 },
    minP: { type: "number", valueName: "p", description: "drop tokens below p times the top probability", default: 0 },
    seed: { type: "number", codec: safeInteger, valueName: "n", description: "sampling seed", default: 0 },
    batchSize: { type: "number", codec: positiveInt, valueName: "n", description: "prompts per batch", default: 8 },
    maxExamples: { type: "number", codec: positiveInt, valueName: "n", description: "only the first n rows" },
    backend: { type: "string", valueName: "name", description: "tfjs backend", default: "auto" },
    threads: { type: "number", codec: positiveInt, valueName: "n", description: "BLAS threads of the blas backend (default 1)" },
    quiet: { type: "boolean", short: "q", description: "no progress output" },
  },
  positionals: [],
  examples: [
    "alpha-spin generate --model ./gpt2 --data prompts.jsonl --out samples.jsonl",
    "alpha-spin generate --model ./TinyLlama --adapter runs/demo/iter-2/adapter --data test.jsonl --out s.jsonl --temperature 0",
  ],
} as const satisfies CommandSpec;

/** A prompt read from a data row. */
interface PromptRow {
  readonly where: string;
  readonly id: string | null;
  readonly text: string | null;
  readonly messages: readonly { role: string; content: string }[] | null;
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u);

const promptOf = (value: unknown, where: string): PromptRow => {
  const fail = (message: string): never => {
    throw new DataError([{ where, message }]);
  };
  if (!isRecord(value)) return fail("a row must be a JSON object");
  const idValue = value.prompt_id ?? value.id;
  const id = typeof idValue === "string" || typeof idValue === "number" ? String(idValue) : null;
  if ("prompt" in value) {
    if (typeof value.prompt === "string") {
      return value.prompt.trim() === "" ? fail('empty "prompt"') : { where, id, text: value.prompt, messages: null };
    }
    const turns = checkTurns(value.prompt, where, "prompt");
    if (turns.length === 0 || turns[turns.length - 1].role !== "user") fail('a conversational "prompt" must end with a user turn');
    return { where, id, text: null, messages: turns };
  }
  if ("messages" in value) {
    const turns = checkTurns(value.messages, where, "messages");
    const firstAnswer = turns.findIndex((m) => m.role === "assistant");
    const prompt = firstAnswer < 0 ? turns : turns.slice(0, firstAnswer);
    if (prompt.length === 0 || prompt[prompt.length - 1].role !== "user") fail('"messages" has no user turn before the first answer');
    return { where, id, text: null, messages: prompt };
  }
  return fail('missing field "prompt" (or "messages")');
};

const readPrompts = async (path: string, maxRows: number | undefined): Promise<PromptRow[]> => {
  const rows = detectDataFormat(path) === "parquet"
    ? await readParquetRows(path, { maxRows })
    : await (async () => {
      const out: { where: string; value: unknown }[] = [];
      for await (const row of readJsonlRows(path, { maxRows })) out.push(row);
      return out;
    })();
  const prompts: PromptRow[] = [], problems: DataProblem[] = [];
  let more = 0;
  for (const { where, value } of rows) {
    try {
      prompts.push(promptOf(value, where));
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      if (problems.length < 10) problems.push(...e.problems);
      else more++;
    }
  }
  if (problems.length > 0) throw new DataError(problems, more);
  return prompts;
};

const renderPrompt = (tokenizer: Tokenizer, row: PromptRow): string => {
  if (row.text !== null) return row.text;
  if (tokenizer.chatTemplate !== undefined) return applyChatTemplate(tokenizer, row.messages!, { addGenerationPrompt: true });
  if (row.messages!.length === 1) return row.messages![0].content;
  throw new DataError([{ where: row.where, message: "a multi-turn prompt needs a tokenizer with a chat template" }]);
};

/**
 * The new-token budgets of the batches that `maxNewTokens` does not fit: every batch's prompts are
 * left-padded to its longest, and prompt + completion must fit the model's positions (so that a
 * completion can be scored afterwards). Empty when no batch needs capping.
 */
const capNewTokens = (ids: readonly number[][], batchSize: number, maxNewTokens: number, positions: number): number[] => {
  const caps: number[] = [];
  for (let start = 0; start < ids.length; start += batchSize) {
    const room = positions - Math.max(...ids.slice(start, start + batchSize).map((p) => p.length));
    if (room < maxNewTokens) caps.push(room);
  }
  return caps;
};

/**
 * Run `alpha-spin generate` on its arguments; resolves to the exit code (0 done, 2 bad arguments).
 *
 * @example
 * ```ts
 * await generateCommand(["--model", "m", "--data", "p.jsonl", "--out", "s.jsonl", "--backend", "cpu"]);
 * ```
 */
export const generateCommand = async (args: string[]): Promise<number> => {
  let parsed;
  try {
    parsed = parseArgs(generateCommandSpec, args); // every count and the seed decoded by the config's codecs
  } catch (e) {
    if (e instanceof ArgsError) {
      console.error(e.message);
      return 2;
    }
    throw e;
  }
  if (parsed.help) {
    console.log(formatHelp(generateCommandSpec));
    return 0;
  }
  const f = { ...parsed.flags, model: await modelFolder(parsed.flags.model) };
  const prompts = await readPrompts(f.data, f.maxExamples);
  if (prompts.length === 0) throw new DataError([{ where: f.data, message: "no prompts (the file is empty)" }]);
  await checkWritable(f.out, "--out"); // before the model runs, not after
  await loadBackend(f.backend as BackendRequest, f.threads === undefined ? {} : { threads: f.threads });
  const model = await loadHfModel(f.model);
  let adapter = null;
  try {
    if (f.adapter !== undefined) adapter = loraAdapterFromRecord(model, await readPeftAdapter(f.adapter));
    const positions = model.config.maxPositions;
    const tokenizer = await loadTokenizer(f.tokenizer ?? f.model);
    checkTokenizerFits(tokenizer, model.config.vocabSize);
    const broken = await firstNonFiniteWeight(model, adapter);
    if (broken !== null) throw new Error(`the weights hold NaN or infinite values (first: ${broken}): nothing to sample from`);
    const policy = new TransformerPolicy(model, adapter);
    const ids = prompts.map((row) => {
      const encoded = tokenizer.encode(renderPrompt(tokenizer, row));
      if (tokenizer.bosId !== undefined && encoded[0] !== tokenizer.bosId) encoded.unshift(tokenizer.bosId);
      if (encoded.length === 0) throw new DataError([{ where: row.where, message: "the prompt has no tokens" }]);
      if (encoded.length >= positions) {
        throw new DataError([{
          where: row.where,
          message: `the prompt is ${encoded.length} tokens, leaving no room to generate within the model's ${positions} positions`,
        }]);
      }
      return encoded;
    });
    const capped = capNewTokens(ids, f.batchSize, f.maxNewTokens, positions);
    if (capped.length > 0) {
      console.error(
        `alpha-spin generate: --max-new-tokens ${f.maxNewTokens} does not fit the model's ${positions} positions after the prompt: ` +
          `capped to ${Math.min(...capped)}${Math.min(...capped) === Math.max(...capped) ? "" : `..${Math.max(...capped)}`} new tokens ` +
          `(positions minus the longest prompt of each batch)`,
      );
    }
    const eos = [...new Set([...model.config.eosTokenIds, ...(tokenizer.eosId === undefined ? [] : [tokenizer.eosId])])];
    const sampling = f.temperature === 0
      ? { greedy: true }
      : { temperature: f.temperature, topK: f.topK === 0 ? Infinity : f.topK, topP: f.topP, minP: f.minP };
    const progress = startProgress("generate", prompts.length, { quiet: f.quiet });
    const out: Record<string, unknown>[] = [];
    let rng;
    for (let start = 0; start < ids.length; start += f.batchSize) {
      const batch = ids.slice(start, start + f.batchSize);
      const result = await policy.generate(batch, {
        ...sampling,
        maxNewTokens: Math.min(f.maxNewTokens, positions - Math.max(...batch.map((p) => p.length))),
        eosTokenIds: eos,
        ...(rng === undefined ? { seed: f.seed } : { rng }),
      });
      rng = result.rng;
      result.completions.forEach((completion, i) => {
        const row = prompts[start + i];
        out.push({
          index: start + i,
          ...(row.id === null ? {} : { prompt_id: row.id }),
          prompt: row.text ?? row.messages,
          completion: tokenizer.decode(completion, { skipSpecialTokens: true }),
          finished: result.finished[i],
          tokens: completion.length,
        });
      });
      progress.tick(batch.length);
    }
    progress.stop();
    await writeJsonlAtomic(f.out, out);
    return 0;
  } finally {
    adapter?.dispose();
    model.dispose();
  }
};
