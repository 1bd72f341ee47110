/**
 * The checks a run makes once the config, the base model's config and the tokenized data are known,
 * and before anything is written: what would otherwise fail only after the run folder exists (in
 * generation, in the reference pre-compute or in the first training step), leaving a folder that
 * can be neither reused nor resumed.
 *
 * - `workers`: at most the machine's cores (each gradient worker is a thread with its own copy of
 *   the model; hundreds of them exhaust memory before the first step).
 * - `lora.targetModules` must match a projection of the model, and `lora.r` must be at most the
 *   smallest min(in, out) of the adapted projections: B·A of an [out, in] projection has rank at
 *   most min(in, out), so a larger r adds parameters (and memory) but no capacity.
 * - Every sequence the run will feed the model fits its positions: prompt + answer, and prompt +
 *   the longest loser the run can make (min(generation.maxNewTokens, maxLength − prompt) tokens).
 *   The first offender is named by file:line.
 * - `equalShare.pairsPerMember` fits the examples (and, with disjoint shares, every iteration's window).
 *
 * @example
 * ```ts
 * import { resolveRunConfig } from "./config.ts";
 * const config = resolveRunConfig({ name: "x", data: { train: "t.jsonl" }, workers: 2 });
 * checkRunBounds(config); // config only (spin checks it before --fresh); throws on a 1-core machine
 * ```
 *
 * @module
 */
import { availableParallelism } from "node:os";
import { ConfigError, showValue } from "../core/config.ts";
import { DataError } from "../data/jsonl.ts";
import type { ModelConfig } from "../models/config.ts";
import { defaultLoraTargets, matchesTarget } from "../models/lora.ts";
import { projections } from "../models/weights.ts";
import type { RunConfig } from "./config.ts";
import type { PreparedExample } from "./examples.ts";

/**
 * The threads this machine runs at once (os.availableParallelism, else navigator.hardwareConcurrency).
 *
 * @example
 * ```ts
 * machineCores(); // e.g. 2
 * ```
 */
export const machineCores = (): number => {
  try {
    const n = availableParallelism();
    if (Number.isInteger(n) && n >= 1) return n;
  } catch {
    // an older runtime without availableParallelism: ask the navigator
  }
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof n === "number" && Number.isInteger(n) && n >= 1 ? n : 1;
};

const refuse = (path: string[], message: string, value?: unknown): never => {
  const got = value === undefined ? "" : ` (got ${showValue(value)})`;
  throw new ConfigError("run config", [{ path: path.join("."), message: message + got }]);
};

/**
 * The checks that need only the config and the machine (no model, no data): `workers` ≤ cores.
 *
 * @example
 * ```ts
 * import { resolveRunConfig } from "./config.ts";
 * checkRunBounds(resolveRunConfig({ name: "x", data: { train: "t.jsonl" }, workers: 3 }), 2); // throws: workers at most 2
 * ```
 */
export const checkRunBounds = (config: RunConfig, cores: number = machineCores()): void => {
  if (config.workers > cores) {
    refuse(["workers"], `must be at most ${cores}, the cores of this machine (each worker is a thread with its own model)`, config.workers);
  }
};

/**
 * The LoRA checks against the model: targets that match, and r ≤ the smallest min(in, out) of the
 * adapted projections. Nothing to check for full fine-tuning.
 *
 * @example
 * ```ts
 * import { readHfConfig } from "../models/hf-load.ts";
 * import { resolveRunConfig } from "./config.ts";
 * const config = resolveRunConfig({ name: "x", data: { train: "t.jsonl" }, lora: { r: 1024 } });
 * checkLoraFits(config, await readHfConfig("./gpt2")); // throws: gpt2's c_attn is 768 → 2304, so r ≤ 768
 * ```
 */
export const checkLoraFits = (config: RunConfig, model: ModelConfig): void => {
  if (config.finetune !== "lora") return;
  const targets = config.lora.targetModules === "auto" ? defaultLoraTargets(model) : config.lora.targetModules;
  const all = projections(model);
  const chosen = all.filter((p) => matchesTarget(p.module, targets));
  if (chosen.length === 0) {
    const names = [...new Set(all.map((p) => p.module.split(".").pop()))].join(", ");
    refuse(["lora", "targetModules"], `matches no projection of the model (it has ${names})`, targets);
  }
  const bound = Math.min(...chosen.map((p) => Math.min(p.inFeatures, p.outFeatures)));
  if (config.lora.r > bound) {
    const at = chosen.find((p) => Math.min(p.inFeatures, p.outFeatures) === bound)!;
    refuse(
      ["lora", "r"],
      `must be at most ${bound}, the smaller side of the adapted projection ${at.module} ` +
        `(${at.inFeatures} -> ${at.outFeatures}): a larger rank adds parameters but no capacity`,
      config.lora.r,
    );
  }
};

/**
 * Refuse the first example whose prompt, prompt + answer, or prompt + longest possible loser does
 * not fit the model's positions (`modelWhere` names the model's config file in the message).
 *
 * @example
 * ```ts
 * import { readHfConfig } from "../models/hf-load.ts";
 * import { resolveRunConfig } from "./config.ts";
 * const config = resolveRunConfig({ name: "x", data: { train: "t.jsonl" }, maxLength: 2048 });
 * const examples = [{ index: 0, id: "a", where: "t.jsonl:1", prompt: "…", completion: "…", promptMessages: null,
 *   promptIds: new Array(1000).fill(1), chosenIds: new Array(100).fill(2) }];
 * checkLengthsFit(config, await readHfConfig("./gpt2"), examples, "gpt2/config.json"); // throws: t.jsonl:1: … 1100 tokens
 * ```
 */
export const checkLengthsFit = (
  config: RunConfig,
  model: ModelConfig,
  examples: readonly PreparedExample[],
  modelWhere: string,
): void => {
  const positions = model.maxPositions;
  const limit = `the model's ${positions} positions (${modelWhere})`;
  const fix = `set maxLength to at most ${positions} (longer answers are then cut to fit)`;
  for (const ex of examples) {
    const prompt = ex.promptIds.length, answer = ex.chosenIds.length;
    const loser = Math.min(config.generation.maxNewTokens, config.maxLength - prompt);
    let message: string | null = null;
    if (prompt >= positions) {
      message = `the prompt is ${prompt} tokens, leaving no room for an answer within ${limit}: ` +
        `set maxPromptLength below ${positions}`;
    } else if (prompt + answer > positions) {
      message = `prompt + answer is ${prompt} + ${answer} = ${prompt + answer} tokens, more than ${limit}: ${fix}`;
    } else if (prompt + loser > positions) {
      message = `prompt + a generated answer can reach ${prompt} + ${loser} = ${prompt + loser} tokens ` +
        `(generation.maxNewTokens ${config.generation.maxNewTokens}), more than ${limit}: ${fix}, ` +
        `or generation.maxNewTokens to at most ${positions - prompt}`;
    }
    if (message !== null) throw new DataError([{ where: ex.where, message }]);
  }
};

/**
 * The equal-share split against the number of examples: `pairsPerMember` at most the examples, and
 * with `disjoint` shares, window size × pairsPerMember at most the examples at every iteration
 * (the window of iteration t holds min(h, t) iterates, t with h = "all", one EMA opponent).
 *
 * @example
 * ```ts
 * import { resolveRunConfig } from "./config.ts";
 * checkOpponentShares(resolveRunConfig({ name: "x", data: { train: "t.jsonl" }, equalShare: { pairsPerMember: 500 } }), 400); // throws
 * ```
 */
export const checkOpponentShares = (config: RunConfig, examples: number): void => {
  const n = config.equalShare.pairsPerMember;
  if (config.assignment !== "equal-share" || n === "all" || n === "split") return;
  if (n > examples) {
    refuse(["equalShare", "pairsPerMember"], `must be at most ${examples}, the number of training examples`, n);
  }
  if (!config.equalShare.disjoint) return;
  for (let t = 1; t <= config.iterations; t++) {
    const size = config.opponent === "ema" ? 1 : config.h === "all" ? t : Math.min(config.h, t);
    if (size * n > examples) {
      refuse(
        ["equalShare", "pairsPerMember"],
        `with disjoint shares, opponents × pairsPerMember must be at most the ${examples} training examples, ` +
          `but iteration ${t} has ${size} opponents (${size} × ${n} = ${size * n}): at most ${Math.floor(examples / size)}`,
        n,
      );
    }
  }
};

/**
 * Every check of this module (see the module doc); throws the first problem, writes nothing.
 *
 * @example
 * ```ts
 * import { readHfConfig } from "../models/hf-load.ts";
 * import { resolveRunConfig } from "./config.ts";
 * preflightRun(resolveRunConfig({ name: "x", data: { train: "t.jsonl" } }), await readHfConfig("./gpt2"), [], "gpt2/config.json");
 * ```
 */
export const preflightRun = (
  config: RunConfig,
  model: ModelConfig,
  examples: readonly PreparedExample[],
  modelWhere: string,
): void => {
  checkRunBounds(config);
  checkLoraFits(config, model);
  checkOpponentShares(config, examples.length);
  checkLengthsFit(config, model, examples, modelWhere);
};
