/**
 * Hugging Face tokenizers (`tokenizer.json` + `tokenizer_config.json`) through the pure-JS
 * `@huggingface/tokenizers` package (BPE, WordPiece, Unigram and WordLevel models with their
 * normalizers, pre-tokenizers, post-processors and decoders), behind the library's
 * {@link Tokenizer} interface; and {@link loadTokenizer}, which picks the right tokenizer for a
 * model folder.
 *
 * Decoding cleans up tokenization spaces (" ." → ".") only when tokenizer_config.json sets
 * `clean_up_tokenization_spaces: true` (recent transformers' default is false; the JS package's
 * is true), so byte-level tokenizers decode back to exactly the encoded text.
 *
 * Special tokens come from tokenizer_config.json (`bos_token`, `eos_token`, `pad_token`,
 * `unk_token`; a string or an `{"content": …}` object). The chat template comes from its
 * `chat_template` (a string, or a list of named templates: the one named "default", else the first),
 * else from a `chat_template.jinja` file, else from `chat_template.json`.
 *
 * @example
 * ```ts
 * import { loadTokenizer } from "./hf-tokenizer.ts";
 * const tok = await loadTokenizer("./SmolLM-135M-Instruct");
 * const ids = tok.encode("Hello world");
 * console.log(tok.decode(ids), tok.eosId, tok.chatTemplate !== undefined);
 * ```
 *
 * @module
 */
import { Tokenizer as HfTokenizerClass } from "@huggingface/tokenizers";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathExists, readJsonObject } from "./fs.ts";
import {
  byteTokenizerClass,
  byteTokenizerFromConfig,
  type DecodeOptions,
  type EncodeOptions,
  type Tokenizer,
} from "./tokenizer.ts";

/**
 * The part of the @huggingface/tokenizers `Tokenizer` used here, typed locally: the package's
 * declaration files use extension-less relative imports, which TypeScript's NodeNext resolution
 * does not follow (they would type everything as `any`).
 */
export interface HfTokenizerCore {
  encode(
    text: string,
    options?: { add_special_tokens?: boolean },
  ): { ids: (number | undefined)[]; tokens: string[] };
  decode(
    ids: number[],
    options?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean },
  ): string;
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
  get_vocab(withAddedTokens?: boolean): Map<string, number>;
}

/** A special token in tokenizer_config.json: a string, or an AddedToken object with `content`. */
const tokenText = (value: unknown): string | undefined => {
  if (typeof value === "string") return value;
  if (
    typeof value === "object" && value !== null &&
    typeof (value as { content?: unknown }).content === "string"
  ) {
    return (value as { content: string }).content;
  }
  return undefined;
};

/**
 * The chat template string from a tokenizer_config.json value: a string, or a list of
 * `{name, template}` (the "default" one, else the first).
 */
const templateFrom = (value: unknown): string | undefined => {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    const named = value.filter((t): t is { name?: unknown; template: string } =>
      typeof t === "object" && t !== null && typeof (t as { template?: unknown }).template === "string"
    );
    return (named.find((t) => t.name === "default") ?? named[0])?.template;
  }
  return undefined;
};

/**
 * A Hugging Face tokenizer behind the library's {@link Tokenizer} interface.
 *
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 * const tokenizerJson = JSON.parse(await readFile("zephyr-7b-beta/tokenizer.json", "utf8"));
 * const tok = new HfTokenizer(tokenizerJson, { eos_token: "</s>" });
 * tok.decode(tok.encode("Hello")); // "Hello"
 * ```
 */
export class HfTokenizer implements Tokenizer {
  /** The underlying @huggingface/tokenizers object (for anything not wrapped here). */
  readonly core: HfTokenizerCore;
  /** The tokenizer_config.json object (empty when there was none). */
  readonly config: Readonly<Record<string, unknown>>;
  readonly vocabSize: number;
  readonly bosId?: number;
  readonly eosId?: number;
  readonly padId?: number;
  readonly unkId?: number;
  readonly bosToken?: string;
  readonly eosToken?: string;
  readonly padToken?: string;
  readonly chatTemplate?: string;

  /**
   * @example
   * ```ts
   * import { readFile } from "node:fs/promises";
   * const tokenizerJsonText = await readFile("zephyr-7b-beta/tokenizer.json", "utf8");
   * const tok = new HfTokenizer(JSON.parse(tokenizerJsonText), { eos_token: "</s>" });
   * ```
   */
  constructor(
    tokenizerJson: Record<string, unknown>,
    tokenizerConfig: Record<string, unknown> = {},
    chatTemplate?: string,
  ) {
    const model = (tokenizerJson.model ?? {}) as Record<string, unknown>;
    const normalized: Record<string, unknown> = { ...tokenizerConfig };
    for (
      const key of [
        "bos_token",
        "eos_token",
        "pad_token",
        "unk_token",
        "sep_token",
        "cls_token",
        "mask_token",
      ]
    ) {
      const text = tokenText(tokenizerConfig[key]);
      if (text === undefined) delete normalized[key];
      else normalized[key] = text;
    }
    // The package reads a WordLevel model's unknown token from the config, not from the model.
    if (normalized.unk_token === undefined && typeof model.unk_token === "string") {
      normalized.unk_token = model.unk_token;
    }
    this.core = new HfTokenizerClass(tokenizerJson, normalized) as unknown as HfTokenizerCore;
    this.config = tokenizerConfig;
    let largest = -1;
    for (const id of this.core.get_vocab(true).values()) largest = Math.max(largest, id);
    this.vocabSize = largest + 1;
    const idOf = (key: string): [string, number] | undefined => {
      const text = normalized[key] as string | undefined;
      if (text === undefined) return undefined;
      const id = this.core.token_to_id(text);
      return id === undefined ? undefined : [text, id];
    };
    const bos = idOf("bos_token"), eos = idOf("eos_token"), pad = idOf("pad_token"), unk = idOf("unk_token");
    if (bos) [this.bosToken, this.bosId] = bos;
    if (eos) [this.eosToken, this.eosId] = eos;
    if (pad) [this.padToken, this.padId] = pad;
    if (unk) this.unkId = unk[1];
    const template = chatTemplate ?? templateFrom(tokenizerConfig.chat_template);
    if (template !== undefined) this.chatTemplate = template;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const encoding = this.core.encode(text, { add_special_tokens: options.addSpecialTokens ?? false });
    const missing = encoding.ids.findIndex((id) => typeof id !== "number");
    if (missing >= 0) {
      throw new RangeError(
        `tokenizer: the piece ${JSON.stringify(encoding.tokens[missing])} of ${
          JSON.stringify(text.slice(0, 80))
        } has no id ` +
          `(it is not in the vocabulary and the tokenizer has no unknown token)`,
      );
    }
    return encoding.ids as number[];
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    ids.forEach((id, k) => {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new RangeError(`tokenizer.decode: id ${id} at position ${k} is not in [0, ${this.vocabSize})`);
      }
    });
    if (ids.length === 0) return ""; // the package refuses an empty list
    return this.core.decode([...ids], {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: this.config.clean_up_tokenization_spaces === true,
    });
  }

  tokenToId(token: string): number | undefined {
    return this.core.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.core.id_to_token(id);
  }
}

/**
 * Read a model folder's `tokenizer.json`, `tokenizer_config.json` (optional) and chat template
 * (tokenizer_config's `chat_template`, else `chat_template.jinja`, else `chat_template.json`).
 *
 * @example
 * ```ts
 * const tok = await loadHfTokenizer("./Qwen2-0.5B-Instruct");
 * ```
 */
export const loadHfTokenizer = async (dir: string): Promise<HfTokenizer> => {
  const tokenizerPath = join(dir, "tokenizer.json");
  if (!(await pathExists(tokenizerPath))) throw new Error(`${dir} has no tokenizer.json`);
  const tokenizerJson = await readJsonObject(tokenizerPath);
  const configPath = join(dir, "tokenizer_config.json");
  const config = (await pathExists(configPath)) ? await readJsonObject(configPath) : {};
  let template = templateFrom(config.chat_template);
  if (template === undefined && (await pathExists(join(dir, "chat_template.jinja")))) {
    template = await readFile(join(dir, "chat_template.jinja"), "utf8");
  }
  if (template === undefined && (await pathExists(join(dir, "chat_template.json")))) {
    template = templateFrom((await readJsonObject(join(dir, "chat_template.json"))).chat_template);
  }
  try {
    return new HfTokenizer(tokenizerJson, config, template);
  } catch (e) {
    throw new Error(`${tokenizerPath}: cannot build the tokenizer: ${(e as Error).message}`);
  }
};

/**
 * The tokenizer of a model folder: a {@link ByteTokenizer} when tokenizer_config.json says
 * `"tokenizer_class": "AlphaSpinByteTokenizer"`, else the Hugging Face tokenizer of tokenizer.json.
 * The error for a folder with neither says what to provide.
 *
 * @example
 * ```ts
 * const tok = await loadTokenizer("runs/tiny-model");
 * ```
 */
export const loadTokenizer = async (dir: string): Promise<Tokenizer> => {
  const configPath = join(dir, "tokenizer_config.json");
  if (await pathExists(configPath)) {
    const config = await readJsonObject(configPath);
    if (config.tokenizer_class === byteTokenizerClass) return byteTokenizerFromConfig(config, configPath);
  }
  if (await pathExists(join(dir, "tokenizer.json"))) return loadHfTokenizer(dir);
  if (!(await pathExists(dir))) throw new Error(`model folder ${dir} does not exist`);
  throw new Error(
    `${dir} has no tokenizer: expected tokenizer.json (Hugging Face), or a tokenizer_config.json with ` +
      `"tokenizer_class": "${byteTokenizerClass}" (byte-level)`,
  );
};
