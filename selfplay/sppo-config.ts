/**
 * The SPPO part of the run config: `method` ("spin", the default, or "sppo") and the `sppo` block
 * (docs/sppo.md). config-codecs.ts joins these keys into the run config and config.ts calls their
 * rules; this file holds their codecs, their types and their cross-field rules, so the SPPO settings
 * read in one place.
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

/**
 * The `sppo.bt` block: the reward model of `oracle: "bt"` (docs/sppo.md says what it is trained on):
 * its epochs and learning rate over the (SFT answer ≻ π_base sample) pairs, and β_RM, the scale of
 * its implicit reward r(y) = β_RM·(lp_RM(y) − lp_base(y)) (bt_reward's β).
 */
export const btOracleCodec = strictObject({
  epochs: withDefault(positiveInt, 2),
  lr: withDefault(positive, 1e-3),
  beta: withDefault(positive, 1),
}, "bt");

/**
 * The `sppo` block: `samples` (K ≥ 2 per prompt from π_{t−1}), `oracle`, `eta` (η; null: η_t = 1/β_t),
 * `pairs` ("best-worst": one pair per prompt, the highest and lowest win rate; "all": rank r with
 * rank K − 1 − r) and `bt`.
 */
export const sppoCodec = strictObject({
  samples: withDefault(atLeastTwo, 4),
  oracle: withDefault(oracleCodec, "exact"),
  eta: optionalNull(positive),
  pairs: withDefault(oneOf(["best-worst", "all"] as const), "best-worst"),
  bt: withDefault(btOracleCodec, {}),
}, "sppo");

/** The `sppo` block, resolved. */
export type SppoConfig = t.TypeOf<typeof sppoCodec>;
/** The reward model of `oracle: "bt"`, resolved. */
export type BtOracleConfig = t.TypeOf<typeof btOracleCodec>;

/** The codecs of `method` and `sppo`, spread into the run config's keys (config-codecs.ts). */
export const sppoConfigFields = {
  method: withDefault(oneOf(["spin", "sppo"] as const), "spin"),
  sppo: withDefault(sppoCodec, {}),
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
interface SppoRuleInput {
  readonly method: "spin" | "sppo";
  readonly sppo: SppoConfig;
  readonly h: number | "all";
  readonly opponent: string;
  readonly reference: { readonly mixture: string };
  readonly generation: { readonly engine: string; readonly seeding: string | null };
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
  if (c.reference.mixture !== "geometric") {
    issues.push({ path: ["reference"], message: 'must be "geometric" with method "sppo" (α = 1 gives SPPO\'s π_{t−1})', value: c.reference.mixture });
  }
  if (c.generation.engine !== "local") {
    issues.push({ path: ["generation", "engine"], message: 'must be "local" with method "sppo" (its K samples per prompt are decoded here)' });
  }
  if (c.generation.seeding === "example") {
    issues.push({ path: ["generation", "seeding"], message: 'must be "batch" with method "sppo" (one seed per example would make its K samples equal)' });
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
