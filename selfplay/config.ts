/**
 * The α-SPIN run config (`run.json`): an io-ts codec with defaults and cross-field rules,
 * {@link resolveRunConfig} to get a fully defaulted config, {@link iterationSettings} for the α, β,
 * learning rate and epochs of iteration t, and {@link configFingerprint} for resume checks.
 * Every key, its default and its rule are listed in docs/config.md.
 *
 * @example
 * ```ts
 * const config = resolveRunConfig({ name: "demo", data: { train: "ultrachat.jsonl" }, beta: [0.1, 0.1, 5] });
 * iterationSettings(config, 3); // { alpha: 1, beta: 5, lr: 5e-5, epochs: 3 }
 * ```
 *
 * @module
 */
import * as t from "io-ts";
import { either } from "fp-ts";
import {
  type CheckIssue,
  type ConfigError,
  decodeWith,
  didYouMean,
  type PerIteration,
  perIterationAt,
  perIterationLengthIssue,
  withChecks,
} from "../core/config.ts";
import { klWeightsToBetaAlpha } from "../core/mixture.ts";
import { alphaSpinRefusal } from "../losses/alpha-spin.ts";
import type { AnyLoss } from "../losses/types.ts";
import { rawRunConfigCodec, resolvedRunConfigCodec, runConfigDefaults } from "./config-codecs.ts";
import type { RunConfig } from "./config-types.ts";
import { engineIssues, resolveReferenceServer, resolveSeeding } from "./config-engines.ts";
import { resolveLoserSampler, samplerIssues } from "./sampler-config.ts";
import { listwiseIssues } from "./listwise.ts";
import { sppoBeta, sppoIssues, withMethodDefaults } from "./sppo-config.ts";
import { trainingEngineIssues } from "./config-training-engine.ts";

export type * from "./config-types.ts";
export { historyLength, runConfigDefaults } from "./config-codecs.ts";

type RawRunConfig = t.TypeOf<typeof rawRunConfigCodec>;

/** Options of {@link runConfigCodec} and {@link resolveRunConfig}. */
export interface RunConfigOptions {
  /** Loss names the registry knows; when given, `loss.name` must be one of them. */
  readonly knownLosses?: readonly string[];
  /**
   * The registry to look the loss up in; when given, a loss that is not margin-only is refused for
   * every iteration t ≥ 2 with 0 < α_t < 1, unless `loss.allowNonInvariant` opts in. (At t = 1,
   * π_prev is π_base and the reference is π_base itself, whatever α.)
   */
  readonly lossRegistry?: { get(name: string): AnyLoss; names(): readonly string[] };
}

const crossFieldIssues = (c: RawRunConfig, options: RunConfigOptions): CheckIssue[] => {
  const issues: (CheckIssue | undefined)[] = [];
  if (c.klWeights !== null && (c.alpha !== null || c.beta !== null)) {
    issues.push({
      path: ["klWeights"],
      message: "cannot be combined with alpha/beta: give either alpha and beta, or klWeights {beta, lambda}",
    });
  }
  const T = c.iterations;
  const lists: [string[], PerIteration<unknown> | null][] = [
    [["alpha"], c.alpha],
    [["beta"], c.beta],
    [["klWeights", "beta"], c.klWeights?.beta ?? null],
    [["klWeights", "lambda"], c.klWeights?.lambda ?? null],
    [["training", "epochs"], c.training.epochs],
    [["training", "lr"], c.training.lr],
  ];
  for (const [path, value] of lists) if (value !== null) issues.push(perIterationLengthIssue(path, value, T));
  if (c.klWeights !== null) {
    for (let it = 1; it <= T; it++) {
      if (perIterationAt(c.klWeights.beta, it) + perIterationAt(c.klWeights.lambda, it) <= 0) {
        issues.push({
          path: ["klWeights"],
          message: `beta + lambda must be > 0 at every iteration (both are 0 at iteration ${it})`,
        });
        break;
      }
    }
  }
  if (c.maxPromptLength !== null && c.maxPromptLength >= c.maxLength) {
    issues.push({
      path: ["maxPromptLength"],
      message: `must be < maxLength (${c.maxLength}), to leave room for the completion`,
      value: c.maxPromptLength,
    });
  }
  if ("beta" in c.loss.params) {
    issues.push({
      path: ["loss", "params", "beta"],
      message: "set beta at the top level (it may vary per iteration), not in loss.params",
    });
  }
  if (options.knownLosses !== undefined && !options.knownLosses.includes(c.loss.name)) {
    const guess = didYouMean(c.loss.name, options.knownLosses);
    issues.push({
      path: ["loss", "name"],
      message: `unknown loss "${c.loss.name}" (${
        guess === undefined ? "" : `did you mean "${guess}"? `
      }known: ${options.knownLosses.join(", ")})`,
    });
  }
  if (c.equalShare.disjoint && c.equalShare.pairsPerMember === "all") {
    issues.push({
      path: ["equalShare", "disjoint"],
      message: 'needs a number of pairsPerMember (with "all", every member gets every example)',
    });
  }
  if (c.geometricSampling.enabled && c.reference.mixture !== "geometric") {
    issues.push({
      path: ["geometricSampling", "enabled"],
      message: `needs reference "geometric" (got reference "${c.reference.mixture}")`,
    });
  }
  issues.push(...engineIssues(c), ...sppoIssues(c), ...listwiseIssues(c), ...trainingEngineIssues(c));
  issues.push(...samplerIssues(c.generation, c.geometricSampling, c.reference.mixture, c.method));
  return issues.filter((i): i is CheckIssue => i !== undefined);
};

/** The refusal of a loss that is not margin-only with 0 < α < 1 (losses/alpha-spin.ts), once per run. */
const referenceIssues = (config: RunConfig, options: RunConfigOptions): CheckIssue[] => {
  const registry = options.lossRegistry;
  if (registry === undefined || !registry.names().includes(config.loss.name)) return [];
  const loss = registry.get(config.loss.name);
  const allow = config.loss.allowNonInvariant;
  for (let it = 2; it <= config.iterations; it++) {
    const refusal = alphaSpinRefusal(loss, iterationSettings(config, it).alpha, allow === undefined ? {} : { allowNonInvariant: allow });
    if (refusal !== undefined) {
      return [{
        path: ["loss", "name"],
        message: `iteration ${it}: ${refusal} In a run config the opt-in is "loss": { "allowNonInvariant": "per-prompt-normalizer-ignored" }.`,
      }];
    }
  }
  return [];
};

const resolveDefaults = (c: RawRunConfig): RunConfig => ({
  ...c, // key order is kept: outputDir, alpha, beta and training are replaced in place
  outputDir: c.outputDir ?? `runs/${c.name}`,
  alpha: c.klWeights === null ? (c.alpha ?? runConfigDefaults.alpha) : null,
  beta: c.klWeights === null ? (c.beta ?? runConfigDefaults.beta) : null,
  training: {
    ...c.training,
    lr: c.training.lr ?? (c.finetune === "lora" ? runConfigDefaults.lrLora : runConfigDefaults.lrFull),
  },
  generation: {
    ...c.generation,
    seeding: resolveSeeding(c.generation),
    sampler: resolveLoserSampler(c.generation.sampler, c.geometricSampling),
  },
  reference: resolveReferenceServer(c.reference, c.generation.openai),
});

/**
 * The run config codec: decodes a raw `run.json` (or an already resolved config: resolving is
 * idempotent) to a fully defaulted {@link RunConfig}, checking every key and the cross-field rules.
 *
 * @example
 * ```ts
 * import { lossRegistry } from "../losses/mod.ts";
 * declare const text: string; // the run config file's contents
 * runConfigCodec({ knownLosses: lossRegistry.names() }).decode(JSON.parse(text)); // Right(config) or Left(errors)
 * ```
 */
export const runConfigCodec = (options: RunConfigOptions = {}): t.Type<RunConfig, unknown, unknown> => {
  const checked = withChecks(rawRunConfigCodec, (c) => crossFieldIssues(c, options));
  const resolved = new t.Type<RunConfig, unknown, unknown>(
    "RunConfig",
    (u): u is RunConfig => resolvedRunConfigCodec.is(u) && checked.is(u),
    (u, c) => either.map(resolveDefaults)(checked.validate(withMethodDefaults(u), c)),
    t.identity,
  );
  return withChecks(resolved, (c) => referenceIssues(c, options));
};

/**
 * Decode and resolve a raw run config: Right with the {@link RunConfig}, or Left with a
 * {@link ConfigError} listing every problem as `<path>: <rule> (got <value>)`.
 *
 * @example
 * ```ts
 * decodeRunConfig({ name: "x", data: { train: "a.jsonl" }, alpha: 2 }); // Left: alpha: must be in [0, 1] (got 2)
 * ```
 */
export const decodeRunConfig = (
  raw: unknown,
  options: RunConfigOptions = {},
): either.Either<ConfigError, RunConfig> => decodeWith(runConfigCodec(options), raw, "run config");

/**
 * Decode and resolve a raw run config, or throw the {@link ConfigError}.
 *
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 * const config = resolveRunConfig(JSON.parse(await readFile("run.json", "utf8")));
 * config.outputDir; // "runs/<name>"
 * ```
 */
export const resolveRunConfig = (raw: unknown, options: RunConfigOptions = {}): RunConfig => {
  const result = decodeRunConfig(raw, options);
  if (either.isLeft(result)) throw result.left;
  return result.right;
};

/** The settings of one iteration, after per-iteration lists and KL weights are resolved. */
export interface IterationSettings {
  /** Weight of π_{t−1} in the geometric reference. */
  readonly alpha: number;
  /** The loss temperature β (β + λ when given as KL weights). */
  readonly beta: number;
  readonly lr: number;
  readonly epochs: number;
}

/**
 * α, β, learning rate and epochs of iteration `t` (1-based, at most `config.iterations`). With
 * klWeights, β' = β + λ and α = β / (β + λ) (core/mixture).
 *
 * @example
 * ```ts
 * iterationSettings(resolveRunConfig({ name: "x", data: { train: "a.jsonl" }, klWeights: { beta: 0.3, lambda: 0.1 } }), 1);
 * // { alpha: 0.75, beta: 0.4, lr: 5e-5, epochs: 3 }
 * ```
 */
export const iterationSettings = (config: RunConfig, t: number): IterationSettings => {
  if (!Number.isInteger(t) || t < 1 || t > config.iterations) {
    throw new RangeError(`iteration must be an integer in [1, ${config.iterations}], got ${t}`);
  }
  const lr = perIterationAt(config.training.lr, t);
  const epochs = perIterationAt(config.training.epochs, t);
  if (config.klWeights !== null) {
    const { beta, alpha } = klWeightsToBetaAlpha(
      perIterationAt(config.klWeights.beta, t),
      perIterationAt(config.klWeights.lambda, t),
    );
    return { alpha, beta, lr, epochs };
  }
  return {
    alpha: perIterationAt(config.alpha ?? runConfigDefaults.alpha, t),
    beta: sppoBeta(config.sppo, perIterationAt(config.beta ?? runConfigDefaults.beta, t)),
    lr,
    epochs,
  };
};

export { configFingerprint, fingerprintIgnoredKeys } from "./fingerprint.ts";
