/**
 * Loss parameters, decoded with the same codecs as the run config (core/config.ts): a strict object
 * of required keys that rejects unknown ones (so a typo such as `bta` is an error, with a "did you
 * mean", not a silently ignored field), the value codecs of core/config-values.ts (`positive`,
 * `numberIn`, …), and one error line per failure, `params.<key>: <rule> (got <value>)`.
 *
 * @example
 * ```ts
 * import { numberIn, positive } from "../core/config.ts";
 * const codec = paramsCodec<{ beta: number; gamma: number }>("my_loss", { beta: positive, gamma: numberIn(0, 1) });
 * decodeParams("my_loss", codec, { beta: 0.1, gamma: 2 });
 * // TypeError: loss "my_loss": params.gamma: must be in [0, 1] (got 2)
 * ```
 *
 * @module
 */
import type * as t from "io-ts";
import { either } from "fp-ts";
import { issuesOf, strictObject } from "../core/config.ts";

/** The props of a parameter record: one codec per key. */
export type ParamsProps<P> = { readonly [K in keyof P]: t.Type<P[K], P[K], unknown> };

/**
 * A codec for a parameter record with exactly the keys of `props`: every key must be present and
 * valid (a loss's defaults are merged in before decoding, losses/define.ts), and an unknown key fails
 * with the closest known one, or the list of them.
 *
 * @example
 * ```ts
 * import { positive } from "../core/config.ts";
 * const codec = paramsCodec<{ beta: number }>("sigmoid", { beta: positive });
 * codec.decode({ beta: 0.1, bta: 1 }); // Left: bta: unknown key (did you mean "beta"?)
 * ```
 */
export const paramsCodec = <P extends object>(lossName: string, props: ParamsProps<P>): t.Type<P, P, unknown> =>
  strictObject(props as unknown as t.Props, `${lossName}Params`) as unknown as t.Type<P, P, unknown>;

/**
 * Turn io-ts errors into lines "params.beta: must be > 0 (got -1)".
 *
 * @example
 * ```ts
 * import { positive } from "../core/config.ts";
 * const result = paramsCodec<{ beta: number }>("sigmoid", { beta: positive }).decode({ beta: -1 });
 * if (result._tag === "Left") formatParamErrors(result.left); // ["params.beta: must be > 0 (got -1)"]
 * ```
 */
export const formatParamErrors = (errors: t.Errors): string[] =>
  issuesOf(errors).map((i) => `params${i.path === "(root)" ? "" : `.${i.path}`}: ${i.message}`);

/**
 * Decode `value` with `codec`, or throw a TypeError naming the loss and every bad key.
 *
 * @example
 * ```ts
 * import { numberIn, positive } from "../core/config.ts";
 * const codec = paramsCodec<{ beta: number; labelSmoothing: number }>("sigmoid", {
 *   beta: positive, labelSmoothing: numberIn(0, 0.5, { hiOpen: true }),
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
