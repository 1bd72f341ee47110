/**
 * The io-ts codecs of the α-SPIN run config, key by key: what each key accepts and its default.
 * The types of config-types.ts are derived from them (`t.TypeOf`), so a key's type is written once,
 * here. The resolved codec ({@link resolvedRunConfigCodec}) describes a config after
 * `resolveRunConfig` (every key present); the raw codec ({@link rawRunConfigCodec}) is the same with
 * the keys whose default depends on other keys (outputDir, training.lr, generation.seeding,
 * generation.sampler) left optional. The
 * cross-field rules and the resolution are in config.ts; every key is documented in docs/config.md.
 *
 * @example
 * ```ts
 * rawRunConfigCodec.decode({ name: "x", data: { train: "a.jsonl" } }); // Right: outputDir and training.lr null
 * ```
 *
 * @module
 */
import * as t from "io-ts";
import { trainingEngineFields } from "./config-training-engine.ts";
import {
  bool,
  isPlainObject,
  listOf,
  nonEmptyString,
  nonNegative,
  nonNegativeInt,
  nullable,
  numberIn,
  oneOf,
  optionalNull,
  perIteration,
  positive,
  positiveInt,
  probability,
  refined,
  strictObject,
  unitInterval,
  withDefault,
} from "../core/config.ts";
import type { BackendRequest } from "../backends/types.ts";
import type { AssignmentMode } from "../samplers/history.ts";
import type { ResampleMethod } from "../samplers/geometric.ts";
import { generationEngineProps, rawSeeding, referenceCodec } from "./config-engines.ts";
import { generationSamplerProps, rawLoserSampler } from "./sampler-config.ts";
import { listwiseConfigFields } from "./listwise.ts";
import { sppoConfigFields } from "./sppo-config.ts";

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
type TargetModules = "auto" | "all-linear" | readonly string[];
const targetModules = new t.Type<TargetModules, unknown, unknown>(
  "targetModules",
  (u): u is TargetModules => u === "auto" || u === "all-linear" || listOf(nonEmptyString, 1).is(u),
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

/** Where the SFT data comes from and how to read it. */
export const dataCodec = strictObject({
  train: nonEmptyString,
  format: withDefault(oneOf(["auto", "jsonl", "parquet"] as const), "auto"),
  schema: withDefault(oneOf(["messages", "prompt-completion"] as const), "messages"),
  turns: withDefault(oneOf(["first", "multi"] as const), "first"),
  eval: optionalNull(nonEmptyString),
  maxExamples: optionalNull(positiveInt),
}, "data");

/** β·KL(π‖π_{t−1}) + λ·KL(π‖π_base), the alternative to giving α and β. */
export const klWeightsCodec = strictObject(
  { beta: perIteration(nonNegative), lambda: perIteration(nonNegative) },
  "klWeights",
);

/**
 * How `equal-share` splits the examples among the window (samplers/history's EqualShareOptions):
 * pairsPerMember "all" gives every member every example (|W|·N pairs), a number that many examples
 * per member; disjoint: no example goes to two members (needs a number pairsPerMember with
 * |W|·pairsPerMember ≤ N); "split" gives every member ⌊N/|W|⌋ examples, disjoint, so every iteration
 * has about N pairs whatever the window's size.
 */
export const equalShareCodec = strictObject({
  pairsPerMember: withDefault(countAllOrSplit, "all"),
  disjoint: withDefault(bool, false),
}, "equalShare");

/** Losers from the geometric mixture itself, by K-candidate resampling. */
export const geometricSamplingCodec = strictObject({
  enabled: withDefault(bool, false),
  candidates: withDefault(positiveInt, 4),
  resample: withDefault(oneOf(resampleMethods), "systematic"),
}, "geometricSampling");

/**
 * The loss by registry name, and its own parameters (β comes from the run config).
 * allowNonInvariant `"per-prompt-normalizer-ignored"`: train a loss that is not margin-only with
 * 0 < α < 1 against the unnormalized geometric reference (losses/alpha-spin.ts explains what that
 * means); absent, such a run is refused when the config is decoded.
 */
export const lossCodec = strictObject({
  name: withDefault(nonEmptyString, "sigmoid"),
  params: withDefault(lossParams, {}),
  allowNonInvariant: t.union([oneOf(["per-prompt-normalizer-ignored"] as const), t.undefined]),
}, "loss");

const trainingProps = {
  epochs: withDefault(perIteration(positiveInt), 3),
  lr: perIteration(positive),
  batchSize: withDefault(positiveInt, 8),
  gradientAccumulation: withDefault(positiveInt, 1),
  warmupRatio: withDefault(unitInterval, 0.1),
  schedule: withDefault(oneOf(["linear", "cosine", "constant"] as const), "linear"),
  weightDecay: withDefault(nonNegative, 0),
  maxGradNorm: withDefault(nonNegative, 1),
  adamBeta1: withDefault(unitOpen, 0.9),
  adamBeta2: withDefault(unitOpen, 0.999),
  adamEps: withDefault(positive, 1e-8),
  ...trainingEngineFields, // training.engine and training.command (config-training-engine.ts)
};
/** Optimizer, schedule and batching of one iteration's training, resolved (lr set). */
export const trainingCodec = strictObject(trainingProps, "training");
/** The same as written: lr may be absent (its default depends on `finetune`). */
const rawTrainingCodec = strictObject({ ...trainingProps, lr: optionalNull(perIteration(positive)) }, "training");

/** The LoRA adapter trained at each iteration (PEFT's names). */
export const loraCodec = strictObject({
  r: withDefault(positiveInt, 16),
  alpha: withDefault(positive, 16),
  dropout: withDefault(unitOpen, 0.05),
  targetModules: withDefault(targetModules, "auto"),
}, "lora");

const generationProps = {
  maxNewTokens: withDefault(positiveInt, 256),
  temperature: withDefault(nonNegative, 1),
  topK: withDefault(nonNegativeInt, 0),
  topP: withDefault(probability, 1),
  minP: withDefault(unitOpen, 0),
  batchSize: withDefault(positiveInt, 8),
  ...generationEngineProps, // engine, seeding, openai (config-engines.ts)
  ...generationSamplerProps, // sampler, gflownet (sampler-config.ts)
};

/** How losers are sampled, and where. */
export const generationCodec = strictObject(generationProps, "generation");

/**
 * As written: `seeding` may be absent (its default depends on `engine`; config-engines.ts), and so
 * may `sampler` (its default depends on `geometricSampling`; sampler-config.ts).
 */
const rawGenerationCodec = strictObject({ ...generationProps, seeding: rawSeeding, sampler: rawLoserSampler }, "generation");

/** Which exports of each iteration's pairs are written. */
export const exportsCodec = strictObject(
  { trlDpo: withDefault(bool, true), spin: withDefault(bool, true) },
  "exports",
);

const runConfigProps = {
  name: runName,
  outputDir: nonEmptyString,
  model: withDefault(nonEmptyString, runConfigDefaults.model),
  tokenizer: optionalNull(nonEmptyString),
  backend: withDefault(oneOf(backendChoices), runConfigDefaults.backend),
  /** Threads computing each micro-batch's gradient (≥ 1; > 1 needs the wasm, blas or cpu backend). */
  workers: withDefault(positiveInt, 1),
  /** Modules imported before the loss is resolved, and by every gradient worker (imports.ts). */
  imports: withDefault(listOf(nonEmptyString), []),
  /** BLAS threads of the blas backend (process-wide; null: the backend's default, 1). */
  threads: optionalNull(positiveInt),
  seed: withDefault(nonNegativeInt, runConfigDefaults.seed),
  data: dataCodec,
  iterations: withDefault(positiveInt, runConfigDefaults.iterations),
  /** Set (α, β), or klWeights; the unused side is null. */
  alpha: optionalNull(perIteration(unitInterval)),
  beta: optionalNull(perIteration(positive)),
  klWeights: optionalNull(klWeightsCodec),
  h: withDefault(historyLength, runConfigDefaults.h),
  assignment: withDefault(oneOf(assignmentModes), "equal-share"),
  equalShare: withDefault(equalShareCodec, {}),
  opponent: withDefault(oneOf(["window", "ema"] as const), "window"),
  reuseGenerations: withDefault(bool, true),
  geometricSampling: withDefault(geometricSamplingCodec, {}),
  reference: referenceCodec, // a mixture name, or { mixture, engine, openai, logprobs } (config-engines.ts)
  ema: withDefault(strictObject({ decay: withDefault(unitOpen, 0.99) }, "ema"), {}),
  loss: withDefault(lossCodec, {}),
  finetune: withDefault(oneOf(["lora", "full"] as const), "lora"),
  lora: withDefault(loraCodec, {}),
  training: withDefault(trainingCodec, {}),
  maxLength: withDefault(positiveInt, runConfigDefaults.maxLength),
  maxPromptLength: withDefault(nullable(positiveInt), runConfigDefaults.maxPromptLength),
  generation: withDefault(generationCodec, {}),
  exports: withDefault(exportsCodec, {}),
  ...sppoConfigFields, // method, sppo (sppo-config.ts)
  ...listwiseConfigFields, // listwise (listwise.ts)
};

/** A resolved run config: every key present (outputDir and training.lr set), defaults applied. */
export const resolvedRunConfigCodec = strictObject(runConfigProps, "runConfig");

/**
 * A run config as written: the resolved keys, except outputDir and training.lr, whose defaults
 * depend on other keys (name, finetune) and are filled in by `resolveRunConfig`. The key order is
 * the resolved one (a spread keeps each key where it was first written).
 */
export const rawRunConfigCodec = strictObject({
  ...runConfigProps,
  outputDir: optionalNull(nonEmptyString),
  training: withDefault(rawTrainingCodec, {}),
  generation: withDefault(rawGenerationCodec, {}),
}, "runConfig");
