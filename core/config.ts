/**
 * io-ts helpers shared by every user-facing config: strict object codecs that reject unknown keys
 * (with a "did you mean" hint), refined number codecs, defaults, per-iteration values, cross-field
 * checks, and a {@link ConfigError} whose message lists each failure as `<path>: <rule> (got <value>)`.
 * Value codecs (numbers, choices, lists, per-iteration) live in config-values.ts and are re-exported
 * here. Pure: io-ts and fp-ts only.
 *
 * @example
 * ```ts
 * import * as t from "io-ts";
 * import { positive } from "./config-values.ts";
 * const codec = strictObject({ beta: withDefault(positive, 0.1), name: t.string });
 * decodeOrThrow(codec, { name: "x", bta: 1 }, "run config");
 * // ConfigError: invalid run config (1 problem):
 * //   bta: unknown key (did you mean "beta"?)
 * ```
 *
 * @module
 */
import * as t from "io-ts";
import { either } from "fp-ts";
import { showValue, unknownNameMessage } from "./config-values.ts";
import type { PerIteration } from "./config-values.ts";

export * from "./config-values.ts";

// ---- errors -------------------------------------------------------------------------------------

/** One failure: where (`loss.params.beta`, `training.lr[2]`), and the line shown to the user. */
export interface ConfigIssue {
  /** Dotted path with `[i]` for list entries; `(root)` for the value itself. */
  readonly path: string;
  /** The rule and, where useful, the value: `must be > 0 (got -1)`. */
  readonly message: string;
}

/**
 * A config that failed to decode; `issues` has one entry per failure and `message` lists them.
 *
 * @example
 * ```ts
 * import { positive } from "./config-values.ts";
 * const codec = strictObject({ beta: positive });
 * const raw: unknown = { beta: -1 };
 * try { decodeOrThrow(codec, raw, "run config"); } catch (e) { if (e instanceof ConfigError) console.error(e.message); }
 * ```
 */
export class ConfigError extends Error {
  /** Every failure, in the order found. */
  readonly issues: readonly ConfigIssue[];
  constructor(what: string, issues: readonly ConfigIssue[]) {
    const n = issues.length;
    super(
      `invalid ${what} (${n} problem${n === 1 ? "" : "s"}):\n${
        issues.map((i) => `  ${i.path}: ${i.message}`).join("\n")
      }`,
    );
    this.name = "ConfigError";
    this.issues = issues;
  }
}

const isNumericKey = (k: string): boolean => /^\d+$/.test(k);

/**
 * The path of an io-ts error: keys joined with dots, list indices as `[i]`; the member index that
 * io-ts adds inside a union is dropped.
 *
 * @example
 * ```ts
 * import type * as t from "io-ts";
 * declare const error: t.ValidationError; // the failure for the third entry of training.lr
 * pathOf(error.context); // "training.lr[2]"
 * ```
 */
export const pathOf = (context: t.Context): string => {
  let path = "";
  for (let i = 1; i < context.length; i++) {
    const parent = context[i - 1].type;
    const key = context[i].key;
    if (parent instanceof t.UnionType) continue;
    if (isNumericKey(key) && Array.isArray(context[i - 1].actual)) {
      path += `[${key}]`;
    } else if (key !== "") {
      path += path === "" ? key : `.${key}`;
    }
  }
  return path === "" ? "(root)" : path;
};

/**
 * io-ts errors as {@link ConfigIssue}s, without duplicates. An error without a message reads
 * `is required` for a missing value, else `must be <type name> (got <value>)`.
 *
 * @example
 * ```ts
 * import { unitInterval } from "./config-values.ts";
 * const result = strictObject({ alpha: unitInterval }).decode({ alpha: 2 });
 * if (result._tag === "Left") issuesOf(result.left); // [{ path: "alpha", message: "must be in [0, 1] (got 2)" }]
 * ```
 */
export const issuesOf = (errors: t.Errors): ConfigIssue[] => {
  const seen = new Set<string>();
  const out: ConfigIssue[] = [];
  for (const e of errors) {
    const path = pathOf(e.context);
    const type = e.context[e.context.length - 1]?.type;
    const message = e.message ??
      (e.value === undefined
        ? "is required"
        : `must be ${type?.name ?? "valid"} (got ${showValue(e.value)})`);
    const line = `${path}\u0000${message}`;
    if (seen.has(line)) continue;
    seen.add(line);
    out.push({ path, message });
  }
  return out;
};

/**
 * Decode `value` with `codec`: Right with the decoded value, or Left with a {@link ConfigError}
 * naming `what` ("run config") and every failure.
 *
 * @example
 * ```ts
 * import { positive } from "./config-values.ts";
 * const r = decodeWith(positive, -1, "beta"); // Left(ConfigError "invalid beta (1 problem):\n  (root): must be > 0 (got -1)")
 * ```
 */
export const decodeWith = <A, O>(
  codec: t.Type<A, O, unknown>,
  value: unknown,
  what: string,
): either.Either<ConfigError, A> =>
  either.mapLeft((errors: t.Errors) => new ConfigError(what, issuesOf(errors)))(codec.decode(value));

/**
 * Decode `value` with `codec` or throw the {@link ConfigError}.
 *
 * @example
 * ```ts
 * import { positive } from "./config-values.ts";
 * const beta = decodeOrThrow(positive, 0.1, "beta"); // 0.1
 * ```
 */
export const decodeOrThrow = <A, O>(codec: t.Type<A, O, unknown>, value: unknown, what: string): A => {
  const result = decodeWith(codec, value, what);
  if (either.isLeft(result)) throw result.left;
  return result.right;
};

/**
 * Decode a value given as text (a command-line flag): as a number when the text reads as one
 * (`"2"`, `"1e-3"`, `"Infinity"`), else as the text itself (`"all"`, `"∞"`), so that a flag takes the
 * spellings the config's JSON takes. Right with the value, or Left with the rule(s) broken.
 *
 * @example
 * ```ts
 * import { positiveInt } from "./config-values.ts";
 * decodeText(positiveInt, "0"); // Left("must be an integer >= 1 (got 0)")
 * ```
 */
export const decodeText = <A>(codec: t.Decoder<unknown, A>, text: string): either.Either<string, A> => {
  const x = text.trim() === "" ? NaN : Number(text);
  const result = codec.decode(Number.isNaN(x) ? text : x);
  return either.isRight(result) ? result : either.left(issuesOf(result.left).map((i) => i.message).join("; "));
};

// ---- optional values and defaults ---------------------------------------------------------------

/**
 * `codec`, or `fallback` when the value is absent (undefined). The fallback goes through `codec`
 * too, so a nested object's own defaults apply: `withDefault(trainingCodec, {})`.
 *
 * @example
 * ```ts
 * import { positive } from "./config-values.ts";
 * withDefault(positive, 0.1).decode(undefined); // Right(0.1)
 * ```
 */
export const withDefault = <A, O>(codec: t.Type<A, O, unknown>, fallback: unknown): t.Type<A, O, unknown> =>
  new t.Type<A, O, unknown>(
    codec.name,
    codec.is,
    (u, c) => codec.validate(u === undefined ? fallback : u, c),
    codec.encode,
  );

/**
 * `codec` or null (null is how a resolved config writes "not set").
 *
 * @example
 * ```ts
 * import { positiveInt } from "./config-values.ts";
 * nullable(positiveInt).decode(null); // Right(null)
 * ```
 */
export const nullable = <A, O>(codec: t.Type<A, O, unknown>): t.Type<A | null, O | null, unknown> =>
  new t.Type<A | null, O | null, unknown>(
    `${codec.name} | null`,
    (u): u is A | null => u === null || codec.is(u),
    (u, c) => (u === null ? t.success(null) : codec.validate(u, c)),
    (a) => (a === null ? null : codec.encode(a)),
  );

/**
 * `codec`, or null when absent or null: an optional setting with no default value.
 *
 * @example
 * ```ts
 * import { nonEmptyString } from "./config-values.ts";
 * optionalNull(nonEmptyString).decode(undefined); // Right(null)
 * ```
 */
export const optionalNull = <A, O>(codec: t.Type<A, O, unknown>): t.Type<A | null, O | null, unknown> =>
  withDefault(nullable(codec), null);

/**
 * Fill the absent (undefined) keys of `value` from `defaults`, recursing into plain objects; lists
 * and other values are taken as they are.
 *
 * @example
 * ```ts
 * applyDefaults({ training: { lr: 1e-4 } }, { training: { lr: 5e-5, epochs: 2 } }); // { training: { lr: 1e-4, epochs: 2 } }
 * ```
 */
export const applyDefaults = <D>(value: unknown, defaults: D): D => {
  if (value === undefined) return defaults;
  if (!isPlainObject(value) || !isPlainObject(defaults)) return value as D;
  const out: Record<string, unknown> = { ...value };
  for (const [k, d] of Object.entries(defaults)) out[k] = applyDefaults(value[k], d);
  return out as D;
};

// ---- objects -------------------------------------------------------------------------------------

/**
 * True for a non-null, non-list object.
 *
 * @example
 * ```ts
 * isPlainObject({}); // true
 * ```
 */
export const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

/**
 * A strict object codec: `t.exact(t.type(props))` (every key validated, all failures reported)
 * plus a check that rejects unknown keys, which `t.exact` alone would drop silently. A missing
 * key whose codec has no default reads `is required`.
 *
 * @example
 * ```ts
 * import { positive } from "./config-values.ts";
 * strictObject({ beta: withDefault(positive, 0.1) }).decode({ bta: 1 }); // Left: bta: unknown key (did you mean "beta"?)
 * ```
 */
export const strictObject = <P extends t.Props>(
  props: P,
  name?: string,
): t.Type<t.TypeOfProps<P>, t.OutputOfProps<P>, unknown> => {
  const inner = t.exact(t.type(props), name);
  const known = Object.keys(props);
  return new t.Type<t.TypeOfProps<P>, t.OutputOfProps<P>, unknown>(
    inner.name,
    (u): u is t.TypeOfProps<P> => inner.is(u) && Object.keys(u).every((k) => known.includes(k)),
    (u, c) => {
      if (!isPlainObject(u)) return t.failure(u, c, `must be an object (got ${showValue(u)})`);
      const extra: t.ValidationError[] = Object.keys(u)
        .filter((k) => !known.includes(k))
        .map((k) => ({
          value: u[k],
          context: [...c, { key: k, type: t.unknown, actual: u[k] }],
          message: unknownNameMessage("key", k, known),
        }));
      const result = inner.validate(u, c);
      // a failure on an absent key (one without a default) reads "is required"
      const own = either.isLeft(result)
        ? result.left.map((e) =>
          e.context.length === c.length + 1 && u[e.context[c.length].key] === undefined
            ? { ...e, message: "is required" }
            : e
        )
        : [];
      if (extra.length > 0 || own.length > 0) return t.failures([...extra, ...own]);
      if (either.isLeft(result)) return result;
      // the keys in the declared order, so a written config reads the same way every time
      const decoded = result.right as Record<string, unknown>;
      const ordered: Record<string, unknown> = {};
      for (const k of known) if (decoded[k] !== undefined) ordered[k] = decoded[k];
      return t.success(ordered as t.TypeOfProps<P>);
    },
    inner.encode,
  );
};

/** A failure found by a cross-field check: its path below the checked value, and the rule. */
export interface CheckIssue {
  /** Keys from the checked value down, e.g. `["klWeights"]` or `["training", "lr"]`. */
  readonly path: readonly string[];
  /** `cannot be combined with alpha/beta`. */
  readonly message: string;
  /** The offending value, shown as `(got …)` when given. */
  readonly value?: unknown;
}

/**
 * `codec`, then `check` on the decoded value (cross-field rules: mutually exclusive keys, one
 * bound against another). Each returned issue becomes a failure at its path.
 *
 * @example
 * ```ts
 * import * as t from "io-ts";
 * const codec = t.type({ lo: t.number, hi: t.number });
 * withChecks(codec, (v) => v.lo < v.hi ? [] : [{ path: ["lo"], message: "must be < hi", value: v.lo }]);
 * ```
 */
export const withChecks = <A, O>(
  codec: t.Type<A, O, unknown>,
  check: (value: A) => readonly CheckIssue[],
): t.Type<A, O, unknown> =>
  new t.Type<A, O, unknown>(
    codec.name,
    (u): u is A => codec.is(u) && check(u).length === 0,
    (u, c) => {
      const result = codec.validate(u, c);
      if (either.isLeft(result)) return result;
      const issues = check(result.right);
      if (issues.length === 0) return result;
      return t.failures(issues.map((issue) => ({
        value: issue.value,
        context: [...c, ...issue.path.map((key) => ({ key, type: t.unknown, actual: undefined }))],
        message: "value" in issue ? `${issue.message} (got ${showValue(issue.value)})` : issue.message,
      })));
    },
    codec.encode,
  );

/**
 * The issue for a per-iteration list longer than the number of iterations, or undefined.
 *
 * @example
 * ```ts
 * perIterationLengthIssue(["alpha"], [1, 0.5, 0.5], 2); // { path: ["alpha"], message: "has 3 values but iterations is 2 ..." }
 * ```
 */
export const perIterationLengthIssue = (
  path: readonly string[],
  value: PerIteration<unknown>,
  iterations: number,
): CheckIssue | undefined =>
  Array.isArray(value) && value.length > iterations
    ? {
      path,
      message:
        `has ${value.length} values but iterations is ${iterations} (one value per iteration; a shorter list repeats its last value)`,
    }
    : undefined;
