/**
 * The loss registry: every built-in loss by name, and `register` so a user adds one in one call.
 *
 * @example
 * ```ts
 * import { lossRegistry } from "./registry.ts";
 * lossRegistry.names();           // ["apo_down", "apo_zero", "bco_pair", ...]
 * const dpo = lossRegistry.get("sigmoid");
 * lossRegistry.register(defineLoss({ name: "my_loss", ... }));
 * ```
 *
 * @module
 */
import { apoDownLoss, apoZeroLoss } from "./apo.ts";
import { bcoPairLoss } from "./bco.ts";
import { btRewardLoss } from "./bt-reward.ts";
import { discopopLoss } from "./discopop.ts";
import { exoPairLoss } from "./exo.ts";
import { hingeLoss, slicLoss } from "./hinge.ts";
import { ipoLoss, ipoUnnormalizedLoss } from "./ipo.ts";
import { ncaPairLoss } from "./nca.ts";
import { plackettLuceLoss } from "./plackett-luce.ts";
import { robustLoss, sigmoidLoss } from "./sigmoid.ts";
import { simpoLoss } from "./simpo.ts";
import { spacLoss } from "./spac.ts";
import { sppoHardLoss, sppoLoss } from "./sppo.ts";
import type { AnyLoss } from "./types.ts";

/** A mutable set of losses keyed by name. */
export interface LossRegistry {
  /** The loss called `name`; throws a RangeError listing the known names when there is none. */
  get(name: string): AnyLoss;
  /** True when a loss called `name` is registered. */
  has(name: string): boolean;
  /**
   * Add `loss` (made with `defineLoss`). A name already taken throws, unless `{ replace: true }`.
   * Returns the registry, so calls chain.
   */
  register(loss: AnyLoss, options?: { replace?: boolean }): LossRegistry;
  /** Registered names, sorted. */
  names(): string[];
  /** Every registered loss, sorted by name. */
  all(): AnyLoss[];
}

/** Every built-in loss, in the order docs/losses.md lists them. */
export const builtinLosses: readonly AnyLoss[] = [
  sigmoidLoss,
  hingeLoss,
  ipoLoss,
  ipoUnnormalizedLoss,
  robustLoss,
  exoPairLoss,
  ncaPairLoss,
  bcoPairLoss,
  sppoHardLoss,
  apoZeroLoss,
  apoDownLoss,
  discopopLoss,
  slicLoss,
  sppoLoss,
  spacLoss,
  btRewardLoss,
  simpoLoss,
  plackettLuceLoss,
];

const isLoss = (x: unknown): x is AnyLoss =>
  typeof x === "object" && x !== null && typeof (x as AnyLoss).name === "string" &&
  typeof (x as AnyLoss).compute === "function" && typeof (x as AnyLoss).resolveParams === "function" &&
  typeof (x as AnyLoss).marginOnly === "boolean";

/**
 * A new registry holding `initial` (the built-ins by default). Use it for an isolated set (tests,
 * plugins); most programs use the shared {@link lossRegistry}.
 *
 * @example
 * ```ts
 * const mine = createLossRegistry([]);
 * mine.register(myLoss);
 * ```
 */
export const createLossRegistry = (initial: readonly AnyLoss[] = builtinLosses): LossRegistry => {
  const byName = new Map<string, AnyLoss>();
  const registry: LossRegistry = {
    get(name) {
      const loss = byName.get(name);
      if (!loss) {
        throw new RangeError(`unknown loss "${name}"; known losses: ${registry.names().join(", ")}`);
      }
      return loss;
    },
    has: (name) => byName.has(name),
    register(loss, options = {}) {
      if (!isLoss(loss)) {
        throw new TypeError("register: expected a loss made with defineLoss (name, marginOnly, compute, resolveParams)");
      }
      if (byName.has(loss.name) && !options.replace) {
        throw new RangeError(`a loss named "${loss.name}" is already registered; pass { replace: true } to replace it`);
      }
      byName.set(loss.name, loss);
      return registry;
    },
    names: () => [...byName.keys()].sort(),
    all: () => registry.names().map((n) => byName.get(n)!),
  };
  for (const loss of initial) registry.register(loss);
  return registry;
};

/**
 * The shared registry, holding every built-in loss.
 *
 * @example
 * ```ts
 * const { loss } = lossRegistry.get("ipo").compute(ops)({ ...pair, chosenTokens, rejectedTokens });
 * ```
 */
export const lossRegistry: LossRegistry = createLossRegistry();
