/**
 * The α-SPIN run config (`run.json`): an io-ts codec with defaults and cross-field rules,
 * {@link resolveRunConfig} to get a fully defaulted config, {@link iterationParams} for the α, β,
 * learning rate and epochs of iteration t, and {@link configFingerprint} for resume checks.
 * Every key, its default and its rule are listed in docs/config.md.
 *
 * @example
 * ```ts
 * const config = resolveRunConfig({ name: "demo", data: { train: "ultrachat.jsonl" }, beta: [0.1, 0.1, 5] });
 * iterationParams(config, 3); // { alpha: 1, beta: 5, lr: 5e-5, epochs: 3 }
 * ```
 *
 * @module
 */
import * as t from "io-ts";
import { either } from "fp-ts";
import {
  bool,
  type CheckIssue,
  type ConfigError,
  decodeWith,
  didYouMean,
  isPlainObject,
  listOf,
  nonEmptyString,
  nonNegative,
  nonNegativeInt,
  nullable,
  numberIn,
  oneOf,
  optionalNull,
  type PerIteration,
  perIteration,
  perIterationAt,
  perIterationLengthIssue,
  positive,
  positiveInt,
  probability,
  refined,
  strictObject,
  unitInterval,
  withChecks,
  withDefault,
} from "../core/config.ts";
import { klWeightsToBetaAlpha } from "../core/mixture.ts";
import { alphaSpinRefusal } from "../losses/alpha-spin.ts";
import type { AnyLoss } from "../losses/types.ts";
import type { BackendRequest } from "../backends/types.ts";
import type { AssignmentMode } from "../samplers/history.ts";
import type { ResampleMethod } from "../samplers/geometric.ts";
import type { LoraConfig, RunConfig } from "./config-types.ts";

export type * from "./config-types.ts";

/** Defaults that do not depend on other keys (docs/config.md explains each choice). */
export const runConfigDefaults = {
  model: "embedded",
  backend: "auto",
  seed: 42,
  iterations: 3,
  alpha: 1,
  beta: 0.1,
  h: 1,
  lrLora: 5e-5,
  lrFull: 5e-7,
  maxLength: 1024,
  maxPromptLength: 512,
} as const;

const backendChoices: readonly BackendRequest[] = ["auto", "cpu", "wasm", "blas", "webgpu", "node", "node-gpu"];

const assignmentModes: readonly AssignmentMode[] = ["equal-share", "per-example"];
const resampleMethods: readonly ResampleMethod[] = ["systematic", "multinomial"];

const runName = refined<string>(
  "runName",
  "must be letters, digits, '.', '_' or '-', starting with a letter or digit",
  (u): u is string => typeof u === "string" && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(u),
);
const countOrAll = refined<number | "all">(
  "countOrAll",
  'must be an integer >= 1 or "all"',
  (u): u is number | "all" => u === "all" || (typeof u === "number" && Number.isInteger(u) && u >= 1),
);
/** `equalShare.pairsPerMember`: a count, "all", or "split" (⌊n/|W|⌋ per member, disjoint). */
const countAllOrSplit = refined<number | "all" | "split">(
  "countAllOrSplit",
  'must be an integer >= 1, "all" or "split"',
  (u): u is number | "all" | "split" => u === "split" || countOrAll.is(u),
);
/**
 * The history length h: an integer >= 1, or "all" (fictitious play: the whole history), which may
 * also be written "inf", "∞" or Infinity. Every spelling of "all" decodes to "all", in a run config
 * and on the command line (cli/spin.ts decodes `--h` with this codec) alike.
 *
 * @example
 * ```ts
 * historyLength.decode("∞"); // Right("all")
 * historyLength.decode(2);   // Right(2)
 * ```
 */
export const historyLength: t.Type<number | "all", number | "all", unknown> = new t.Type<number | "all", number | "all", unknown>(
  "historyLength",
  countOrAll.is,
  (u, c) => (u === "inf" || u === "∞" || u === Infinity ? t.success("all") : countOrAll.validate(u, c)),
  t.identity,
);
const targetModules = new t.Type<LoraConfig["targetModules"], unknown, unknown>(
  "targetModules",
  (u): u is LoraConfig["targetModules"] =>
    u === "auto" || u === "all-linear" || listOf(nonEmptyString, 1).is(u),
  (u, c) =>
    Array.isArray(u)
      ? listOf(nonEmptyString, 1).validate(u, c)
      : oneOf(["auto", "all-linear"] as const).validate(u, c),
  t.identity,
);
const lossParams = refined<Record<string, unknown>>(
  "lossParams",
  "must be an object of the loss's parameters",
  (u): u is Record<string, unknown> => isPlainObject(u),
);
const unitOpen = numberIn(0, 1, { hiOpen: true });

const dataCodec = strictObject({
  train: nonEmptyString,
  format: withDefault(oneOf(["auto", "jsonl", "parquet"] as const), "auto"),
  schema: withDefault(oneOf(["messages", "prompt-completion"] as const), "messages"),
  turns: withDefault(oneOf(["first", "multi"] as const), "first"),
  eval: optionalNull(nonEmptyString),
  maxExamples: optionalNull(positiveInt),
}, "data");

const trainingCodec = strictObject({
  epochs: withDefault(perIteration(positiveInt), 3),
  lr: optionalNull(perIteration(positive)),
  batchSize: withDefault(positiveInt, 8),
  gradientAccumulation: withDefault(positiveInt, 1),
  warmupRatio: withDefault(unitInterval, 0.1),
  schedule: withDefault(oneOf(["linear", "cosine", "constant"] as const), "linear"),
  weightDecay: withDefault(nonNegative, 0),
  maxGradNorm: withDefault(nonNegative, 1),
  adamBeta1: withDefault(unitOpen, 0.9),
  adamBeta2: withDefault(unitOpen, 0.999),
  adamEps: withDefault(positive, 1e-8),
}, "training");

const rawCodec = strictObject({
  name: runName,
  outputDir: optionalNull(nonEmptyString),
  model: withDefault(nonEmptyString, runConfigDefaults.model),
  tokenizer: optionalNull(nonEmptyString),
  backend: withDefault(oneOf(backendChoices), runConfigDefaults.backend),
  workers: withDefault(positiveInt, 1),
  imports: withDefault(listOf(nonEmptyString), []),
  threads: optionalNull(positiveInt),
  seed: withDefault(nonNegativeInt, runConfigDefaults.seed),
  data: dataCodec,
  iterations: withDefault(positiveInt, runConfigDefaults.iterations),
  alpha: optionalNull(perIteration(unitInterval)),
  beta: optionalNull(perIteration(positive)),
  klWeights: optionalNull(
    strictObject({ beta: perIteration(nonNegative), lambda: perIteration(nonNegative) }, "klWeights"),
  ),
  h: withDefault(historyLength, runConfigDefaults.h),
  assignment: withDefault(oneOf(assignmentModes), "equal-share"),
  equalShare: withDefault(
    strictObject({
      pairsPerMember: withDefault(countAllOrSplit, "all"),
      disjoint: withDefault(bool, false),
    }, "equalShare"),
    {},
  ),
  opponent: withDefault(oneOf(["window", "ema"] as const), "window"),
  reuseGenerations: withDefault(bool, true),
  geometricSampling: withDefault(
    strictObject({
      enabled: withDefault(bool, false),
      candidates: withDefault(positiveInt, 4),
      resample: withDefault(oneOf(resampleMethods), "systematic"),
    }, "geometricSampling"),
    {},
  ),
  reference: withDefault(oneOf(["geometric", "arithmetic", "ema"] as const), "geometric"),
  ema: withDefault(strictObject({ decay: withDefault(unitOpen, 0.99) }, "ema"), {}),
  loss: withDefault(
    strictObject({
      name: withDefault(nonEmptyString, "sigmoid"),
      params: withDefault(lossParams, {}),
      allowNonInvariant: t.union([oneOf(["per-prompt-normalizer-ignored"] as const), t.undefined]),
    }, "loss"),
    {},
  ),
  finetune: withDefault(oneOf(["lora", "full"] as const), "lora"),
  lora: withDefault(
    strictObject({
      r: withDefault(positiveInt, 16),
      alpha: withDefault(positive, 16),
      dropout: withDefault(unitOpen, 0.05),
      targetModules: withDefault(targetModules, "auto"),
    }, "lora"),
    {},
  ),
  training: withDefault(trainingCodec, {}),
  maxLength: withDefault(positiveInt, runConfigDefaults.maxLength),
  maxPromptLength: withDefault(nullable(positiveInt), runConfigDefaults.maxPromptLength),
  generation: withDefault(
    strictObject({
      maxNewTokens: withDefault(positiveInt, 256),
      temperature: withDefault(nonNegative, 1),
      topK: withDefault(nonNegativeInt, 0),
      topP: withDefault(probability, 1),
      minP: withDefault(unitOpen, 0),
      batchSize: withDefault(positiveInt, 8),
    }, "generation"),
    {},
  ),
  exports: withDefault(
    strictObject({ trlDpo: withDefault(bool, true), spin: withDefault(bool, true) }, "exports"),
    {},
  ),
}, "runConfig");

type RawRunConfig = t.TypeOf<typeof rawCodec>;

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
  if (c.geometricSampling.enabled && c.reference !== "geometric") {
    issues.push({
      path: ["geometricSampling", "enabled"],
      message: `needs reference "geometric" (got reference "${c.reference}")`,
    });
  }
  return issues.filter((i): i is CheckIssue => i !== undefined);
};

/** The refusal of a loss that is not margin-only with 0 < α < 1 (losses/alpha-spin.ts), once per run. */
const referenceIssues = (config: RunConfig, options: RunConfigOptions): CheckIssue[] => {
  const registry = options.lossRegistry;
  if (registry === undefined || !registry.names().includes(config.loss.name)) return [];
  const loss = registry.get(config.loss.name);
  const allow = config.loss.allowNonInvariant;
  for (let it = 2; it <= config.iterations; it++) {
    const refusal = alphaSpinRefusal(loss, iterationParams(config, it).alpha, allow === undefined ? {} : { allowNonInvariant: allow });
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
  const checked = withChecks(rawCodec, (c) => crossFieldIssues(c, options));
  const resolved = new t.Type<RunConfig, unknown, unknown>(
    "RunConfig",
    (u): u is RunConfig => checked.is(u),
    (u, c) => either.map(resolveDefaults)(checked.validate(u, c)),
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
export interface IterationParams {
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
 * iterationParams(resolveRunConfig({ name: "x", data: { train: "a.jsonl" }, klWeights: { beta: 0.3, lambda: 0.1 } }), 1);
 * // { alpha: 0.75, beta: 0.4, lr: 5e-5, epochs: 3 }
 * ```
 */
export const iterationParams = (config: RunConfig, t: number): IterationParams => {
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
    beta: perIterationAt(config.beta ?? runConfigDefaults.beta, t),
    lr,
    epochs,
  };
};

export { configFingerprint, fingerprintIgnoredKeys } from "./fingerprint.ts";
