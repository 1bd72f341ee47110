/**
 * The demo of `alpha-spin spin`: the synthetic task the embedded base model was trained on, and the
 * α-SPIN run `alpha-spin spin` performs when given no arguments (where the model lives in the package
 * is models/embedded.ts's; the library loads it for `model: "embedded"` without this demo).
 *
 * The default run is small enough for a 2-core machine (a few minutes): T = 3 iterations of
 * α-SPIN with α = 0.9 and β = 1 on the embedded GPT-2-style byte-level model (a LoRA adapter per
 * iteration), a few hundred SFT pairs of the synthetic task as winners, losers sampled from the
 * previous iterate. What each iteration does is documented in docs/main-job.md.
 *
 * @example
 * ```ts
 * import { defaultSpinRun, embeddedModelDir } from "./default-run.ts";
 * const dir = embeddedModelDir();                 // ".../assets/embedded"
 * const raw = defaultSpinRun({ iterations: 2 });  // a raw run config (resolveRunConfig takes it)
 * ```
 *
 * @module
 */
import type { SyntheticTaskOptions } from "../data/synthetic.ts";

export { embeddedModelDir } from "../models/embedded.ts";

/**
 * The synthetic task of the embedded default: the embedded model's SFT corpus is its train split,
 * the default run's winners are the first `defaultRunPairs` train examples, and the held-out NLL is
 * measured on its held-out split.
 *
 * @example
 * ```ts
 * import { makeSyntheticTask } from "../data/synthetic.ts";
 * const task = makeSyntheticTask(embeddedTaskOptions);
 * ```
 */
export const embeddedTaskOptions: SyntheticTaskOptions = Object.freeze({
  seed: 2024,
  nTrain: 4000,
  nHeldOut: 400,
  nTest: 400,
  promptSplit: "shared",
});

/**
 * Winners per iteration in the default run (the first train examples).
 *
 * @example
 * ```ts
 * import { makeSyntheticTask } from "../data/synthetic.ts";
 * makeSyntheticTask(embeddedTaskOptions).train.slice(0, defaultRunPairs);
 * ```
 */
export const defaultRunPairs = 384;

/**
 * Held-out examples the default run's per-iteration NLL is measured on.
 *
 * @example
 * ```ts
 * import { makeSyntheticTask } from "../data/synthetic.ts";
 * const task = makeSyntheticTask(embeddedTaskOptions);
 * task.heldOut.slice(0, defaultEvalHeldOut);
 * ```
 */
export const defaultEvalHeldOut = 400;

/** What `alpha-spin spin` may change in the default run. */
export interface DefaultRunOverrides {
  readonly name?: string;
  readonly outputDir?: string;
  readonly iterations?: number;
  readonly alpha?: number;
  readonly beta?: number;
  readonly h?: number | "all";
  readonly seed?: number;
  readonly backend?: string;
  /** Path of the train JSONL (prompt/completion) the run reads. */
  readonly train?: string;
  readonly epochs?: number;
  readonly lr?: number;
}

/**
 * The default α-SPIN run as a raw run config (selfplay/config.ts decodes and resolves it). The
 * model is the embedded one (`"embedded"`, which the run setup maps to {@link embeddedModelDir});
 * `train` must point at a JSONL of the default run's winners
 * ({"id", "prompt", "completion"} rows, as `alpha-spin spin` writes them to `<outputDir>/train.jsonl`).
 *
 * @example
 * ```ts
 * import { resolveRunConfig } from "../selfplay/config.ts";
 * const config = resolveRunConfig(defaultSpinRun({ train: "runs/default/train.jsonl" }));
 * config.iterations; // 3
 * ```
 */
export const defaultSpinRun = (overrides: DefaultRunOverrides = {}): Record<string, unknown> => ({
  name: overrides.name ?? "default",
  ...(overrides.outputDir === undefined ? {} : { outputDir: overrides.outputDir }),
  model: "embedded",
  backend: overrides.backend ?? "wasm",
  seed: overrides.seed ?? 42,
  data: { train: overrides.train ?? "runs/default/train.jsonl", schema: "prompt-completion" },
  iterations: overrides.iterations ?? 3,
  alpha: overrides.alpha ?? 0.9,
  beta: overrides.beta ?? 1,
  h: overrides.h ?? 1,
  loss: { name: "sigmoid" },
  finetune: "lora",
  lora: { r: 8, alpha: 16, dropout: 0, targetModules: "all-linear" },
  training: {
    epochs: overrides.epochs ?? 2,
    lr: overrides.lr ?? 2e-3,
    batchSize: 32,
    warmupRatio: 0.1,
    schedule: "linear",
  },
  maxLength: 64,
  maxPromptLength: 32,
  generation: { maxNewTokens: 16, temperature: 1, topK: 0, topP: 1, minP: 0, batchSize: 128 },
  exports: { trlDpo: false, spin: false },
});
