/**
 * SPPO's preference oracle: P(a ≻ b | x) for two answers to one prompt, from one of
 *
 * - `"exact"` (the synthetic task, data/synthetic.ts): Bradley–Terry on log p_data,
 *   P(a ≻ b | x) = σ(log p_data(a|x) − log p_data(b|x)) = p_data(a|x) / (p_data(a|x) + p_data(b|x)),
 *   with p_data(y|x) = 0 for an answer outside the support or one that did not end with EOS, and
 *   P = ½ when both are 0 (the limit of equal rewards). Its Nash policy is not p_data (BT
 *   preferences are maximized by the mode): docs/sppo.md says what that means for the KL metric.
 * - `{ module }`: a user module exporting `preference(query)` (or a default export), loaded when the
 *   run is prepared, like the config's `imports`.
 * - `"bt"`: a reward model trained by the run (phases/reward-model.ts), not a function of this file.
 *
 * Every answer the oracle returns is checked: a finite number in [0, 1], else the run stops naming
 * the oracle, the example and the value.
 *
 * @example
 * ```ts
 * import { exactPreference } from "./oracle.ts";
 * const a = { text: "7", finished: true }, b = { text: "= 7", finished: true };
 * exactPreference({ prompt: "add 3 4\n", exampleId: "x", a, b }); // 0.5 / (0.5 + 0.3) = 0.625
 * ```
 *
 * @module
 */
import { ConfigError } from "../core/config.ts";
import { answerDistribution } from "../data/synthetic.ts";
import type { PreparedExample } from "./examples.ts";
import { importUrl } from "./imports.ts";
import type { OracleSetting } from "./sppo-config.ts";

/** One answer as the oracle sees it: its text (special tokens left out) and whether it ended with EOS. */
export interface OracleAnswer {
  readonly text: string;
  readonly finished: boolean;
}

/** What the oracle is asked: P(a ≻ b | prompt). */
export interface PreferenceQuery {
  readonly prompt: string;
  /** The example's own id (for messages and lookups). */
  readonly exampleId: string;
  readonly a: OracleAnswer;
  readonly b: OracleAnswer;
}

/** A preference oracle: P(a ≻ b | x) ∈ [0, 1]. */
export type PreferenceOracle = (query: PreferenceQuery) => number | Promise<number>;

/** p_data(y | x) of the synthetic task (0 off the support or without EOS). */
const dataProbability = (prompt: string, answer: OracleAnswer): number =>
  !answer.finished ? 0 : answerDistribution(prompt).filter((s) => s.completion === answer.text).reduce((s, a) => s + a.prob, 0);

/**
 * The exact oracle of the synthetic task (see the module doc).
 *
 * @example
 * ```ts
 * exactPreference({ prompt: "add 3 4\n", exampleId: "x", a: { text: "8", finished: true }, b: { text: "7", finished: true } }); // 0
 * ```
 */
export const exactPreference: PreferenceOracle = ({ prompt, a, b }) => {
  const pa = dataProbability(prompt, a), pb = dataProbability(prompt, b);
  return pa + pb === 0 ? 0.5 : pa / (pa + pb);
};

/** Refuse `oracle: "exact"` on data that is not the synthetic task, naming the first such example. */
const checkSynthetic = (examples: readonly PreparedExample[]): void => {
  for (const e of examples) {
    try {
      answerDistribution(e.prompt);
    } catch {
      throw new ConfigError("run config", [{
        path: "sppo.oracle",
        message: `"exact" needs the synthetic task's prompts (data/synthetic.ts); ${e.where}: ${JSON.stringify(e.prompt)} is not one ` +
          '(use "bt" or a { "module" } oracle for other data)',
      }]);
    }
  }
};

/** Import a user oracle module and take its `preference` (or default) export. */
const moduleOracle = async (entry: string): Promise<PreferenceOracle> => {
  const url = importUrl(entry);
  let mod: Record<string, unknown>;
  try {
    mod = await import(url);
  } catch (e) {
    const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new ConfigError("run config", [{ path: "sppo.oracle.module", message: `cannot import ${JSON.stringify(entry)} (${url}): ${why}` }]);
  }
  const fn = mod.preference ?? mod.default;
  if (typeof fn !== "function") {
    throw new ConfigError("run config", [{
      path: "sppo.oracle.module",
      message: `${JSON.stringify(entry)} exports no function "preference" (nor a default function)`,
    }]);
  }
  return fn as PreferenceOracle;
};

/**
 * The oracle of a run config's `sppo.oracle`, checked against the examples; null for `"bt"` (the
 * run trains it). Throws a ConfigError naming `sppo.oracle` before anything is written.
 *
 * @example
 * ```ts
 * import type { PreparedExample } from "./examples.ts";
 * declare const examples: PreparedExample[];
 * const oracle = await loadOracle({ module: "./my-oracle.ts" }, examples);
 * ```
 */
export const loadOracle = async (setting: OracleSetting, examples: readonly PreparedExample[]): Promise<PreferenceOracle | null> => {
  if (setting === "bt") return null;
  if (setting === "exact") {
    checkSynthetic(examples);
    return exactPreference;
  }
  return await moduleOracle(setting.module);
};

/**
 * Ask the oracle and check its answer (a finite number in [0, 1]).
 *
 * @example
 * ```ts
 * declare const query: PreferenceQuery;
 * await askOracle(exactPreference, "exact", query); // in [0, 1]
 * ```
 */
export const askOracle = async (oracle: PreferenceOracle, name: string, query: PreferenceQuery): Promise<number> => {
  const p = await oracle(query);
  if (typeof p !== "number" || !Number.isFinite(p) || p < 0 || p > 1) {
    throw new RangeError(`oracle ${name} answered ${String(p)} for example ${query.exampleId}: a preference must be a number in [0, 1]`);
  }
  return p;
};

/**
 * A raw run config with `sppo.oracle.module` made a URL from `base` (the config file's folder), as
 * `alpha-spin train` does for `imports`, so the run folder's copy of the config works from anywhere.
 * Anything else (no module, a malformed value) is left as it is for the codec to judge.
 *
 * @example
 * ```ts
 * oracleModuleFrom({ sppo: { oracle: { module: "./oracle.mjs" } } }, "/home/me/run");
 * // { sppo: { oracle: { module: "file:///home/me/run/oracle.mjs" } } }
 * ```
 */
export const oracleModuleFrom = (raw: unknown, base: string): unknown => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return raw;
  const sppo = (raw as { sppo?: { oracle?: { module?: unknown } } }).sppo;
  const module = sppo?.oracle?.module;
  if (typeof module !== "string" || module.trim() === "") return raw;
  return { ...raw, sppo: { ...sppo, oracle: { ...sppo!.oracle, module: importUrl(module, base) } } };
};
