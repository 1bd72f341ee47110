/**
 * The SPPO part of the run config: `method` ("spin", the default, or "sppo") and the `sppo` block
 * (docs/sppo.md). config.ts joins these keys into the run config; this file holds their codecs,
 * their types and their cross-field rules, so the SPPO settings read in one place.
 *
 * - `sppo.samples`: K ≥ 2 answers sampled per prompt from π_{t−1} at every iteration.
 * - `sppo.oracle`: who says P(y ≻ y' | x): `"exact"` (the synthetic task's known p_data),
 *   `"bt"` (a Bradley–Terry reward model the run trains with `bt_reward`), or
 *   `{ "module": path }` (a module exporting `preference`).
 * - `sppo.eta`: the SPPO step size η; null (the default) means η = 1/β_t.
 * - `sppo.pairs`: how the K ranked samples become the (chosen, rejected) pairs the loss takes.
 * - `sppo.bt`: the reward model's training (with `oracle: "bt"` only).
 *
 * @example
 * ```ts
 * import { resolveRunConfig } from "./config.ts";
 * const config = resolveRunConfig({ name: "x", data: { train: "t.jsonl" }, method: "sppo", sppo: { samples: 4 } });
 * config.loss.name; // "sppo" (the default loss of method "sppo")
 * config.sppo.oracle; // "exact"
 * ```
 *
 * @module
 */
import * as t from "io-ts";
import {
  type CheckIssue,
  isPlainObject,
  nonEmptyString,
  oneOf,
  optionalNull,
  positive,
  positiveInt,
  refined,
  strictObject,
  withDefault,
} from "../core/config.ts";

/** Where the preferences come from. */
export type OracleSetting = "exact" | "bt" | { readonly module: string };

/** The Bradley–Terry reward model of `oracle: "bt"` (docs/sppo.md says what it is trained on). */
export interface BtOracleConfig {
  /** Epochs over the (SFT answer ≻ π_base sample) pairs. */
  readonly epochs: number;
  readonly lr: number;
  /** Scale of the implicit reward r(y) = β·(lp_RM(y) − lp_base(y)) (bt_reward's β). */
  readonly beta: number;
}

/** The `sppo` block, resolved. */
export interface SppoConfig {
  /** K: answers sampled per prompt from π_{t−1} (≥ 2). */
  readonly samples: number;
  readonly oracle: OracleSetting;
  /** η; null: η_t = 1/β_t. */
  readonly eta: number | null;
  /** "best-worst": one pair per prompt (highest and lowest win rate); "all": rank i with rank K+1−i. */
  readonly pairs: "best-worst" | "all";
  readonly bt: BtOracleConfig;
}

/** The SPPO keys of a resolved run config. */
export interface SppoRunFields {
  readonly method: "spin" | "sppo";
  readonly sppo: SppoConfig;
}

const atLeastTwo = refined<number>(
  "samplesAtLeastTwo",
  "must be an integer >= 2 (a win rate needs other samples to play against)",
  (u): u is number => typeof u === "number" && Number.isSafeInteger(u) && u >= 2,
);

const oracleCodec = new t.Type<OracleSetting, OracleSetting, unknown>(
  "oracle",
  (u): u is OracleSetting => u === "exact" || u === "bt" || (isPlainObject(u) && typeof u.module === "string"),
  (u, c) =>
    isPlainObject(u)
      ? strictObject({ module: nonEmptyString }, "oracle").validate(u, c)
      : oneOf(["exact", "bt"] as const).validate(u, c),
  t.identity,
);

/** The codecs of `method` and `sppo`, spread into the run config's keys. */
export const sppoConfigFields = {
  method: withDefault(oneOf(["spin", "sppo"] as const), "spin"),
  sppo: withDefault(
    strictObject({
      samples: withDefault(atLeastTwo, 4),
      oracle: withDefault(oracleCodec, "exact"),
      eta: optionalNull(positive),
      pairs: withDefault(oneOf(["best-worst", "all"] as const), "best-worst"),
      bt: withDefault(
        strictObject({
          epochs: withDefault(positiveInt, 2),
          lr: withDefault(positive, 1e-3),
          beta: withDefault(positive, 1),
        }, "bt"),
        {},
      ),
    }, "sppo"),
    {},
  ),
};

/**
 * The raw config with the defaults `method: "sppo"` implies filled in before decoding: the loss is
 * `sppo` unless `loss.name` says otherwise (method "spin" keeps the run config's "sigmoid").
 *
 * @example
 * ```ts
 * withMethodDefaults({ method: "sppo" }); // { method: "sppo", loss: { name: "sppo" } }
 * ```
 */
export const withMethodDefaults = (u: unknown): unknown => {
  if (!isPlainObject(u) || u.method !== "sppo") return u;
  const loss = u.loss === undefined ? {} : u.loss;
  if (!isPlainObject(loss) || loss.name !== undefined) return u;
  return { ...u, loss: { ...loss, name: "sppo" } };
};

/** The raw keys the SPPO rules read. */
interface SppoRuleInput extends SppoRunFields {
  readonly h: number | "all";
  readonly opponent: string;
  readonly reference: string;
  readonly beta: unknown;
  readonly klWeights: unknown;
  readonly geometricSampling: { readonly enabled: boolean };
}

/**
 * The cross-field rules of method "sppo": SPPO samples from π_{t−1} alone (h = 1, the window
 * opponent, plain sampling) against the geometric reference, and η is given once.
 *
 * @example
 * ```ts
 * declare const raw: Parameters<typeof sppoIssues>[0];
 * sppoIssues(raw); // [] or the problems, each with its path
 * ```
 */
export const sppoIssues = (c: SppoRuleInput): CheckIssue[] => {
  if (c.method !== "sppo") return [];
  const issues: CheckIssue[] = [];
  const why = 'method "sppo" samples from π_{t−1} alone';
  if (c.h !== 1) issues.push({ path: ["h"], message: `must be 1 with ${why}`, value: c.h });
  if (c.opponent !== "window") issues.push({ path: ["opponent"], message: `must be "window" with ${why}`, value: c.opponent });
  if (c.geometricSampling.enabled) issues.push({ path: ["geometricSampling", "enabled"], message: `must be false with ${why}` });
  if (c.reference !== "geometric") {
    issues.push({ path: ["reference"], message: 'must be "geometric" with method "sppo" (α = 1 gives SPPO\'s π_{t−1})', value: c.reference });
  }
  if (c.sppo.eta !== null && (c.beta !== null || c.klWeights !== null)) {
    issues.push({ path: ["sppo", "eta"], message: "give the step size once: sppo.eta, or beta (η = 1/β), not both" });
  }
  return issues;
};

/**
 * β_t of a SPPO iteration: 1/η when `sppo.eta` is set, else the run's β_t.
 *
 * @example
 * ```ts
 * sppoBeta({ eta: 4 } as SppoConfig, 0.1); // 0.25
 * ```
 */
export const sppoBeta = (sppo: SppoConfig, beta: number): number => (sppo.eta === null ? beta : 1 / sppo.eta);
