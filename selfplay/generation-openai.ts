/**
 * Loser generation on an OpenAI-compatible server (`generation.engine: "openai"`): one
 * `/v1/completions` request per planned (iterate, example), the prompt sent as token ids, the
 * iterate named in `model` (served-iterates.ts loads its adapter), and the seed
 * {@link exampleSeed} — the seed the local engine gives that row with `generation.seeding:
 * "example"`, so against `alpha-spin serve` both engines give the same token ids.
 *
 * Each answer is written to `work/generate/<iterate>/<example>.json` as it arrives, and a resumed
 * iteration reads those first: a killed or failed run never asks the server twice for the same
 * (iterate, example). Requests run `concurrency` at a time with retries (engines/); a failure stops
 * new requests, lets those in flight finish and be stored, and is thrown.
 *
 * @example
 * ```ts
 * import { generateLosersOpenAi, type OpenAiLosersOptions } from "./generation-openai.ts";
 * declare const options: OpenAiLosersOptions;
 * const rows = await generateLosersOpenAi(options); // as generateLosers: grouped by iterate, in plan order
 * ```
 *
 * @module
 */
import { join } from "node:path";
import type { GenerationRequest, GenerationResult, OpenAiGenerationEngine } from "../engines/openai-generation.ts";
import type { Iterate } from "../samplers/history.ts";
import { exampleSeed, type GenerateLosersOptions, type GenerationRow } from "./generation.ts";
import type { PreparedExample } from "./examples.ts";

/** Options of {@link generateLosersOpenAi}: those of the local engine that apply, and the server. */
export interface OpenAiLosersOptions extends
  Pick<
    GenerateLosersOptions,
    "iteration" | "groups" | "examples" | "tokenizer" | "generation" | "maxLength" | "rng" | "workDir" | "onProgress" | "signal"
  > {
  readonly engine: OpenAiGenerationEngine;
  /** The served name of an iterate (its adapter loaded on the server). */
  readonly servedName: (iterate: Iterate) => Promise<string>;
  /** The model's positions when they bound prompt + answer (gpt2), else null. */
  readonly maxPositions: number | null;
  readonly readRow: (path: string) => Promise<GenerationRow | null>;
  readonly writeRow: (path: string, row: GenerationRow) => Promise<void>;
}

/** Most new tokens of one example: as the local engine's bound for a batch of that prompt alone. */
const maxTokensOf = (options: OpenAiLosersOptions, example: PreparedExample): number => {
  const n = example.promptIds.length;
  let max = Math.max(1, Math.min(options.generation.maxNewTokens, options.maxLength - n));
  if (options.maxPositions !== null) max = Math.min(max, options.maxPositions - n + 1);
  if (max < 1) throw new RangeError(`example ${example.id}: a prompt of ${n} tokens leaves no room to generate within ${options.maxPositions} positions`);
  return max;
};

/**
 * Generate the planned losers on the server (see the module doc).
 *
 * @example
 * ```ts
 * declare const options: OpenAiLosersOptions;
 * const rows = await generateLosersOpenAi(options);
 * ```
 */
export const generateLosersOpenAi = async (options: OpenAiLosersOptions): Promise<GenerationRow[]> => {
  const total = options.groups.reduce((s, g) => s + g.exampleIds.length, 0);
  const { temperature, topK, topP, minP } = options.generation;
  const rows = new Map<string, GenerationRow>();
  const pending: { request: GenerationRequest; iterate: Iterate; example: PreparedExample; path: string }[] = [];
  let done = 0;
  for (const group of options.groups) {
    for (const id of group.exampleIds) {
      const example = options.examples[Number(id)];
      const path = join(options.workDir, group.iterate.id, `${example.index}.json`);
      const stored = await options.readRow(path);
      if (stored !== null) {
        rows.set(`${group.iterate.id}/${example.index}`, stored);
        await options.onProgress?.(++done, total);
        continue;
      }
      const request: GenerationRequest = {
        id: `${group.iterate.id}/example ${example.index} (${example.id})`,
        promptIds: example.promptIds,
        maxTokens: maxTokensOf(options, example),
        temperature,
        topP,
        ...(topK > 0 ? { topK } : {}),
        ...(minP > 0 ? { minP } : {}),
        seed: exampleSeed(options.rng, group.iterate.id, example.index),
      };
      pending.push({ request, iterate: group.iterate, example, path });
    }
  }
  const byId = new Map(pending.map((p) => [p.request.id, p]));
  const store = async (result: GenerationResult): Promise<void> => {
    const p = byId.get(result.id)!;
    const row: GenerationRow = {
      exampleIndex: p.example.index,
      exampleId: p.example.id,
      iterate: p.iterate.index,
      iterateId: p.iterate.id,
      sampler: "plain",
      ids: result.tokenIds,
      text: options.tokenizer.decode(result.tokenIds, { skipSpecialTokens: true }),
      finished: result.finishReason === "stop",
      generatedAt: options.iteration,
    };
    await options.writeRow(p.path, row);
    rows.set(`${p.iterate.id}/${p.example.index}`, row);
    await options.onProgress?.(++done, total);
    // A stop asked for: this answer is stored; no further request starts (the engine stops on a throw).
    if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new Error("aborted");
  };
  if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new Error("aborted");
  try {
    const names = new Map<string, string>();
    for (const p of pending) if (!names.has(p.iterate.id)) names.set(p.iterate.id, await options.servedName(p.iterate));
    await options.engine.generate(pending.map((p) => ({ ...p.request, model: names.get(p.iterate.id)! })), store);
  } catch (e) {
    if (options.signal?.aborted) throw e;
    throw new Error(
      `generation.openai (${options.engine.config.baseUrl}): ${(e as Error).message}. ${done} of ${total} answers are stored ` +
        `in ${options.workDir}; resume the run (alpha-spin train --resume) to ask only for the rest`,
      { cause: e },
    );
  }
  return options.groups.flatMap((g) => g.exampleIds.map((id) => rows.get(`${g.iterate.id}/${options.examples[Number(id)].index}`)!));
};
