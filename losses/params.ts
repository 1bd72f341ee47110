/**
 * io-ts building blocks for loss parameters: a strict object codec that rejects unknown keys (so
 * a typo such as `bta` is an error, not a silently ignored field), number codecs with ranges, and
 * readable error messages.
 *
 * @example
 * ```ts
 * import * as t from "io-ts";
 * const codec = paramsCodec("my_loss", { beta: positiveNumber, gamma: numberInRange(0, 1) });
 * decodeParams("my_loss", codec, { beta: 0.1, gamma: 2 });
 * // TypeError: loss "my_loss": params.gamma: expected a number in [0, 1], got 2
 * ```
 *
 * @module
 */
import * as t from "io-ts";
import { either } from "fp-ts";

/**
 * A number codec accepting finite numbers for which `ok` holds; `description` names the rule in
 * error messages ("a number > 0").
 *
 * @example
 * ```ts
 * const probability = numberWhere("a number in [0, 1]", (x) => x >= 0 && x <= 1);
 * ```
 */
export const numberWhere = (description: string, ok: (x: number) => boolean): t.Type<number, number, unknown> =>
  new t.Type<number, number, unknown>(
    description,
    (u): u is number => typeof u === "number" && Number.isFinite(u) && ok(u),
    (u, c) =>
      typeof u === "number" && Number.isFinite(u) && ok(u)
        ? t.success(u)
        : t.failure(u, c, `expected ${description}, got ${JSON.stringify(u)}`),
    t.identity,
  );

/** A finite number > 0. @example `paramsCodec("x", { beta: positiveNumber })` */
export const positiveNumber: t.Type<number, number, unknown> = numberWhere("a number > 0", (x) => x > 0);

/** A finite number >= 0. @example `paramsCodec("x", { lambda: nonNegativeNumber })` */
export const nonNegativeNumber: t.Type<number, number, unknown> = numberWhere("a number >= 0", (x) => x >= 0);

/** Any finite number. @example `paramsCodec("x", { delta: finiteNumber })` */
export const finiteNumber: t.Type<number, number, unknown> = numberWhere("a finite number", () => true);

/**
 * A finite number in the interval from `lo` to `hi`; `open` makes either end exclusive.
 *
 * @example
 * ```ts
 * numberInRange(0, 0.5, { hiOpen: true }); // [0, 0.5)
 * ```
 */
export const numberInRange = (
  lo: number,
  hi: number,
  { loOpen = false, hiOpen = false }: { loOpen?: boolean; hiOpen?: boolean } = {},
): t.Type<number, number, unknown> =>
  numberWhere(
    `a number in ${loOpen ? "(" : "["}${lo}, ${hi}${hiOpen ? ")" : "]"}`,
    (x) => (loOpen ? x > lo : x >= lo) && (hiOpen ? x < hi : x <= hi),
  );

/** The props of a parameter record: one codec per key. */
export type ParamsProps<P> = { readonly [K in keyof P]: t.Type<P[K], P[K], unknown> };

/**
 * A codec for a parameter record with exactly the keys of `props`: every key must be present and
 * valid, and an unknown key fails with the list of known ones.
 *
 * @example
 * ```ts
 * const codec = paramsCodec("sigmoid", { beta: positiveNumber });
 * codec.decode({ beta: 0.1, bta: 1 }); // Left: unknown parameter "bta" (known: beta)
 * ```
 */
export const paramsCodec = <P extends object>(lossName: string, props: ParamsProps<P>): t.Type<P, P, unknown> => {
  const inner = t.type(props as unknown as t.Props);
  const known = Object.keys(props);
  return new t.Type<P, P, unknown>(
    `${lossName}Params`,
    (u): u is P => inner.is(u) && Object.keys(u as object).every((k) => known.includes(k)),
    (u, c) => {
      if (typeof u !== "object" || u === null || Array.isArray(u)) {
        return t.failure(u, c, `expected an object of parameters (${known.join(", ")}), got ${JSON.stringify(u)}`);
      }
      const unknownKeys = Object.keys(u).filter((k) => !known.includes(k));
      if (unknownKeys.length > 0) {
        return t.failures(unknownKeys.map((k) => ({
          value: (u as Record<string, unknown>)[k],
          context: [...c, { key: k, type: t.unknown, actual: (u as Record<string, unknown>)[k] }],
          message: `unknown parameter "${k}" (known: ${known.join(", ")})`,
        })));
      }
      return inner.validate(u, c) as t.Validation<P>;
    },
    t.identity,
  );
};

/**
 * Turn io-ts errors into lines "params.beta: expected a number > 0, got -1".
 *
 * @example
 * ```ts
 * const result = paramsCodec("sigmoid", { beta: positiveNumber }).decode({ beta: -1 });
 * if (result._tag === "Left") formatParamErrors(result.left); // ["params.beta: expected a number > 0, got -1"]
 * ```
 */
export const formatParamErrors = (errors: t.Errors): string[] =>
  errors.map((e) => {
    const path = ["params", ...e.context.map((c) => c.key).filter((k) => k !== "")].join(".");
    const message = e.message ?? `expected ${e.context[e.context.length - 1]?.type.name}, got ${JSON.stringify(e.value)}`;
    return `${path}: ${message}`;
  });

/**
 * Decode `value` with `codec`, or throw a TypeError naming the loss and every bad key.
 *
 * @example
 * ```ts
 * const codec = paramsCodec<{ beta: number; labelSmoothing: number }>("sigmoid", {
 *   beta: positiveNumber, labelSmoothing: numberInRange(0, 0.5, { hiOpen: true }),
 * });
 * decodeParams("sigmoid", codec, { beta: 0.1, labelSmoothing: 0 }); // { beta: 0.1, labelSmoothing: 0 }
 * ```
 */
export const decodeParams = <P>(lossName: string, codec: t.Type<P, P, unknown>, value: unknown): P => {
  const result = codec.decode(value);
  if (either.isLeft(result)) {
    throw new TypeError(`loss "${lossName}": ${formatParamErrors(result.left).join("; ")}`);
  }
  return result.right;
};
