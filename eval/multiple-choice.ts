/**
 * Multiple-choice scoring by log-likelihood, as lm-evaluation-harness scores ARC, HellaSwag,
 * Winogrande and TruthfulQA-MC1:
 *
 * - each choice c_i is scored as the continuation `targetDelimiter + c_i` of the context:
 *   ll_i = log π(delimiter + c_i | context), summed over its tokens;
 * - `acc`: the prediction is argmax_i ll_i;
 * - `acc_norm`: argmax_i ll_i / len(c_i), len in characters (Unicode code points) of the choice
 *   without the delimiter — the harness's length normalization;
 * - `acc_bytes`: argmax_i ll_i / bytes(c_i), the UTF-8 byte length instead;
 * - ties go to the first index (numpy's argmax), and every accuracy is reported with the standard
 *   error of the mean (sample standard deviation / √n).
 *
 * The model plugs in as an asynchronous `scoreChoices(context, continuations) → log-likelihoods`.
 *
 * @example
 * ```ts
 * import { evaluateMultipleChoice } from "./multiple-choice.ts";
 * const rows = [{ context: "The sky is", choices: ["blue", "green"], label: 0 }];
 * const summary = await evaluateMultipleChoice(rows, async (_ctx, conts) => conts.map((c) => -c.length));
 * summary.acc; // 1
 * ```
 *
 * @module
 */
import { DataError, readJsonl } from "../data/jsonl.ts";
import { meanSpread } from "./metrics.ts";

/** One multiple-choice item: a context, its choices, and the index of the right one. */
export interface MultipleChoiceRow {
  readonly context: string;
  readonly choices: readonly string[];
  /** Index into `choices` of the right answer. */
  readonly label: number;
}

/** The predictions for one item. */
export interface ChoicePrediction {
  /** argmax of the log-likelihoods. */
  readonly pred: number;
  /** argmax of log-likelihood / characters of the choice. */
  readonly predNorm: number;
  /** argmax of log-likelihood / UTF-8 bytes of the choice. */
  readonly predBytes: number;
  readonly acc: 0 | 1;
  readonly accNorm: 0 | 1;
  readonly accBytes: 0 | 1;
}

/** Scores the continuations of one context: one summed log-likelihood per continuation. */
export type ScoreChoices = (context: string, continuations: readonly string[]) => Promise<ArrayLike<number>>;

/** Options of {@link evaluateMultipleChoice}. */
export interface MultipleChoiceOptions {
  /** Put before each choice to form its continuation. Default `" "` (the harness's default). */
  readonly targetDelimiter?: string;
}

/** Accuracies over a set of items, with standard errors, and each item's predictions. */
export interface MultipleChoiceSummary {
  readonly n: number;
  readonly acc: number;
  readonly accStderr: number;
  readonly accNorm: number;
  readonly accNormStderr: number;
  readonly accBytes: number;
  readonly accBytesStderr: number;
  readonly predictions: readonly ChoicePrediction[];
}

const argmax = (values: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
};

const utf8 = new TextEncoder();

/**
 * Predictions for one item from its per-choice log-likelihoods. Throws a RangeError when the
 * counts differ, a log-likelihood is NaN, a choice is empty, or the label is out of range.
 *
 * @example
 * ```ts
 * // "a" (1 char) at −2 against "bbbb" (4 chars) at −4: acc picks 0, acc_norm picks 1 (−1 > −2).
 * scoreChoiceLogLikelihoods([-2, -4], ["a", "bbbb"], 1); // { pred: 0, predNorm: 1, acc: 0, accNorm: 1, … }
 * ```
 */
export const scoreChoiceLogLikelihoods = (
  logLikelihoods: ArrayLike<number>,
  choices: readonly string[],
  label: number,
): ChoicePrediction => {
  if (logLikelihoods.length !== choices.length) {
    throw new RangeError(
      `multiple choice: ${logLikelihoods.length} log-likelihoods for ${choices.length} choices`,
    );
  }
  if (choices.length === 0) throw new RangeError("multiple choice: no choices");
  if (!Number.isInteger(label) || label < 0 || label >= choices.length) {
    throw new RangeError(`multiple choice: label ${label} is not an index of the ${choices.length} choices`);
  }
  const lls = Array.from(logLikelihoods);
  lls.forEach((ll, i) => {
    if (Number.isNaN(ll)) throw new RangeError(`multiple choice: log-likelihood ${i} is NaN`);
    if (choices[i].length === 0) throw new RangeError(`multiple choice: choice ${i} is empty`);
  });
  const pred = argmax(lls);
  const predNorm = argmax(lls.map((ll, i) => ll / [...choices[i]].length));
  const predBytes = argmax(lls.map((ll, i) => ll / utf8.encode(choices[i]).length));
  const hit = (p: number): 0 | 1 => (p === label ? 1 : 0);
  return { pred, predNorm, predBytes, acc: hit(pred), accNorm: hit(predNorm), accBytes: hit(predBytes) };
};

/**
 * Accuracies (acc, acc_norm, acc_bytes) with standard errors from each item's predictions.
 *
 * @example
 * ```ts
 * const p1 = scoreChoiceLogLikelihoods([-2, -4], ["a", "bbbb"], 1); // acc 0, accNorm 1
 * const p2 = scoreChoiceLogLikelihoods([-1, -3], ["a", "b"], 0);    // acc 1, accNorm 1
 * summarizeChoicePredictions([p1, p2]).accNorm; // 1
 * ```
 */
export const summarizeChoicePredictions = (
  predictions: readonly ChoicePrediction[],
): MultipleChoiceSummary => {
  const acc = meanSpread(predictions.map((p) => p.acc));
  const accNorm = meanSpread(predictions.map((p) => p.accNorm));
  const accBytes = meanSpread(predictions.map((p) => p.accBytes));
  return {
    n: predictions.length,
    acc: acc.mean,
    accStderr: acc.stderr,
    accNorm: accNorm.mean,
    accNormStderr: accNorm.stderr,
    accBytes: accBytes.mean,
    accBytesStderr: accBytes.stderr,
    predictions,
  };
};

/**
 * Score every item with `scoreChoices` (called once per item with the continuations
 * `targetDelimiter + choice`, in order) and summarize.
 *
 * @example
 * ```ts
 * declare const rows: MultipleChoiceRow[];
 * declare const score: ScoreChoices; // log p(continuation | context) of each continuation
 * const summary = await evaluateMultipleChoice(rows, (context, continuations) => score(context, continuations));
 * console.log(summary.acc, summary.accNorm);
 * ```
 */
export const evaluateMultipleChoice = async (
  rows: readonly MultipleChoiceRow[],
  scoreChoices: ScoreChoices,
  options: MultipleChoiceOptions = {},
): Promise<MultipleChoiceSummary> => {
  const delimiter = options.targetDelimiter ?? " ";
  const predictions: ChoicePrediction[] = [];
  for (const row of rows) {
    const lls = await scoreChoices(row.context, row.choices.map((c) => delimiter + c));
    predictions.push(scoreChoiceLogLikelihoods(lls, row.choices, row.label));
  }
  return summarizeChoicePredictions(predictions);
};

/**
 * Check one parsed JSON value as a {@link MultipleChoiceRow}: `context` a string, `choices` a
 * non-empty array of non-empty strings, `label` an index into `choices` or a string equal to one of
 * them (converted to its index). Throws a {@link DataError} naming `where` and the field.
 *
 * @example
 * ```ts
 * parseMultipleChoiceRow({ context: "2+2 =", choices: ["4", "5"], label: "4" }, "mc.jsonl:1").label; // 0
 * ```
 */
export const parseMultipleChoiceRow = (value: unknown, where: string): MultipleChoiceRow => {
  const fail = (message: string): never => {
    throw new DataError([{ where, message }]);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail("expected an object with context, choices and label");
  }
  const v = value as Record<string, unknown>;
  if (typeof v.context !== "string") return fail(`context must be a string, got ${typeof v.context}`);
  const choices = v.choices;
  if (!Array.isArray(choices) || choices.length === 0) {
    return fail("choices must be a non-empty array of strings");
  }
  choices.forEach((c, i) => {
    if (typeof c !== "string" || c.length === 0) fail(`choices[${i}] must be a non-empty string`);
  });
  let label = v.label;
  if (typeof label === "string") {
    const at = choices.indexOf(label);
    if (at < 0) return fail(`label ${JSON.stringify(label)} is not one of the choices`);
    label = at;
  }
  if (typeof label !== "number" || !Number.isInteger(label) || label < 0 || label >= choices.length) {
    return fail(
      `label must be an index in [0, ${choices.length - 1}] or one of the choices, got ${
        JSON.stringify(v.label)
      }`,
    );
  }
  return { context: v.context, choices: choices as string[], label };
};

/**
 * Read a JSONL file of `{context, choices, label}` rows, checking every row (all problems are
 * reported together, each as `file:line`).
 *
 * @example
 * ```ts
 * const rows = await loadMultipleChoiceJsonl("arc-easy.jsonl");
 * ```
 */
export const loadMultipleChoiceJsonl = async (path: string): Promise<MultipleChoiceRow[]> => {
  const rows: MultipleChoiceRow[] = [];
  const problems: { where: string; message: string }[] = [];
  for (const row of await readJsonl(path)) {
    try {
      rows.push(parseMultipleChoiceRow(row.value, row.where));
    } catch (error) {
      if (!(error instanceof DataError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (problems.length > 0) throw new DataError(problems.slice(0, 20), Math.max(0, problems.length - 20));
  return rows;
};
