/**
 * Evaluation metrics as pure functions over numbers and strings (no tfjs, no files):
 *
 * - exact match with answer extraction: the last number in the text (GSM8K style), a regular
 *   expression with a capture group, or any function;
 * - KL(p_data ‖ π) summed exactly over a known support: Σ_y p(y)·(log p(y) − log π(y)). Mass that π
 *   puts outside the support never lowers it (it only lowers π on the support), so the sum is the
 *   exact KL; the result also reports the mass π keeps on the support;
 * - total variation distance between two distributions on the same support;
 * - token-weighted NLL and perplexity over a set of sequences;
 * - mean, sample standard deviation and standard error of per-example scores.
 *
 * @example
 * ```ts
 * import { aggregateNll, exactMatch, klDataToModel } from "./metrics.ts";
 * exactMatch("so the total is 1,234.", "1234");                       // true
 * klDataToModel([{ completion: "a", prob: 1 }], () => Math.log(0.5)); // log 2
 * aggregateNll([{ nll: 3, tokens: 2 }, { nll: 1, tokens: 2 }]).perplexity; // e^1
 * ```
 *
 * @module
 */

// ---------------------------------------------------------------- answer extraction, exact match

const NUMBER_PATTERN = /-?\d[\d,]*(?:\.\d+)?/g;

/**
 * The last number in `text` (GSM8K style), commas removed, or null when there is none. A number
 * is an optional minus sign, digits (commas allowed between them) and an optional decimal part.
 *
 * @example
 * ```ts
 * extractLastNumber("3 apples and 1,250.5 pears."); // "1250.5"
 * extractLastNumber("no digits");                     // null
 * ```
 */
export const extractLastNumber = (text: string): string | null => {
  const matches = text.match(NUMBER_PATTERN);
  if (matches === null) return null;
  return matches[matches.length - 1].replace(/,/g, "");
};

/**
 * The first capture group of the first (or last) match of `pattern` in `text`; the whole match when
 * the pattern has no group; null when it does not match.
 *
 * @example
 * ```ts
 * extractWithRegex("#### 72", /####\s*(-?\d+)/); // "72"
 * extractWithRegex("a1 b2", /[a-z](\d)/, "last"); // "2"
 * ```
 */
export const extractWithRegex = (
  text: string,
  pattern: RegExp | string,
  select: "first" | "last" = "first",
): string | null => {
  const source = typeof pattern === "string" ? new RegExp(pattern) : pattern;
  const flags = source.flags.includes("g") ? source.flags : source.flags + "g";
  const matches = [...text.matchAll(new RegExp(source.source, flags))];
  if (matches.length === 0) return null;
  const m = select === "last" ? matches[matches.length - 1] : matches[0];
  return m[1] ?? m[0];
};

/**
 * The answer of a GSM8K reference solution: the text after the last `####`, trimmed, commas
 * removed (the whole text, trimmed, when there is no `####`).
 *
 * @example
 * ```ts
 * gsm8kAnswer("She pays 6 + 66 = <<6+66=72>>72.\n#### 72"); // "72"
 * ```
 */
export const gsm8kAnswer = (solution: string): string => {
  const at = solution.lastIndexOf("####");
  return (at < 0 ? solution : solution.slice(at + 4)).trim().replace(/,/g, "");
};

/** How the answer is taken out of a generated text. */
export type AnswerExtractor = "last-number" | RegExp | ((text: string) => string | null);

/** Options of {@link exactMatch}. */
export interface ExactMatchOptions {
  /** Default `"last-number"`. A RegExp takes its first capture group (first match). */
  readonly extract?: AnswerExtractor;
  /** Compare case-insensitively (text answers only). Default false. */
  readonly ignoreCase?: boolean;
}

const extractWith = (extract: AnswerExtractor, text: string): string | null =>
  extract === "last-number"
    ? extractLastNumber(text)
    : extract instanceof RegExp
    ? extractWithRegex(text, extract)
    : extract(text);

/**
 * Whether the answer extracted from `prediction` equals `answer`. With `"last-number"` both are
 * compared as numbers (commas removed from the answer, so "1,234" = "1234.0"); otherwise the
 * extracted string and the answer are compared after trimming. A prediction from which nothing
 * can be extracted never matches.
 *
 * @example
 * ```ts
 * exactMatch("The answer is 18.", "18");                                        // true
 * exactMatch("Answer: Paris", "paris", { extract: /Answer: (\w+)/, ignoreCase: true }); // true
 * ```
 */
export const exactMatch = (
  prediction: string,
  answer: string,
  options: ExactMatchOptions = {},
): boolean => {
  const extract = options.extract ?? "last-number";
  const got = extractWith(extract, prediction);
  if (got === null) return false;
  if (extract === "last-number") {
    const ref = answer.trim().replace(/,/g, "");
    return ref !== "" && Number.isFinite(Number(ref)) && Number(got) === Number(ref);
  }
  const a = got.trim(), b = answer.trim();
  return options.ignoreCase ? a.toLowerCase() === b.toLowerCase() : a === b;
};

/**
 * The fraction of predictions that match their references (see {@link exactMatch}); NaN for none.
 *
 * @example
 * ```ts
 * exactMatchRate(["= 7", "8"], ["7", "9"]); // 0.5
 * ```
 */
export const exactMatchRate = (
  predictions: readonly string[],
  references: readonly string[],
  options: ExactMatchOptions = {},
): number => {
  if (predictions.length !== references.length) {
    throw new RangeError(
      `exactMatchRate: ${predictions.length} predictions but ${references.length} references`,
    );
  }
  if (predictions.length === 0) return NaN;
  let hits = 0;
  predictions.forEach((p, i) => (hits += exactMatch(p, references[i], options) ? 1 : 0));
  return hits / predictions.length;
};

// ---------------------------------------------------------------- KL over a known support

/** KL(p ‖ π) over a known support, with its parts. */
export interface KlResult {
  /** KL(p ‖ π) = Σ p (log p − log π), in nats (+Infinity when π gives zero to an answer p has). */
  readonly kl: number;
  /** Cross-entropy −Σ p log π. */
  readonly crossEntropy: number;
  /** Entropy −Σ p log p. */
  readonly entropy: number;
  /** Σ over the support of π(y): the model's mass on the data's support (≤ 1). */
  readonly modelMassOnSupport: number;
}

/**
 * KL(p ‖ π) from aligned arrays: `probs[i]` = p(y_i) (non-negative, summing to 1 within 1e-9)
 * and `modelLogProbs[i]` = log π(y_i). Terms with p = 0 contribute nothing. Throws a RangeError
 * for mismatched lengths, bad probabilities, or a NaN / +Infinity log-prob.
 *
 * @example
 * ```ts
 * klFromArrays([0.5, 0.5], [Math.log(0.25), Math.log(0.75)]).kl; // 0.5·log 2 + 0.5·log(2/3)
 * ```
 */
export const klFromArrays = (probs: ArrayLike<number>, modelLogProbs: ArrayLike<number>): KlResult => {
  if (probs.length !== modelLogProbs.length) {
    throw new RangeError(`kl: ${probs.length} probabilities but ${modelLogProbs.length} model log-probs`);
  }
  let total = 0, kl = 0, crossEntropy = 0, entropy = 0, mass = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i], lq = modelLogProbs[i];
    if (!(p >= 0 && p <= 1)) throw new RangeError(`kl: probability ${i} must be in [0, 1], got ${p}`);
    if (Number.isNaN(lq) || lq === Infinity) throw new RangeError(`kl: model log-prob ${i} is ${lq}`);
    total += p;
    mass += Math.exp(lq);
    if (p === 0) continue;
    kl += p * (Math.log(p) - lq);
    crossEntropy -= p * lq;
    entropy -= p * Math.log(p);
  }
  if (!(Math.abs(total - 1) <= 1e-9)) throw new RangeError(`kl: the probabilities sum to ${total}, not 1`);
  return { kl, crossEntropy, entropy, modelMassOnSupport: mass };
};

/** One answer of the data distribution's support with its probability. */
export interface SupportProbability {
  readonly completion: string;
  readonly prob: number;
}

/**
 * The exact KL(p_data ‖ π) over p_data's support, given the model's log-prob of each completion.
 * See {@link klFromArrays} for the checks.
 *
 * @example
 * ```ts
 * klDataToModel([{ completion: "7", prob: 0.5 }, { completion: "= 7", prob: 0.5 }], (y) => Math.log(y === "7" ? 0.5 : 0.25));
 * // 0.5·log(0.5/0.25) = 0.3466
 * ```
 */
export const klDataToModel = (
  pData: readonly SupportProbability[],
  modelLogProb: (completion: string) => number,
): number => klDataToModelDetails(pData, modelLogProb).kl;

/**
 * {@link klDataToModel} with its parts: cross-entropy, entropy and the model's mass on the support.
 *
 * @example
 * ```ts
 * klDataToModelDetails([{ completion: "a", prob: 1 }], () => Math.log(0.5)).modelMassOnSupport; // 0.5
 * ```
 */
export const klDataToModelDetails = (
  pData: readonly SupportProbability[],
  modelLogProb: (completion: string) => number,
): KlResult => klFromArrays(pData.map((a) => a.prob), pData.map((a) => modelLogProb(a.completion)));

/**
 * The same, with an asynchronous batched scorer (one call for the whole support), as a model
 * layer on tfjs provides it.
 *
 * @example
 * ```ts
 * import { answerDistribution } from "../data/synthetic.ts";
 * // log π(y | x) of each completion, in one batched call
 * declare const logProbs: (prompt: string, completions: readonly string[]) => Promise<Float64Array>;
 * const r = await klDataToModelAsync(answerDistribution("add 3 4\n"), (ys) => logProbs("add 3 4\n", ys));
 * ```
 */
export const klDataToModelAsync = async (
  pData: readonly SupportProbability[],
  modelLogProbs: (completions: readonly string[]) => Promise<ArrayLike<number>>,
): Promise<KlResult> => {
  const completions = pData.map((a) => a.completion);
  const lps = await modelLogProbs(completions);
  return klFromArrays(pData.map((a) => a.prob), lps);
};

/**
 * Total variation distance ½ Σ |p − q| between two distributions on the same (finite) support.
 *
 * @example
 * ```ts
 * totalVariation([0.5, 0.5], [0.9, 0.1]); // 0.4
 * ```
 */
export const totalVariation = (p: ArrayLike<number>, q: ArrayLike<number>): number => {
  if (p.length !== q.length) {
    throw new RangeError(`totalVariation: lengths ${p.length} and ${q.length} differ`);
  }
  let s = 0;
  for (let i = 0; i < p.length; i++) s += Math.abs(p[i] - q[i]);
  return s / 2;
};

// ---------------------------------------------------------------- NLL and perplexity

/** The negative log-likelihood of one sequence, summed over its scored tokens. */
export interface NllItem {
  /** −Σ log π(token) over the scored tokens (nats). */
  readonly nll: number;
  /** How many tokens were scored. */
  readonly tokens: number;
  /** UTF-8 bytes of the scored text, for bits per byte (optional). */
  readonly bytes?: number;
}

/** Token-weighted NLL over a set of sequences. */
export interface NllSummary {
  readonly sequences: number;
  readonly tokens: number;
  readonly totalNll: number;
  /** Σ nll / Σ tokens (NaN when no token was scored). */
  readonly nllPerToken: number;
  /** exp(nllPerToken). */
  readonly perplexity: number;
  /** Σ nll / number of sequences. */
  readonly nllPerSequence: number;
  /** Σ nll / (ln 2 · Σ bytes), or null unless every item gave its bytes. */
  readonly bitsPerByte: number | null;
}

/**
 * Aggregate per-sequence NLLs token-weighted: a long sequence counts for its tokens, not as one
 * sequence (the corpus perplexity, not the mean of per-sequence perplexities). Throws a RangeError
 * for a negative or non-finite token count or a NaN nll.
 *
 * @example
 * ```ts
 * aggregateNll([{ nll: 6, tokens: 4 }, { nll: 2, tokens: 4 }]); // nllPerToken 1, perplexity e, nllPerSequence 4
 * ```
 */
export const aggregateNll = (items: readonly NllItem[]): NllSummary => {
  let tokens = 0, totalNll = 0, bytes = 0, allBytes = items.length > 0;
  items.forEach((item, i) => {
    if (!(Number.isSafeInteger(item.tokens) && item.tokens >= 0)) {
      throw new RangeError(`aggregateNll: item ${i} has token count ${item.tokens}`);
    }
    if (Number.isNaN(item.nll)) throw new RangeError(`aggregateNll: item ${i} has a NaN nll`);
    tokens += item.tokens;
    totalNll += item.nll;
    if (item.bytes === undefined) allBytes = false;
    else bytes += item.bytes;
  });
  const nllPerToken = tokens > 0 ? totalNll / tokens : NaN;
  return {
    sequences: items.length,
    tokens,
    totalNll,
    nllPerToken,
    perplexity: Math.exp(nllPerToken),
    nllPerSequence: items.length > 0 ? totalNll / items.length : NaN,
    bitsPerByte: allBytes && bytes > 0 ? totalNll / (Math.LN2 * bytes) : null,
  };
};

// ---------------------------------------------------------------- spread of per-example scores

/** Mean, sample standard deviation (n − 1) and standard error of the mean. */
export interface MeanSpread {
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation with n − 1 in the denominator (NaN for n < 2). */
  readonly std: number;
  /** std / √n (NaN for n < 2). */
  readonly stderr: number;
}

/**
 * Mean, sample standard deviation and standard error (as lm-evaluation-harness reports the
 * standard error of an accuracy).
 *
 * @example
 * ```ts
 * meanSpread([1, 0, 1, 1]); // { n: 4, mean: 0.75, std: 0.5, stderr: 0.25 }
 * ```
 */
export const meanSpread = (values: readonly number[]): MeanSpread => {
  const n = values.length;
  const mean = n > 0 ? values.reduce((a, b) => a + b, 0) / n : NaN;
  if (n < 2) return { n, mean, std: NaN, stderr: NaN };
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  const std = Math.sqrt(ss / (n - 1));
  return { n, mean, std, stderr: std / Math.sqrt(n) };
};

/** Student's t quantile t_{0.975, df} for df = 1 … 10 (beyond: nearest lower tabulated df; normal past 30). */
const tQuantile975: readonly number[] = [NaN, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

/**
 * The mean of `values` with the half-width of its two-sided 95 % confidence interval under the
 * Student t distribution (t_{0.975, n−1}·s/√n); NaN half-width for fewer than two values.
 *
 * @example
 * ```ts
 * meanInterval95([1, 2, 3]); // { mean: 2, halfWidth: 4.303 · 1/√3 ≈ 2.484, n: 3 }
 * ```
 */
export const meanInterval95 = (values: readonly number[]): { mean: number; halfWidth: number; n: number } => {
  const s = meanSpread(values);
  const df = s.n - 1;
  const t = df < 1 ? NaN : df <= 10 ? tQuantile975[df] : df < 15 ? 2.228 : df < 20 ? 2.131 : df < 30 ? 2.086 : df < 60 ? 2.042 : 1.96;
  return { mean: s.mean, halfWidth: t * s.stderr, n: s.n };
};
