/**
 * Tokenizers: the interface the rest of the library uses and a byte-level tokenizer for small
 * self-made models. The prompt/completion boundary check lives in prompt-prefix.ts and is
 * re-exported here.
 *
 * `encode` turns text into ids WITHOUT adding special tokens (no BOS, no EOS) unless asked: chat
 * templates usually write the BOS into the text already, and the scoring code adds BOS/EOS
 * explicitly ({@link tokenizePair}). Special-token strings that appear in the text (e.g. `<|eos|>`
 * written by a chat template) become their ids.
 *
 * The boundary problem: a subword tokenizer may merge the last characters of a prompt with the first
 * characters of its completion, so tokens(prompt + completion) need not start with tokens(prompt).
 * Scoring the completion then mis-attributes a token. {@link tokenizePair} avoids it as TRL does
 * (prompt and completion tokenized separately, concatenated as ids) and
 * {@link checkPromptPrefix} reports when the joint tokenization would have differed.
 *
 * @example
 * ```ts
 * import { ByteTokenizer, tokenizePair } from "./tokenizer.ts";
 * const tok = new ByteTokenizer();
 * tok.encode("hé");                // [104, 195, 169]
 * tok.decode([104, 195, 169, 256]); // "hé<|eos|>"
 * tokenizePair(tok, "Q: 1+1?", " 2", { addEos: true }).completionIds; // [32, 50, 256]
 * ```
 *
 * @module
 */

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Add the tokenizer's usual special tokens (e.g. BOS) as Hugging Face's `add_special_tokens`. Default false. */
  readonly addSpecialTokens?: boolean;
}

/** Options of {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /** Leave special tokens (BOS, EOS, pad, …) out of the text. Default false. */
  readonly skipSpecialTokens?: boolean;
}

/** What the library needs from a tokenizer. */
export interface Tokenizer {
  /** Number of ids (the largest id + 1); the model's vocabulary must be at least this large. */
  readonly vocabSize: number;
  /** Ids of `text` (no special tokens added unless `addSpecialTokens`). */
  encode(text: string, options?: EncodeOptions): number[];
  /** Text of `ids`. */
  decode(ids: readonly number[], options?: DecodeOptions): string;
  readonly bosId?: number;
  readonly eosId?: number;
  readonly padId?: number;
  /** The id of one token string (e.g. a special token), or undefined. */
  tokenToId?(token: string): number | undefined;
  /** The token string of one id (e.g. "</s>" for the EOS), or undefined. */
  idToToken?(id: number): string | undefined;
  /** The Jinja chat template that comes with the tokenizer (tokenizer_config.json), if any. */
  readonly chatTemplate?: string;
}

/** Options of {@link ByteTokenizer}. */
export interface ByteTokenizerOptions {
  /** Special tokens, given ids 256, 257, … in this order. Default ["<|eos|>", "<|pad|>", "<|bos|>"]. */
  readonly specialTokens?: readonly string[];
  /** Which special token is the end of sequence (null: none). Default "<|eos|>" when present. */
  readonly eosToken?: string | null;
  /** Which special token pads (null: none). Default "<|pad|>" when present. */
  readonly padToken?: string | null;
  /** Which special token begins a sequence (null: none). Default "<|bos|>" when present. */
  readonly bosToken?: string | null;
  /** Add the BOS when `encode` is asked for special tokens. Default true. */
  readonly addBosToken?: boolean;
  /** A Jinja chat template to carry along (see chat-template.ts). */
  readonly chatTemplate?: string;
}

/**
 * The default special tokens of {@link ByteTokenizer}: ids 256, 257, 258.
 *
 * @example
 * ```ts
 * new ByteTokenizer({ specialTokens: [...defaultByteSpecialTokens, "<|user|>"] }).vocabSize; // 260
 * ```
 */
export const defaultByteSpecialTokens: readonly string[] = ["<|eos|>", "<|pad|>", "<|bos|>"];

/**
 * Ids 0 … 255 are the UTF-8 bytes of the text; ids 256, 257, … are special tokens. Any text
 * round-trips exactly; decoding an id sequence that is not valid UTF-8 gives U+FFFD for the bad bytes.
 *
 * @example
 * ```ts
 * const tok = new ByteTokenizer({ specialTokens: ["</s>"], eosToken: "</s>" });
 * tok.vocabSize;        // 257
 * tok.encode("a</s>");  // [97, 256]
 * ```
 */
export class ByteTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly specialTokens: readonly string[];
  readonly bosId?: number;
  readonly eosId?: number;
  readonly padId?: number;
  readonly addBosToken: boolean;
  readonly chatTemplate?: string;
  readonly #specialIds: ReadonlyMap<string, number>;
  /** Special strings, longest first, for greedy matching in text. */
  readonly #byLength: readonly string[];

  constructor(options: ByteTokenizerOptions = {}) {
    const specials = options.specialTokens ?? defaultByteSpecialTokens;
    if (new Set(specials).size !== specials.length) {
      throw new RangeError(`ByteTokenizer: duplicate special tokens ${JSON.stringify(specials)}`);
    }
    if (specials.some((s) => s.length === 0)) throw new RangeError("ByteTokenizer: a special token is empty");
    this.specialTokens = [...specials];
    this.#specialIds = new Map(specials.map((s, i) => [s, 256 + i]));
    this.#byLength = [...specials].sort((a, b) => b.length - a.length);
    this.vocabSize = 256 + specials.length;
    const idOf = (given: string | null | undefined, fallback: string, role: string): number | undefined => {
      const name = given === undefined ? (this.#specialIds.has(fallback) ? fallback : null) : given;
      if (name === null) return undefined;
      const id = this.#specialIds.get(name);
      if (id === undefined) {
        throw new RangeError(
          `ByteTokenizer: ${role} token ${JSON.stringify(name)} is not among the special tokens`,
        );
      }
      return id;
    };
    this.eosId = idOf(options.eosToken, "<|eos|>", "eos");
    this.padId = idOf(options.padToken, "<|pad|>", "pad");
    this.bosId = idOf(options.bosToken, "<|bos|>", "bos");
    this.addBosToken = options.addBosToken ?? true;
    if (options.chatTemplate !== undefined) this.chatTemplate = options.chatTemplate;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (options.addSpecialTokens && this.addBosToken && this.bosId !== undefined) out.push(this.bosId);
    const encoder = new TextEncoder();
    let plainStart = 0;
    const flush = (end: number): void => {
      if (end > plainStart) { for (const b of encoder.encode(text.slice(plainStart, end))) out.push(b); }
    };
    for (let i = 0; i < text.length;) {
      const special = this.#byLength.find((s) => text.startsWith(s, i));
      if (special === undefined) {
        i++;
        continue;
      }
      flush(i);
      out.push(this.#specialIds.get(special)!);
      i += special.length;
      plainStart = i;
    }
    flush(text.length);
    return out;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const decoder = new TextDecoder();
    let text = "";
    let bytes: number[] = [];
    const flush = (): void => {
      if (bytes.length > 0) text += decoder.decode(new Uint8Array(bytes));
      bytes = [];
    };
    ids.forEach((id, k) => {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new RangeError(
          `ByteTokenizer.decode: id ${id} at position ${k} is not in [0, ${this.vocabSize})`,
        );
      }
      if (id < 256) bytes.push(id);
      else {
        flush();
        if (!options.skipSpecialTokens) text += this.specialTokens[id - 256];
      }
    });
    flush();
    return text;
  }

  tokenToId(token: string): number | undefined {
    const special = this.#specialIds.get(token);
    if (special !== undefined) return special;
    const bytes = new TextEncoder().encode(token);
    return bytes.length === 1 ? bytes[0] : undefined;
  }

  idToToken(id: number): string | undefined {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) return undefined;
    return id < 256
      ? (id < 128 ? String.fromCharCode(id) : `<0x${id.toString(16).toUpperCase().padStart(2, "0")}>`)
      : this.specialTokens[id - 256];
  }

  /**
   * The tokenizer_config.json that {@link byteTokenizerFromConfig} (and `loadTokenizer`) reads back.
   *
   * @example
   * ```ts
   * import { join } from "node:path";
   * import { writeFileAtomic } from "./fs.ts";
   * const tok = new ByteTokenizer();
   * const dir = "runs/demo/tokenizer";
   * await writeFileAtomic(join(dir, "tokenizer_config.json"), JSON.stringify(tok.toConfig(), null, 2));
   * ```
   */
  toConfig(): Record<string, unknown> {
    const name = (
      id: number | undefined,
    ): string | null => (id === undefined ? null : this.specialTokens[id - 256]);
    return {
      tokenizer_class: byteTokenizerClass,
      special_tokens: [...this.specialTokens],
      bos_token: name(this.bosId),
      eos_token: name(this.eosId),
      pad_token: name(this.padId),
      add_bos_token: this.addBosToken,
      ...(this.chatTemplate === undefined ? {} : { chat_template: this.chatTemplate }),
    };
  }
}

/**
 * The `tokenizer_class` in tokenizer_config.json that marks a folder's tokenizer as a {@link ByteTokenizer}.
 *
 * @example
 * ```ts
 * new ByteTokenizer().toConfig().tokenizer_class === byteTokenizerClass; // true
 * ```
 */
export const byteTokenizerClass = "AlphaSpinByteTokenizer";

/**
 * A {@link ByteTokenizer} from the tokenizer_config.json written by {@link ByteTokenizer.toConfig}
 * (`tokenizer_class` "AlphaSpinByteTokenizer", `special_tokens`, `bos_token`, `eos_token`,
 * `pad_token`, optional `chat_template`). Errors name the bad field.
 *
 * @example
 * ```ts
 * byteTokenizerFromConfig({ tokenizer_class: "AlphaSpinByteTokenizer", special_tokens: ["</s>"], eos_token: "</s>" });
 * ```
 */
export const byteTokenizerFromConfig = (
  config: Record<string, unknown>,
  source = "tokenizer_config.json",
): ByteTokenizer => {
  if (config.tokenizer_class !== byteTokenizerClass) {
    throw new RangeError(
      `${source}: tokenizer_class must be "${byteTokenizerClass}", found ${
        JSON.stringify(config.tokenizer_class)
      }`,
    );
  }
  const specials = config.special_tokens ?? defaultByteSpecialTokens;
  if (!Array.isArray(specials) || !specials.every((s) => typeof s === "string")) {
    throw new RangeError(`${source}: special_tokens must be a list of strings`);
  }
  const role = (key: string): string | null | undefined => {
    const v = config[key];
    if (v === undefined || v === null || typeof v === "string") return v as string | null | undefined;
    throw new RangeError(`${source}: ${key} must be a string or null, found ${JSON.stringify(v)}`);
  };
  const template = config.chat_template;
  if (template !== undefined && typeof template !== "string") {
    throw new RangeError(`${source}: chat_template must be a string`);
  }
  try {
    return new ByteTokenizer({
      specialTokens: specials as string[],
      bosToken: role("bos_token"),
      eosToken: role("eos_token"),
      padToken: role("pad_token"),
      addBosToken: config.add_bos_token === undefined ? true : Boolean(config.add_bos_token),
      ...(template === undefined ? {} : { chatTemplate: template }),
    });
  } catch (e) {
    throw new RangeError(`${source}: ${(e as Error).message}`);
  }
};

export {
  checkPromptPrefix,
  type PromptPrefixCheck,
  type TokenizedPair,
  tokenizePair,
  type TokenizePairOptions,
} from "./prompt-prefix.ts";
