/**
 * Everything a run checks and loads before it writes anything: the config (io-ts, every problem by
 * path and rule), the loss and its parameters for every iteration, the loss/α combination, the
 * backend, the base model, the tokenizer (and that its vocabulary fits the model), the training data
 * (every bad row with file:line), and the fingerprints that guard a resume. A bad input stops here,
 * so a refused run leaves no folder behind.
 *
 * @example
 * ```ts
 * import { prepareRun } from "./setup.ts";
 * declare const text: string; // the run config file's contents
 * const ready = await prepareRun({ config: JSON.parse(text) });
 * ready.examples.length; // tokenized, truncated SFT examples
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { loadBackend } from "../backends/load.ts";
import type { BackendRequest } from "../backends/types.ts";
import * as tf from "@tensorflow/tfjs";
import { loadSftExamples, type SftExample } from "../data/sft.ts";
import { lossRegistry as defaultRegistry, type LossRegistry } from "../losses/registry.ts";
import type { AnyLoss } from "../losses/types.ts";
import { applyChatTemplate } from "../models/chat-template.ts";
import { pathExists } from "../models/fs.ts";
import { loadHfModel } from "../models/hf-load.ts";
import { loadTokenizer } from "../models/hf-tokenizer.ts";
import type { Tokenizer } from "../models/tokenizer.ts";
import type { Transformer } from "../models/transformer.ts";
import { configFingerprint, fingerprintIgnoredKeys, iterationSettings, type RunConfig } from "./config.ts";
import { DecodedRun } from "./decoded-run.ts";
import { checkTokenizerFits, examplesFingerprint, type PreparedExample, prepareExamples } from "./examples.ts";
import { folderFingerprint, modelFingerprint } from "./fingerprint.ts";
import { isPackagedModel, packagedModelDir } from "../models/embedded.ts";
import type { FinetuneSpec } from "../train/params.ts";
import { preflightRun } from "./preflight.ts";
import { checkTrainingCommand } from "./phases/train-command.ts";
import type { RunFingerprints } from "./store.ts";
import { selfPlayLossInputs, sppoLossInputs } from "../train/train.ts";
import { loadOracle, type PreferenceOracle } from "./oracle.ts";

/** What {@link prepareRun} takes (the inputs of `runSelfPlay`). */
export interface PrepareRunOptions {
  /**
   * The run config: raw JSON (decoded and checked here), or a {@link DecodedRun} (decoded once
   * already, with the same loss registry, and used as it is).
   */
  readonly config: unknown;
  /** The base model, already loaded (else loaded from `config.model`). */
  readonly model?: Transformer;
  /**
   * The folder `model` was loaded from, when it was: the run then fingerprints the folder, as a run
   * that loads it itself does, so `alpha-spin train --resume` can continue it (without it the
   * weights in memory are fingerprinted). Ignored without `model`.
   */
  readonly modelDir?: string;
  /** The tokenizer (else loaded from `config.tokenizer`, or the model folder). */
  readonly tokenizer?: Tokenizer;
  /** The SFT examples (else loaded from `config.data`). */
  readonly data?: readonly SftExample[];
  /** The tfjs backend: a name, or "current" to keep the active one. Default: the config's. */
  readonly backend?: BackendRequest | "current";
  /** Maps a `model` value that is not a folder (e.g. "embedded") to a folder. */
  readonly resolveModel?: (name: string) => string | Promise<string>;
  /** The loss registry (default: the shared one). */
  readonly lossRegistry?: LossRegistry;
}

/** A run ready to start. */
export interface PreparedRun {
  readonly config: RunConfig;
  readonly loss: AnyLoss;
  readonly base: Transformer;
  /** Whether `base` was loaded here (and must be disposed by the run). */
  readonly ownsBase: boolean;
  /** The base model's folder, when it came from one. */
  readonly modelDir: string | null;
  readonly tokenizer: Tokenizer;
  readonly tokenizerDir: string | null;
  readonly examples: readonly PreparedExample[];
  readonly fingerprints: RunFingerprints;
  readonly spec: FinetuneSpec;
  readonly backend: string;
  readonly warnings: readonly string[];
  /** The URLs of the config's `imports`, imported here (the gradient workers import them too). */
  readonly imports: readonly string[];
  /** Method "sppo": the preference oracle (null for "bt", which the run trains; and for "spin"). */
  readonly oracle: PreferenceOracle | null;
}

/** The finetune spec of a config (LoRA target "auto" = PEFT's per-architecture default). */
export const finetuneSpec = (config: RunConfig): FinetuneSpec => ({
  finetune: config.finetune,
  lora: {
    r: config.lora.r,
    alpha: config.lora.alpha,
    dropout: config.lora.dropout,
    ...(config.lora.targetModules === "auto" ? {} : { targetModules: config.lora.targetModules }),
  },
});

/**
 * Check the loss's required inputs and its parameters at every iteration's β (its invariance
 * against α was checked when the config was decoded).
 */
const checkLoss = (config: RunConfig, registry: LossRegistry): AnyLoss => {
  const loss = registry.get(config.loss.name);
  const provided = config.method === "sppo" ? [...selfPlayLossInputs, ...sppoLossInputs] : selfPlayLossInputs;
  const missing = (loss.requires ?? []).filter((name) => !provided.includes(name));
  if (missing.length > 0) {
    throw new RangeError(
      `loss "${loss.name}" needs inputs ${config.method === "sppo" ? "SPPO" : "self-play"} does not provide (${missing.join(", ")}); ` +
        `it provides ${provided.join(", ")}` +
        (config.method === "spin" && sppoLossInputs.some((n) => missing.includes(n)) ? '; win rates come with "method": "sppo"' : ""),
    );
  }
  for (let t = 1; t <= config.iterations; t++) {
    const { beta } = iterationSettings(config, t);
    try {
      loss.resolveParams({ ...config.loss.params, ...("beta" in loss.defaults ? { beta } : {}) });
    } catch (e) {
      throw new RangeError(`loss.params: ${(e as Error).message}`);
    }
  }
  return loss;
};

const resolveModelDir = async (config: RunConfig, resolve: PrepareRunOptions["resolveModel"]): Promise<string> => {
  if (await pathExists(config.model)) return config.model;
  if (resolve !== undefined) return await resolve(config.model);
  if (isPackagedModel(config.model)) return packagedModelDir(config.model);
  throw new Error(`model folder ${config.model} does not exist (set "model" to a Hugging Face model folder)`);
};

/** The SFT examples (given, or read from data.train), tokenized and cut to the limits, with warnings. */
const tokenizeData = async (
  config: RunConfig,
  tokenizer: Tokenizer,
  vocabSize: number,
  given: PrepareRunOptions["data"],
): Promise<{ examples: ReturnType<typeof prepareExamples>["examples"]; warnings: string[] }> => {
  const chatTemplate = tokenizer.chatTemplate === undefined ? undefined : (
    messages: readonly { role: string; content: string }[],
    addGenerationPrompt: boolean,
  ) => applyChatTemplate(tokenizer, messages, { addGenerationPrompt });
  const sft = given ?? await loadSftExamples(config.data.train, {
    schema: config.data.schema,
    turns: config.data.turns,
    format: config.data.format,
    maxExamples: config.data.maxExamples,
    ...(chatTemplate === undefined ? {} : { chatTemplate }),
  });
  const limited = config.data.maxExamples === null ? sft : sft.slice(0, config.data.maxExamples);
  const prepared = prepareExamples(limited, tokenizer, {
    maxLength: config.maxLength,
    maxPromptLength: config.maxPromptLength,
    vocabSize,
  });
  const warnings: string[] = [];
  if (prepared.boundaryWarning !== null) warnings.push(`${prepared.boundaryCount} example(s): ${prepared.boundaryWarning}`);
  if (prepared.promptsTruncated > 0) {
    warnings.push(`${prepared.promptsTruncated} prompt(s) were cut to their last ${config.maxPromptLength} tokens (maxPromptLength)`);
  }
  if (prepared.completionsTruncated > 0) {
    warnings.push(`${prepared.completionsTruncated} answer(s) were cut to fit maxLength ${config.maxLength}`);
  }
  return { examples: prepared.examples, warnings };
};

/**
 * Check and load everything a run needs (see the module doc). Throws with a clear message on the
 * first bad input; writes nothing.
 *
 * @example
 * ```ts
 * declare const raw: unknown; // the run config as read from JSON
 * const ready = await prepareRun({ config: raw, backend: "cpu" });
 * ```
 */
export const prepareRun = async (options: PrepareRunOptions): Promise<PreparedRun> => {
  const registry = options.lossRegistry ?? defaultRegistry;
  const decoded = options.config instanceof DecodedRun ? options.config : await DecodedRun.decode(options.config, registry);
  if (decoded.registry !== registry) throw new Error("prepareRun: the config was decoded against another loss registry");
  const { config, imports } = decoded;
  const loss = checkLoss(config, registry);
  checkTrainingCommand(config); // training.engine "command": the template and its environment
  const backendName = options.backend ?? config.backend;
  if (backendName !== "current") await loadBackend(backendName, config.threads === null ? {} : { threads: config.threads });
  const backend = tf.getBackend();
  const warnings: string[] = [];

  let modelDir: string | null = null;
  let base: Transformer;
  let ownsBase = false;
  if (options.model !== undefined) {
    base = options.model;
    modelDir = options.modelDir ?? null;
  } else {
    modelDir = await resolveModelDir(config, options.resolveModel);
    base = await loadHfModel(modelDir, { trainable: false });
    ownsBase = true;
  }
  try {
    const tokenizerDir = config.tokenizer ?? modelDir ??
      (isPackagedModel(config.model) ? packagedModelDir(config.model) : (await pathExists(config.model)) ? config.model : null);
    let tokenizer: Tokenizer;
    if (options.tokenizer !== undefined) tokenizer = options.tokenizer;
    else if (tokenizerDir === null) throw new Error('no tokenizer: pass one, or set "tokenizer" in the run config to a folder');
    else tokenizer = await loadTokenizer(tokenizerDir);
    checkTokenizerFits(tokenizer, base.config.vocabSize);
    const prepared = await tokenizeData(config, tokenizer, base.config.vocabSize, options.data);
    preflightRun(config, base.config, prepared.examples, modelDir === null ? "its config" : join(modelDir, "config.json"));
    warnings.push(...prepared.warnings);
    const fingerprints: RunFingerprints = {
      config: configFingerprint(config, [...fingerprintIgnoredKeys, "backend", "workers", "threads", "imports"]),
      data: examplesFingerprint(prepared.examples),
      model: modelDir !== null ? await folderFingerprint(modelDir) : await modelFingerprint(base),
    };
    return {
      config,
      loss,
      base,
      ownsBase,
      modelDir,
      tokenizer,
      tokenizerDir,
      examples: prepared.examples,
      fingerprints,
      spec: finetuneSpec(config),
      backend,
      warnings,
      imports,
      oracle: config.method === "sppo" ? await loadOracle(config.sppo.oracle, prepared.examples) : null,
    };
  } catch (e) {
    if (ownsBase) base.dispose();
    throw e;
  }
};
