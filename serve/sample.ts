/**
 * The choices of one request: `n` samples for each prompt, generated in one KV-cached batch by
 * models/generate.ts (row p·n + j is choice j of prompt p; each row samples from its own stream
 * forked from the seed, so a seeded request gives the same text alone, batched or streamed).
 * Stop strings end a row as soon as its text reaches one; `onText` receives each row's text as it
 * becomes safe to send (stop-text.ts), for streaming.
 *
 * @example
 * ```ts
 * import { sampleChoices } from "./sample.ts";
 * import type { ModelRegistry } from "./registry.ts";
 * import { samplingParams } from "./params.ts";
 * declare const models: ModelRegistry;
 * const params = samplingParams({ max_tokens: 16, seed: 1 }, 16);
 * const choices = await sampleChoices(models.get("base"), models, [[258, 72, 105]], params);
 * choices[0].text; // the first prompt's first choice
 * ```
 *
 * @module
 */
import type { ModelRegistry, ServedModel } from "./registry.ts";
import type { SamplingParams } from "./params.ts";
import { StopText } from "./stop-text.ts";

/** One generated choice. */
export interface SampledChoice {
  /** Which prompt of the request it answers. */
  readonly prompt: number;
  /** The generated token ids (an EOS that ended it included; none past a stop string). */
  readonly ids: number[];
  /** The answer text: special tokens skipped, cut before a stop string. */
  readonly text: string;
  /** "stop": EOS or stop string; "length": `max_tokens` reached. */
  readonly finishReason: "stop" | "length";
}

/** Options of {@link sampleChoices}. */
export interface SampleHooks {
  /** Called with newly safe text of a row (row = prompt·n + choice). */
  readonly onText?: (row: number, text: string) => void;
  /** Polled after each token: true stops generating (e.g. the client went away). */
  readonly aborted?: () => boolean;
}

/**
 * Generate `params.n` choices for each prompt (token ids, each at least one token).
 *
 * @example
 * ```ts
 * import type { ModelRegistry, ServedModel } from "./registry.ts";
 * import type { SamplingParams } from "./params.ts";
 * declare const model: ServedModel;
 * declare const models: ModelRegistry;
 * declare const prompts: number[][];
 * declare const params: SamplingParams;
 * declare const send: (row: number, text: string) => void; // e.g. one server-sent event
 * await sampleChoices(model, models, prompts, params, { onText: (row, text) => send(row, text) });
 * ```
 */
export const sampleChoices = async (
  model: ServedModel,
  models: ModelRegistry,
  prompts: readonly (readonly number[])[],
  settings: SamplingParams,
  hooks: SampleHooks = {},
): Promise<SampledChoice[]> => {
  const rows = prompts.flatMap((p) => Array.from({ length: settings.n }, () => p));
  const decode = (ids: readonly number[]): string =>
    models.tokenizer.decode(ids, { skipSpecialTokens: true });
  const texts = rows.map(() => new StopText(decode, settings.stop));
  if (settings.maxTokens === 0) {
    return rows.map((_, r) => ({
      prompt: Math.floor(r / settings.n),
      ids: [],
      text: "",
      finishReason: "length",
    }));
  }
  const eos = models.eosIds;
  const ended = new Array<boolean>(rows.length).fill(false);
  await model.policy.generate(rows, {
    ...settings.sampling,
    maxNewTokens: settings.maxTokens,
    eosTokenIds: eos,
    seed: settings.seed,
    onToken: (row, id) => {
      if (eos.includes(id)) {
        ended[row] = true;
        texts[row].ids.push(id);
      } else if (texts[row].push(id)) ended[row] = true;
      const fresh = texts[row].take(ended[row]);
      if (fresh !== "") hooks.onText?.(row, fresh);
      return ended[row] || (hooks.aborted?.() ?? false);
    },
  });
  return rows.map((_, r) => {
    const rest = texts[r].take(true);
    if (rest !== "") hooks.onText?.(r, rest);
    return {
      prompt: Math.floor(r / settings.n),
      ids: texts[r].ids,
      text: texts[r].text,
      finishReason: ended[r] ? "stop" : "length",
    };
  });
};
