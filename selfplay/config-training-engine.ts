/**
 * Which engine trains each iteration: `training.engine` ("local", the default: tfjs in this
 * process; or "command": an external trainer run through a shell command template, such as
 * `accelerate launch scripts/trl_dpo_alpha_spin.py …`), and the `training.command` block the
 * "command" engine needs. The codecs here are spread into the run config's `training` object
 * (config.ts); the rules that involve other keys are {@link trainingEngineIssues}.
 * docs/config.md lists every key; selfplay/phases/train-command.ts runs the command.
 *
 * @example
 * ```ts
 * import { resolveRunConfig } from "./config.ts";
 * const config = resolveRunConfig({
 *   name: "trl", data: { train: "ultrachat.jsonl" },
 *   training: { engine: "command", command: { template: "train --pairs {pairs_jsonl} --out {output_dir}" } },
 * });
 * config.training.command?.timeoutSeconds; // null: no limit
 * ```
 *
 * @module
 */
import type * as t from "io-ts";
import {
  type CheckIssue,
  listOf,
  nonEmptyString,
  oneOf,
  optionalNull,
  positive,
  refined,
  strictObject,
  withDefault,
} from "../core/config.ts";

const envName = refined<string>(
  "envName",
  "must be an environment variable name (letters, digits and '_', not starting with a digit)",
  (u): u is string => typeof u === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(u),
);

/**
 * The keys this module adds to the run config's `training` object (spread into its codec).
 *
 * @example
 * ```ts
 * import { strictObject } from "../core/config.ts";
 * const training = strictObject({ ...trainingEngineFields }, "training");
 * training.decode({ engine: "command" }); // Right: the command block is checked by trainingEngineIssues
 * ```
 */
export const trainingEngineFields = {
  engine: withDefault(oneOf(["local", "command"] as const), "local"),
  command: optionalNull(strictObject({
    /** The shell command template (placeholders: train/external-command.ts, docs/scale-out.md). */
    template: nonEmptyString,
    /** The folder the command runs in (null: the folder alpha-spin was started in). */
    cwd: optionalNull(nonEmptyString),
    /**
     * Environment variables the command needs (e.g. HF_TOKEN): each must be set when the run starts.
     * The command inherits the whole environment; the values are never written to the run folder.
     */
    env: withDefault(listOf(envName), []),
    /** Seconds after which the command is stopped (SIGTERM) and the iteration fails; null: no limit. */
    timeoutSeconds: optionalNull(positive),
  }, "command")),
} satisfies t.Props;

/** `training.engine` and `training.command`, as the resolved config carries them. */
export type TrainingEngineConfig = Readonly<t.TypeOfProps<typeof trainingEngineFields>>;
/** The `training.command` block: how the external trainer is run. */
export type TrainingCommandConfig = Readonly<NonNullable<TrainingEngineConfig["command"]>>;

/** The parts of a decoded run config the engine's rules read. */
interface EngineRuleInput {
  readonly training: TrainingEngineConfig;
  readonly finetune: "lora" | "full";
  readonly opponent: "window" | "ema";
  readonly reference: { readonly mixture: "geometric" | "arithmetic" | "ema" };
  readonly method: "spin" | "sppo";
  readonly listwise: boolean;
}

/**
 * The cross-field rules of the training engine: "command" needs a `training.command` block, LoRA
 * (the command hands back a PEFT adapter) and no EMA (an external trainer keeps none); a command
 * block with the "local" engine is refused too, so a forgotten `engine` is not silently ignored.
 * It trains on pairs only: method "sppo" and `listwise` are refused with it.
 *
 * @example
 * ```ts
 * trainingEngineIssues({
 *   training: { engine: "command", command: null }, finetune: "lora", opponent: "window",
 *   reference: { mixture: "geometric" }, method: "spin", listwise: false,
 * });
 * // [{ path: ["training", "command"], message: 'is needed with training.engine "command" …' }]
 * ```
 */
export const trainingEngineIssues = (c: EngineRuleInput): CheckIssue[] => {
  const { engine, command } = c.training;
  if (engine === "local") {
    return command === null ? [] : [{
      path: ["training", "command"],
      message: 'is only read with training.engine "command" (set the engine, or remove the block)',
    }];
  }
  const issues: CheckIssue[] = [];
  if (command === null) {
    issues.push({
      path: ["training", "command"],
      message: 'is needed with training.engine "command": { "template": "… {pairs_jsonl} … {output_dir} …" }',
    });
  }
  if (c.finetune !== "lora") {
    issues.push({
      path: ["training", "engine"],
      message: `"command" imports a LoRA adapter, so it needs finetune "lora" (got finetune "${c.finetune}")`,
    });
  }
  if (c.method !== "spin") {
    issues.push({ path: ["method"], message: 'must be "spin" with training.engine "command" (SPPO trains on its own pairs, in this process)' });
  }
  if (c.listwise) {
    issues.push({ path: ["listwise"], message: 'cannot be true with training.engine "command" (the command gets pairs in TRL\'s DPO format)' });
  }
  for (const [path, value] of [[["opponent"], c.opponent], [["reference", "mixture"], c.reference.mixture]] as const) {
    if (value === "ema") {
      issues.push({
        path,
        message: 'cannot be "ema" with training.engine "command" (an external trainer keeps no EMA of the weights)',
      });
    }
  }
  return issues;
};

/**
 * The config as its fingerprint sees it: without `training.engine` and `training.command`. Where the
 * gradient steps run, and how the trainer is invoked, stay out of the fingerprint as the backend and
 * the generation/reference engines do (config-engines.ts): a broken template can be fixed before
 * `--resume`, a run may move to another engine between iterations, and a config without these keys
 * keeps the fingerprint it had before they existed.
 *
 * @example
 * ```ts
 * trainingFingerprintView({ seed: 1, training: { lr: 1e-5, engine: "local", command: null } });
 * // { seed: 1, training: { lr: 1e-5 } }
 * ```
 */
export const trainingFingerprintView = (view: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const { engine: _engine, command: _command, ...training } = view.training as Readonly<Record<string, unknown>>;
  return { ...view, training };
};

/**
 * The names in `training.command.env` that are not set in `env`: checked before a run writes
 * anything, so a missing token fails at once rather than after an iteration's generation.
 *
 * @example
 * ```ts
 * missingCommandEnv({ template: "x", cwd: null, env: ["HF_TOKEN"], timeoutSeconds: null }, {}); // ["HF_TOKEN"]
 * ```
 */
export const missingCommandEnv = (
  command: TrainingCommandConfig,
  env: Readonly<Record<string, string | undefined>>,
): string[] => command.env.filter((name) => env[name] === undefined || env[name] === "");
