/**
 * The embedded synthetic instruction task: a known answer distribution p_data(y | x) with a support
 * small enough to enumerate, so "closer to the data" can be measured exactly (KL(p_data ‖ π) summed
 * over the support, exact-match accuracy on the deterministic content).
 *
 * The families, their contents and their phrasing probabilities are listed in
 * `synthetic-families.ts`. A prompt is an instruction followed by {@link syntheticSeparator}
 * (`"add 3 4\n"`); a completion is one phrasing of the content (`"= 7"`); the model sees
 * `prompt + completion` followed by its EOS token (the byte tokenizer's `<|eos|>`, id 256; add it
 * with `tokenizePair(…, { addEos: true })`). Every prompt + completion is at most 24 bytes.
 *
 * Splits are generated deterministically from a seed with `core/rng.ts` (integer arithmetic only),
 * so the same seed gives the same splits under Node and Deno. Example i of a split is drawn from its
 * own forked stream, so a longer split extends a shorter one with the same seed.
 *
 * @example
 * ```ts
 * import { answerDistribution, extractAnswer, makeSyntheticTask } from "./synthetic.ts";
 * const task = makeSyntheticTask({ seed: 1, nTrain: 1000, nHeldOut: 100, nTest: 100 });
 * task.train[0];                     // { id: "train-0", prompt: "…\n", completion: "…", family, answer }
 * answerDistribution("add 3 4\n");  // [{ completion: "7", prob: 0.5 }, { completion: "= 7", prob: 0.3 }, …]
 * extractAnswer("it is 7<|eos|>");   // "7"
 * ```
 *
 * @module
 */
import { forkRng, nextIndex, type Rng, rngFromSeed, sampleCategorical, shuffleArray } from "../core/rng.ts";
import {
  familyOfInstruction,
  instructionOf,
  type ParsedInstruction,
  syntheticFamilies,
  type SyntheticFamilyName,
} from "./synthetic-families.ts";

export { capitalOf, syntheticFamilies } from "./synthetic-families.ts";
export type { SyntheticFamily, SyntheticFamilyName, SyntheticPhrasing } from "./synthetic-families.ts";

/**
 * What ends every prompt of the synthetic task: a newline.
 *
 * @example
 * ```ts
 * "add 3 4" + syntheticSeparator; // the prompt "add 3 4\n"
 * ```
 */
export const syntheticSeparator: string = "\n";

/**
 * The EOS token text the byte tokenizer maps to its EOS id (256); the completion strings do not
 * contain it.
 *
 * @example
 * ```ts
 * syntheticModelText({ prompt: "add 3 4\n", completion: "7" }); // "add 3 4\n7<|eos|>"
 * ```
 */
export const syntheticEosToken: string = "<|eos|>";

/** One example of the synthetic task. */
export interface SyntheticExample {
  /** `train-17`, `heldOut-3`, `test-0`. */
  readonly id: string;
  /** The instruction followed by {@link syntheticSeparator}. */
  readonly prompt: string;
  /** A phrasing drawn from p_data(· | prompt), without EOS. */
  readonly completion: string;
  readonly family: SyntheticFamilyName;
  /** The deterministic content (what {@link extractAnswer} must return). */
  readonly answer: string;
}

/** One answer in the support of p_data(· | x). */
export interface SupportAnswer {
  readonly completion: string;
  readonly prob: number;
}

/** How {@link makeSyntheticTask} builds the splits. */
export interface SyntheticTaskOptions {
  readonly seed: number;
  readonly nTrain: number;
  readonly nHeldOut: number;
  readonly nTest: number;
  /**
   * `shared` (default): every split draws prompts from all instructions. `disjoint`: the
   * instructions of `add`, `rev` and `up` are partitioned (seeded) 80 % / 10 % / 10 % into
   * train / held-out / test, so held-out and test prompts were never seen in training; `cap`
   * lookups stay shared (a capital cannot be inferred from other capitals).
   */
  readonly promptSplit?: "shared" | "disjoint";
}

/** The names of the three splits. */
export type SyntheticSplitName = "train" | "heldOut" | "test";

/** The generated task: three splits and the prompts each split draws from. */
export interface SyntheticTask {
  readonly seed: number;
  readonly promptSplit: "shared" | "disjoint";
  readonly train: readonly SyntheticExample[];
  readonly heldOut: readonly SyntheticExample[];
  readonly test: readonly SyntheticExample[];
  /** The prompts each split draws from, per family (with separator). */
  readonly pools: Readonly<
    Record<SyntheticSplitName, Readonly<Record<SyntheticFamilyName, readonly string[]>>>
  >;
}

const stripSeparator = (prompt: string): string =>
  prompt.endsWith(syntheticSeparator) ? prompt.slice(0, -syntheticSeparator.length) : prompt;

const parsePrompt = (prompt: string, where: string): ParsedInstruction => {
  const parsed = familyOfInstruction(stripSeparator(prompt));
  if (parsed === undefined) {
    throw new RangeError(`${where}: ${JSON.stringify(prompt)} is not a prompt of the synthetic task`);
  }
  return parsed;
};

/**
 * The exact answer distribution p_data(· | prompt): every phrasing of the content with its
 * probability (the probabilities sum to 1). The prompt may come with or without the separator.
 * Throws a RangeError for a prompt that is not one of the task's.
 *
 * @example
 * ```ts
 * answerDistribution("rev abc\n"); // [{ completion: "cba", prob: 0.6 }, { completion: "ans: cba", prob: 0.4 }]
 * ```
 */
export const answerDistribution = (prompt: string): SupportAnswer[] => {
  const { family, args } = parsePrompt(prompt, "answerDistribution");
  const content = family.content(args);
  return family.phrasings.map((p) => ({ completion: p.prefix + content, prob: p.prob }));
};

/**
 * The deterministic content of a prompt's answer (what exact match compares against).
 *
 * @example
 * ```ts
 * syntheticContent("up abc\n"); // "ABC"
 * ```
 */
export const syntheticContent = (prompt: string): string => {
  const { family, args } = parsePrompt(prompt, "syntheticContent");
  return family.content(args);
};

/**
 * The content of a generated answer: the text up to the first EOS token or newline, trimmed, and
 * then its last space-separated word ("" when there is none). Every phrasing puts the content last,
 * so this returns the content for every answer in the support.
 *
 * @example
 * ```ts
 * extractAnswer("it is 7<|eos|>junk"); // "7"
 * extractAnswer("ans: cba\nmore");     // "cba"
 * ```
 */
export const extractAnswer = (text: string): string => {
  let end = text.indexOf(syntheticEosToken);
  if (end < 0) end = text.length;
  const newline = text.indexOf("\n");
  if (newline >= 0 && newline < end) end = newline;
  const words = text.slice(0, end).trim().split(/\s+/);
  return words[words.length - 1];
};

/**
 * Whether a generated answer to `prompt` has the right content (exact match after
 * {@link extractAnswer}).
 *
 * @example
 * ```ts
 * isSyntheticCorrect("add 3 4\n", "= 7"); // true
 * isSyntheticCorrect("add 3 4\n", "= 8"); // false
 * ```
 */
export const isSyntheticCorrect = (prompt: string, generated: string): boolean =>
  extractAnswer(generated) === syntheticContent(prompt);

/**
 * The text the model is trained on for one example: prompt, completion, EOS token.
 *
 * @example
 * ```ts
 * syntheticModelText({ prompt: "cap peru\n", completion: "it is lima" }); // "cap peru\nit is lima<|eos|>"
 * ```
 */
export const syntheticModelText = (
  example: { readonly prompt: string; readonly completion: string },
): string => example.prompt + example.completion + syntheticEosToken;

/** A prompt of the task with its probability under the `shared` prompt distribution. */
export interface WeightedPrompt {
  readonly prompt: string;
  readonly family: SyntheticFamilyName;
  /** 1/4 (the family) times 1/(number of instructions of the family); the weights sum to 1. */
  readonly weight: number;
}

/**
 * Every prompt of the task (366 of them) with its probability under the `shared` distribution:
 * a family uniformly, then an instruction of that family uniformly.
 *
 * @example
 * ```ts
 * enumerateSyntheticPrompts().length; // 366
 * ```
 */
export const enumerateSyntheticPrompts = (): WeightedPrompt[] =>
  syntheticFamilies.flatMap((family) =>
    family.argumentLists.map((args) => ({
      prompt: instructionOf(family.name, args) + syntheticSeparator,
      family: family.name,
      weight: 1 / syntheticFamilies.length / family.argumentLists.length,
    }))
  );

type Pools = Record<SyntheticSplitName, Record<SyntheticFamilyName, string[]>>;

const promptsOf = (name: SyntheticFamilyName, lists: readonly (readonly string[])[]): string[] =>
  lists.map((args) => instructionOf(name, args) + syntheticSeparator);

const buildPools = (root: Rng, promptSplit: "shared" | "disjoint"): Pools => {
  const pools = { train: {}, heldOut: {}, test: {} } as Pools;
  for (const family of syntheticFamilies) {
    const all = promptsOf(family.name, family.argumentLists);
    if (promptSplit === "shared" || family.name === "cap") {
      pools.train[family.name] = all;
      pools.heldOut[family.name] = all;
      pools.test[family.name] = all;
      continue;
    }
    const [shuffled] = shuffleArray(forkRng(root, `prompts-${family.name}`), all);
    const nOut = Math.max(1, Math.round(0.1 * all.length));
    pools.test[family.name] = shuffled.slice(0, nOut);
    pools.heldOut[family.name] = shuffled.slice(nOut, 2 * nOut);
    pools.train[family.name] = shuffled.slice(2 * nOut);
  }
  return pools;
};

const drawExample = (
  rng: Rng,
  split: SyntheticSplitName,
  index: number,
  pool: Record<SyntheticFamilyName, string[]>,
): SyntheticExample => {
  const [familyIndex, r1] = nextIndex(rng, syntheticFamilies.length);
  const family = syntheticFamilies[familyIndex];
  const prompts = pool[family.name];
  const [promptIndex, r2] = nextIndex(r1, prompts.length);
  const prompt = prompts[promptIndex];
  const support = answerDistribution(prompt);
  const [answerIndex] = sampleCategorical(r2, support.map((a) => a.prob));
  return {
    id: `${split}-${index}`,
    prompt,
    completion: support[answerIndex].completion,
    family: family.name,
    answer: syntheticContent(prompt),
  };
};

const checkCount = (name: string, n: number): void => {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`makeSyntheticTask: ${name} must be an integer >= 0, got ${n}`);
  }
};

/**
 * Generate the train, held-out and test splits from a seed. Each example draws a family uniformly,
 * an instruction of that family uniformly from the split's pool, and a completion from p_data.
 * Throws a RangeError for a seed that is not a safe integer or a negative / fractional count.
 *
 * @example
 * ```ts
 * const { train, heldOut, test } = makeSyntheticTask({ seed: 3, nTrain: 2000, nHeldOut: 200, nTest: 200 });
 * ```
 */
export const makeSyntheticTask = (options: SyntheticTaskOptions): SyntheticTask => {
  const { seed, nTrain, nHeldOut, nTest } = options;
  const promptSplit = options.promptSplit ?? "shared";
  if (promptSplit !== "shared" && promptSplit !== "disjoint") {
    throw new RangeError(
      `makeSyntheticTask: promptSplit must be "shared" or "disjoint", got ${String(promptSplit)}`,
    );
  }
  checkCount("nTrain", nTrain);
  checkCount("nHeldOut", nHeldOut);
  checkCount("nTest", nTest);
  const root = rngFromSeed(seed);
  const pools = buildPools(root, promptSplit);
  const split = (name: SyntheticSplitName, n: number): SyntheticExample[] => {
    const stream = forkRng(root, `split-${name}`);
    return Array.from({ length: n }, (_, i) => drawExample(forkRng(stream, i), name, i, pools[name]));
  };
  return {
    seed,
    promptSplit,
    train: split("train", nTrain),
    heldOut: split("heldOut", nHeldOut),
    test: split("test", nTest),
    pools,
  };
};

/**
 * The distinct prompts of a list of examples, in order of first appearance (e.g. the test prompts
 * over which KL(p_data ‖ π) is summed).
 *
 * @example
 * ```ts
 * distinctPrompts([{ prompt: "a\n" }, { prompt: "b\n" }, { prompt: "a\n" }]); // ["a\n", "b\n"]
 * ```
 */
export const distinctPrompts = (examples: readonly { readonly prompt: string }[]): string[] => [
  ...new Set(examples.map((e) => e.prompt)),
];
