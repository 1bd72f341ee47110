/**
 * The four instruction families of the synthetic task: their prompts, their deterministic content
 * and the fixed phrasing distribution of their answers.
 *
 * Every family maps an instruction x to one content string c(x) (the "right answer") and answers
 * with one of two or three phrasings of c(x), drawn with fixed probabilities. So p_data(y | x) has
 * a support of two or three strings, known exactly:
 *
 * | family | instruction  | content  | phrasings (probability)                          |
 * |--------|--------------|----------|--------------------------------------------------|
 * | add    | `add 3 4`    | `7`      | `7` 0.5 · `= 7` 0.3 · `it is 7` 0.2              |
 * | rev    | `rev abc`    | `cba`    | `cba` 0.6 · `ans: cba` 0.4                       |
 * | up     | `up abc`     | `ABC`    | `ABC` 0.4 · `-> ABC` 0.35 · `ans: ABC` 0.25      |
 * | cap    | `cap peru`   | `lima`   | `lima` 0.5 · `it is lima` 0.3 · `ans: lima` 0.2  |
 *
 * Operands of `add` are the digits 0–9; the strings of `rev` and `up` are the 125 three-letter
 * words over a–e; `cap` looks up the capital in {@link capitalOf} (16 countries). Contents never
 * contain a space, and every phrasing puts the content last, after a space when there is a prefix.
 *
 * @example
 * ```ts
 * import { familyOfInstruction } from "./synthetic-families.ts";
 * const f = familyOfInstruction("rev abc")!;
 * f.family.content(f.args); // "cba"
 * ```
 *
 * @module
 */

/** The names of the synthetic task's families. */
export type SyntheticFamilyName = "add" | "rev" | "up" | "cap";

/** One phrasing of an answer: `prefix + content`, with its probability. */
export interface SyntheticPhrasing {
  /** Text before the content (empty, or ending with a space). */
  readonly prefix: string;
  readonly prob: number;
}

/** A family: its instruction keyword, its argument sets, its content function and its phrasings. */
export interface SyntheticFamily {
  readonly name: SyntheticFamilyName;
  /** Every argument list of the family, in a fixed order (the family's instructions are `name args…`). */
  readonly argumentLists: readonly (readonly string[])[];
  /** The deterministic content c(x) of the instruction with these arguments. */
  readonly content: (args: readonly string[]) => string;
  /** The phrasings of the answer; their probabilities sum to 1. */
  readonly phrasings: readonly SyntheticPhrasing[];
}

/**
 * The capitals the `cap` family looks up: country → capital (lower case, one word each).
 *
 * @example
 * ```ts
 * capitalOf["peru"]; // "lima"
 * ```
 */
export const capitalOf: Readonly<Record<string, string>> = Object.freeze({
  austria: "vienna",
  china: "beijing",
  cuba: "havana",
  egypt: "cairo",
  france: "paris",
  germany: "berlin",
  greece: "athens",
  ireland: "dublin",
  italy: "rome",
  japan: "tokyo",
  kenya: "nairobi",
  norway: "oslo",
  peru: "lima",
  poland: "warsaw",
  russia: "moscow",
  spain: "madrid",
});

const DIGITS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
const LETTERS = ["a", "b", "c", "d", "e"];

const digitPairs: string[][] = DIGITS.flatMap((a) => DIGITS.map((b) => [a, b]));
const threeLetterWords: string[][] = LETTERS.flatMap((a) =>
  LETTERS.flatMap((b) => LETTERS.map((c) => [a + b + c]))
);

/**
 * The families in their fixed order (add, rev, up, cap).
 *
 * @example
 * ```ts
 * syntheticFamilies.map((f) => f.argumentLists.length); // [100, 125, 125, 16]
 * ```
 */
export const syntheticFamilies: readonly SyntheticFamily[] = Object.freeze([
  {
    name: "add",
    argumentLists: digitPairs,
    content: (args: readonly string[]): string => String(Number(args[0]) + Number(args[1])),
    phrasings: [{ prefix: "", prob: 0.5 }, { prefix: "= ", prob: 0.3 }, { prefix: "it is ", prob: 0.2 }],
  },
  {
    name: "rev",
    argumentLists: threeLetterWords,
    content: (args: readonly string[]): string => [...args[0]].reverse().join(""),
    phrasings: [{ prefix: "", prob: 0.6 }, { prefix: "ans: ", prob: 0.4 }],
  },
  {
    name: "up",
    argumentLists: threeLetterWords,
    content: (args: readonly string[]): string => args[0].toUpperCase(),
    phrasings: [{ prefix: "", prob: 0.4 }, { prefix: "-> ", prob: 0.35 }, { prefix: "ans: ", prob: 0.25 }],
  },
  {
    name: "cap",
    argumentLists: Object.keys(capitalOf).map((country) => [country]),
    content: (args: readonly string[]): string => capitalOf[args[0]],
    phrasings: [{ prefix: "", prob: 0.5 }, { prefix: "it is ", prob: 0.3 }, { prefix: "ans: ", prob: 0.2 }],
  },
] as SyntheticFamily[]);

/** An instruction split into its family and arguments. */
export interface ParsedInstruction {
  readonly family: SyntheticFamily;
  readonly args: readonly string[];
}

/**
 * The family and arguments of an instruction (`"add 3 4"`, no separator), or undefined when the
 * instruction is not one of the task's.
 *
 * @example
 * ```ts
 * familyOfInstruction("add 3 4")?.args; // ["3", "4"]
 * familyOfInstruction("add 3 44");      // undefined
 * ```
 */
export const familyOfInstruction = (instruction: string): ParsedInstruction | undefined => {
  const [name, ...args] = instruction.split(" ");
  const family = syntheticFamilies.find((f) => f.name === name);
  if (family === undefined) return undefined;
  const known = family.argumentLists.some((list) =>
    list.length === args.length && list.every((a, i) => a === args[i])
  );
  return known ? { family, args } : undefined;
};

/**
 * The instruction text of a family and argument list.
 *
 * @example
 * ```ts
 * instructionOf("cap", ["peru"]); // "cap peru"
 * ```
 */
export const instructionOf = (family: SyntheticFamilyName, args: readonly string[]): string =>
  [family, ...args].join(" ");
