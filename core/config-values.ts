/**
 * Value codecs for configs: refined numbers (positive, unit interval, integers), strings, literal
 * choices with a "did you mean" hint, lists with indexed paths, and per-iteration settings. Every
 * failure message reads `<rule> (got <value>)`. Pure: io-ts and fp-ts only. Re-exported by
 * core/config.ts.
 *
 * @example
 * ```ts
 * positive.decode(-1); // Left: "must be > 0 (got -1)"
 * perIterationAt([5e-7, 1e-7], 3); // 1e-7
 * ```
 *
 * @module
 */
import * as t from "io-ts";
import { either } from "fp-ts";

/**
 * A value as shown in messages: JSON, cut to 60 characters.
 *
 * @example
 * ```ts
 * showValue("abc"); // "\"abc\""
 * ```
 */
export const showValue = (value: unknown): string => {
  if (value === undefined) return "nothing";
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

// ---- "did you mean" -----------------------------------------------------------------------------

const normalizeKey = (s: string): string => s.toLowerCase().replace(/[_\-\s]/g, "");

const editDistance = (a: string, b: string): number => {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
};

/**
 * The known name closest to `name` (ignoring case, `_` and `-`, so `max_length` finds `maxLength`),
 * or undefined when none is within about a third of the name's length in edits.
 *
 * @example
 * ```ts
 * didYouMean("traning", ["training", "data"]); // "training"
 * ```
 */
export const didYouMean = (name: string, known: readonly string[]): string | undefined => {
  const n = normalizeKey(name);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(n, normalizeKey(k));
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= Math.max(1, Math.floor(n.length / 3)) ? best : undefined;
};

/**
 * The message for an unknown name: a "did you mean" hint, else the list of known names.
 *
 * @example
 * ```ts
 * unknownNameMessage("key", "traning", ["training"]); // 'unknown key (did you mean "training"?)'
 * ```
 */
export const unknownNameMessage = (kind: string, name: string, known: readonly string[]): string => {
  const guess = didYouMean(name, known);
  return guess !== undefined
    ? `unknown ${kind} (did you mean "${guess}"?)`
    : `unknown ${kind} (known: ${known.join(", ")})`;
};

// ---- refined values -----------------------------------------------------------------------------

/**
 * A codec for the values `ok` accepts; a failure reads `<rule> (got <value>)`.
 *
 * @example
 * ```ts
 * const even = refined<number>("even", "must be an even number", (u): u is number => typeof u === "number" && u % 2 === 0);
 * ```
 */
export const refined = <A>(name: string, rule: string, ok: (u: unknown) => u is A): t.Type<A, A, unknown> =>
  new t.Type<A, A, unknown>(
    name,
    ok,
    (u, c) => (ok(u) ? t.success(u) : t.failure(u, c, `${rule} (got ${showValue(u)})`)),
    t.identity,
  );

/**
 * A codec for finite numbers for which `ok` holds; a failure reads `<rule> (got <value>)`.
 *
 * @example
 * ```ts
 * const percent = refinedNumber("percent", "must be in [0, 100]", (x) => x >= 0 && x <= 100);
 * ```
 */
export const refinedNumber = (
  name: string,
  rule: string,
  ok: (x: number) => boolean,
): t.Type<number, number, unknown> =>
  refined<number>(name, rule, (u): u is number => typeof u === "number" && Number.isFinite(u) && ok(u));

/** Any finite number. @example `decodeOrThrow(finite, 3, "x") // 3` */
export const finite: t.Type<number, number, unknown> = refinedNumber(
  "finite",
  "must be a finite number",
  () => true,
);
/** A finite number > 0. @example `decodeOrThrow(positive, 0.1, "beta") // 0.1` */
export const positive: t.Type<number, number, unknown> = refinedNumber(
  "positive",
  "must be > 0",
  (x) => x > 0,
);
/** A finite number >= 0. @example `decodeOrThrow(nonNegative, 0, "weightDecay") // 0` */
export const nonNegative: t.Type<number, number, unknown> = refinedNumber(
  "nonNegative",
  "must be >= 0",
  (x) => x >= 0,
);
/** A number in [0, 1] (α, warm-up ratio). @example `decodeOrThrow(unitInterval, 1, "alpha") // 1` */
export const unitInterval: t.Type<number, number, unknown> = refinedNumber(
  "unitInterval",
  "must be in [0, 1]",
  (x) => x >= 0 && x <= 1,
);
/**
 * A probability mass threshold in (0, 1] (top-p): 0 would keep nothing.
 * @example `decodeOrThrow(probability, 0.95, "topP") // 0.95`
 */
export const probability: t.Type<number, number, unknown> = refinedNumber(
  "probability",
  "must be in (0, 1]",
  (x) => x > 0 && x <= 1,
);
/**
 * An integer >= `min` that a double holds exactly (≤ 2^53 − 1): a larger "integer" such as 1e300
 * is a rounded float, and counts or seeds that large are always a mistake.
 */
const safeIntAtLeast = (name: string, min: number): t.Type<number, number, unknown> => {
  const rule = `must be an integer >= ${min}`;
  return new t.Type<number, number, unknown>(
    name,
    (u): u is number => typeof u === "number" && Number.isSafeInteger(u) && u >= min,
    (u, c) => {
      if (typeof u === "number" && Number.isSafeInteger(u) && u >= min) return t.success(u);
      const tooLarge = typeof u === "number" && Number.isInteger(u) && u > Number.MAX_SAFE_INTEGER;
      return t.failure(u, c, `${tooLarge ? `${rule} and <= 2^53 - 1 = ${Number.MAX_SAFE_INTEGER}` : rule} (got ${showValue(u)})`);
    },
    t.identity,
  );
};
/** An integer in [1, 2^53 − 1]. @example `decodeOrThrow(positiveInt, 3, "iterations") // 3` */
export const positiveInt: t.Type<number, number, unknown> = safeIntAtLeast("positiveInt", 1);
/** An integer in [0, 2^53 − 1]. @example `decodeOrThrow(nonNegativeInt, 0, "topK") // 0` */
export const nonNegativeInt: t.Type<number, number, unknown> = safeIntAtLeast("nonNegativeInt", 0);

/** Any integer a double holds exactly (|x| ≤ 2^53 − 1), e.g. a sampling seed. @example `decodeOrThrow(safeInteger, -3, "seed") // -3` */
export const safeInteger: t.Type<number, number, unknown> = refined<number>(
  "safeInteger",
  "must be an integer in [-(2^53 - 1), 2^53 - 1]",
  (u): u is number => typeof u === "number" && Number.isSafeInteger(u),
);

/** An integer in [lo, hi] (a port, a byte). @example `decodeOrThrow(integerIn(0, 65535), 8000, "port") // 8000` */
export const integerIn = (lo: number, hi: number): t.Type<number, number, unknown> =>
  refined<number>(
    `integerIn[${lo},${hi}]`,
    `must be an integer in [${lo}, ${hi}]`,
    (u): u is number => typeof u === "number" && Number.isInteger(u) && u >= lo && u <= hi,
  );

/**
 * A finite number in the interval from `lo` to `hi`; `loOpen` / `hiOpen` exclude an end.
 *
 * @example
 * ```ts
 * numberIn(0, 1, { hiOpen: true }); // [0, 1): "must be in [0, 1)"
 * ```
 */
export const numberIn = (
  lo: number,
  hi: number,
  { loOpen = false, hiOpen = false }: { loOpen?: boolean; hiOpen?: boolean } = {},
): t.Type<number, number, unknown> =>
  refinedNumber(
    `numberIn${loOpen ? "(" : "["}${lo},${hi}${hiOpen ? ")" : "]"}`,
    `must be in ${loOpen ? "(" : "["}${lo}, ${hi}${hiOpen ? ")" : "]"}`,
    (x) => (loOpen ? x > lo : x >= lo) && (hiOpen ? x < hi : x <= hi),
  );

/** A string with at least one non-space character. @example `decodeOrThrow(nonEmptyString, "a", "name")` */
export const nonEmptyString: t.Type<string, string, unknown> = refined<string>(
  "nonEmptyString",
  "must be a non-empty string",
  (u): u is string => typeof u === "string" && u.trim() !== "",
);

/** true or false. @example `decodeOrThrow(bool, true, "enabled")` */
export const bool: t.Type<boolean, boolean, unknown> = refined<boolean>(
  "boolean",
  "must be true or false",
  (u): u is boolean => typeof u === "boolean",
);

/**
 * One of the given literals; a failure lists them and suggests the closest.
 *
 * @example
 * ```ts
 * oneOf(["linear", "cosine"]).decode("cosin"); // Left: must be one of "linear", "cosine" (did you mean "cosine"?) (got "cosin")
 * ```
 */
export const oneOf = <const L extends readonly (string | number | boolean)[]>(
  values: L,
): t.Type<L[number], L[number], unknown> => {
  const list = values.map((v) => JSON.stringify(v)).join(", ");
  const strings = values.filter((v): v is string => typeof v === "string");
  return new t.Type<L[number], L[number], unknown>(
    `oneOf(${list})`,
    (u): u is L[number] => values.includes(u as L[number]),
    (u, c) => {
      if (values.includes(u as L[number])) return t.success(u as L[number]);
      const guess = typeof u === "string" ? didYouMean(u, strings) : undefined;
      return t.failure(
        u,
        c,
        `must be one of ${list}${guess === undefined ? "" : ` (did you mean "${guess}"?)`} (got ${
          showValue(u)
        })`,
      );
    },
    t.identity,
  );
};

/**
 * A list of values of `item`, each checked with its index in the path; `minLength` rejects short lists.
 *
 * @example
 * ```ts
 * listOf(nonEmptyString, 1).decode(["q_proj", ""]); // Left: [1]: must be a non-empty string (got "")
 * ```
 */
export const listOf = <A, O>(
  item: t.Type<A, O, unknown>,
  minLength = 0,
): t.Type<readonly A[], readonly O[], unknown> =>
  new t.Type<readonly A[], readonly O[], unknown>(
    `list of ${item.name}`,
    (u): u is readonly A[] => Array.isArray(u) && u.length >= minLength && u.every(item.is),
    (u, c) => {
      if (!Array.isArray(u)) return t.failure(u, c, `must be a list (got ${showValue(u)})`);
      if (u.length < minLength) {
        return t.failure(
          u,
          c,
          `must have at least ${minLength} value${minLength === 1 ? "" : "s"} (got ${showValue(u)})`,
        );
      }
      const errors: t.ValidationError[] = [];
      const out: A[] = [];
      u.forEach((v, i) => {
        const r = item.validate(v, t.appendContext(c, String(i), item, v));
        if (either.isLeft(r)) errors.push(...r.left);
        else out.push(r.right);
      });
      return errors.length > 0 ? t.failures(errors) : t.success(out);
    },
    (a) => a.map(item.encode),
  );

// ---- per-iteration values ------------------------------------------------------------------------

/** A setting that is one value for every iteration, or a list with one value per iteration. */
export type PerIteration<A> = A | readonly A[];

/**
 * A value, or a non-empty list of values (entry i for iteration i+1). A list shorter than the
 * number of iterations repeats its last value; a longer one is refused by the run config's check
 * ({@link perIterationLengthIssue}).
 *
 * @example
 * ```ts
 * perIteration(positive).decode([0.1, 0.1, 5]); // Right([0.1, 0.1, 5])
 * ```
 */
export const perIteration = <A, O>(
  codec: t.Type<A, O, unknown>,
): t.Type<PerIteration<A>, PerIteration<O>, unknown> => {
  const list = listOf(codec, 1);
  return new t.Type<PerIteration<A>, PerIteration<O>, unknown>(
    `${codec.name} or a list of them`,
    (u): u is PerIteration<A> => codec.is(u) || list.is(u),
    (u, c) => (Array.isArray(u) ? list.validate(u, c) : codec.validate(u, c)),
    (a) => (Array.isArray(a) ? list.encode(a as readonly A[]) : codec.encode(a as A)),
  );
};

/**
 * The value of a per-iteration setting at iteration `t` (1-based); past the end of a list, its
 * last value.
 *
 * @example
 * ```ts
 * perIterationAt([5e-7, 1e-7], 3); // 1e-7
 * ```
 */
export const perIterationAt = <A>(value: PerIteration<A>, t: number): A => {
  if (!Number.isInteger(t) || t < 1) throw new RangeError(`iteration must be an integer >= 1, got ${t}`);
  if (!Array.isArray(value)) return value as A;
  const list = value as readonly A[];
  return list[Math.min(t, list.length) - 1];
};
