/**
 * The prompt/completion boundary check: tokenizing prompt and completion separately (as TRL does)
 * keeps the prompt's tokens an exact prefix; {@link checkPromptPrefix} reports when tokenizing the
 * joined text would have moved the boundary.
 *
 * @example
 * ```ts
 * import { ByteTokenizer } from "./tokenizer.ts";
 * import { tokenizePair } from "./prompt-prefix.ts";
 * tokenizePair(new ByteTokenizer(), "Q: 1+1?", " 2", { addEos: true }).completionIds; // [32, 50, 256]
 * ```
 *
 * @module
 */
import type { Tokenizer } from "./tokenizer.ts";

/** The result of {@link checkPromptPrefix}. */
export interface PromptPrefixCheck {
  /** tokens(prompt + completion) starts with tokens(prompt). */
  readonly ok: boolean;
  readonly promptIds: number[];
  /** tokens(prompt + completion). */
  readonly jointIds: number[];
  /** First position where the two differ (the prompt's length if the joint ids are too short); -1 when ok. */
  readonly mismatchAt: number;
  /** A human-readable warning when not ok. */
  readonly warning?: string;
}

const showIds = (tokenizer: Tokenizer, ids: readonly number[]): string =>
  `[${ids.join(", ")}] ${JSON.stringify(ids.map((id) => safeDecode(tokenizer, [id])))}`;

const safeDecode = (tokenizer: Tokenizer, ids: readonly number[]): string => {
  try {
    return tokenizer.decode(ids);
  } catch {
    return "?";
  }
};

/**
 * Whether tokenizing prompt + completion keeps the prompt's tokens as a prefix; when it does not,
 * a warning (like TRL's) naming the position and the tokens on both sides of the boundary.
 *
 * @example
 * ```ts
 * import { ByteTokenizer } from "./tokenizer.ts";
 * const tokenizer = new ByteTokenizer();
 * const check = checkPromptPrefix(tokenizer, "The answer is ", "42");
 * if (!check.ok) console.warn(check.warning);
 * ```
 */
export const checkPromptPrefix = (
  tokenizer: Tokenizer,
  prompt: string,
  completion: string,
): PromptPrefixCheck => {
  const promptIds = tokenizer.encode(prompt);
  const jointIds = tokenizer.encode(prompt + completion);
  let mismatchAt = -1;
  for (let i = 0; i < promptIds.length; i++) {
    if (i >= jointIds.length || jointIds[i] !== promptIds[i]) {
      mismatchAt = i;
      break;
    }
  }
  if (mismatchAt < 0) return { ok: true, promptIds, jointIds, mismatchAt };
  const from = Math.max(0, mismatchAt - 2);
  const warning =
    `tokenizing prompt + completion does not keep the prompt's tokens as a prefix: they differ at ` +
    `token ${mismatchAt} of ${promptIds.length} (the prompt alone ends with ${
      showIds(tokenizer, promptIds.slice(from))
    }, ` +
    `prompt + completion has ${
      showIds(tokenizer, jointIds.slice(from, mismatchAt + 3))
    }). The last characters of the ` +
    `prompt merge with the completion; the prompt and the completion are tokenized separately so the prompt stays an exact prefix.`;
  return { ok: false, promptIds, jointIds, mismatchAt, warning };
};

/** Options of {@link tokenizePair}. */
export interface TokenizePairOptions {
  /** Put the tokenizer's BOS before the prompt (unless the prompt's ids already start with it). Default false. */
  readonly addBos?: boolean;
  /** Put the tokenizer's EOS after the completion (unless already there). Default false. */
  readonly addEos?: boolean;
  /** Also run {@link checkPromptPrefix} (one more encode of the joint text). Default true. */
  readonly checkPrefix?: boolean;
}

/** Prompt and completion ids, with the boundary check. */
export interface TokenizedPair {
  readonly promptIds: number[];
  readonly completionIds: number[];
  /** Whether tokens(prompt + completion) would have kept the prompt as a prefix (true when not checked). */
  readonly prefixOk: boolean;
  /** tokens(prompt) ++ tokens(completion) equals tokens(prompt + completion) (true when not checked). */
  readonly jointMatches: boolean;
  readonly warning?: string;
}

/**
 * Tokenize a prompt and its completion separately (TRL's approach), so that the prompt's ids are
 * exactly a prefix of the scored sequence and every completion token is scored; optionally add BOS
 * and EOS. Reports whether the joint tokenization would have moved the boundary.
 *
 * @example
 * ```ts
 * import { ByteTokenizer } from "./tokenizer.ts";
 * const tok = new ByteTokenizer();
 * const { promptIds, completionIds, warning } = tokenizePair(tok, "Hello ", "world", { addEos: true });
 * ```
 */
export const tokenizePair = (
  tokenizer: Tokenizer,
  prompt: string,
  completion: string,
  options: TokenizePairOptions = {},
): TokenizedPair => {
  const promptIds = tokenizer.encode(prompt);
  const completionIds = tokenizer.encode(completion);
  let prefixOk = true, jointMatches = true, warning: string | undefined;
  if (options.checkPrefix ?? true) {
    const check = checkPromptPrefix(tokenizer, prompt, completion);
    prefixOk = check.ok;
    warning = check.warning;
    const separate = [...promptIds, ...completionIds];
    jointMatches = separate.length === check.jointIds.length &&
      separate.every((id, i) => id === check.jointIds[i]);
  }
  if (options.addBos) {
    if (tokenizer.bosId === undefined) {
      throw new RangeError("tokenizePair: addBos asked, but the tokenizer has no BOS token");
    }
    if (promptIds[0] !== tokenizer.bosId) promptIds.unshift(tokenizer.bosId);
  }
  if (options.addEos) {
    if (tokenizer.eosId === undefined) {
      throw new RangeError("tokenizePair: addEos asked, but the tokenizer has no EOS token");
    }
    if (completionIds[completionIds.length - 1] !== tokenizer.eosId) completionIds.push(tokenizer.eosId);
  }
  return { promptIds, completionIds, prefixOk, jointMatches, ...(warning === undefined ? {} : { warning }) };
};
