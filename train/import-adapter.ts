/**
 * Importing a LoRA adapter trained by another engine (TRL, any PEFT trainer) as an iterate, checked
 * against the run before anything is written:
 *
 * - every adapted module is a projection of this model, with A [r, in] and B [out, r] of the model's
 *   sizes (an adapter of another architecture or size names its first wrong module);
 * - the adapted modules are exactly those the configured `target_modules` select (PEFT adapts every
 *   match, so a missing or extra module means another target list or `layers_to_transform`);
 * - `r` (and `lora_alpha`, when configured) equal the run's;
 * - `base_model_name_or_path`, when both the adapter and the run name one, is one of the names the run
 *   accepts (the model folder, its hub id): an adapter trained on another base is refused. An adapter
 *   that names none (null or "") passes: the shape checks above still hold it to this model.
 *
 * The accepted adapter is rewritten in this project's PEFT layout (models/peft.ts: float32, config
 * last), so iterates trained here and elsewhere load alike.
 *
 * @example
 * ```ts
 * import { writePeftAdapter } from "../models/peft.ts";
 * import type { ModelConfig } from "../models/config.ts";
 * declare const config: ModelConfig; // the base model's
 * const adapter = await importTrainedAdapter("runs/demo/iter-2/trl-output", {
 *   modelConfig: config, r: 16, targetModules: ["q_proj", "v_proj"], baseModelNames: ["google/gemma-2b"],
 * });
 * await writePeftAdapter("runs/demo/iter-2/adapter", adapter, { baseModelNameOrPath: "google/gemma-2b" });
 * ```
 *
 * @module
 */
import { resolve } from "node:path";
import type { ModelConfig } from "../models/config.ts";
import { matchesTarget } from "../models/lora.ts";
import { type PeftAdapter, readPeftAdapter } from "../models/peft.ts";
import { projections } from "../models/weights.ts";

/** What an imported adapter must agree with. */
export interface AdapterExpectations {
  /** The base model's configuration (module names and sizes). */
  readonly modelConfig: ModelConfig;
  /** The configured rank r. */
  readonly r: number;
  /** The configured `lora_alpha`; not checked when absent. */
  readonly alpha?: number;
  /** The configured target modules (names matched as PEFT does, or "all-linear"). */
  readonly targetModules: readonly string[] | "all-linear";
  /** Names of the base model the adapter's `base_model_name_or_path` may carry; empty: not checked. */
  readonly baseModelNames?: readonly string[];
}

const listSome = (names: readonly string[]): string =>
  names.slice(0, 3).join(", ") + (names.length > 3 ? ` and ${names.length - 3} more` : "");

const sameModelName = (a: string, b: string): boolean => {
  const trim = (s: string) => s.replace(/[/\\]+$/, "");
  return trim(a) === trim(b) || resolve(a) === resolve(b);
};

/**
 * The problems of an adapter against the run's expectations, one line each (empty: it fits). Pure.
 *
 * @example
 * ```ts
 * import type { PeftAdapter } from "../models/peft.ts";
 * import type { ModelConfig } from "../models/config.ts";
 * declare const config: ModelConfig; // the base model's
 * declare const adapter: PeftAdapter; // trained with r = 4
 * adapterMismatches(adapter, { modelConfig: config, r: 8, targetModules: ["q_proj"] });
 * // ["r is 4, the run is configured with r = 8"]
 * ```
 */
export const adapterMismatches = (adapter: PeftAdapter, want: AdapterExpectations): string[] => {
  const problems: string[] = [];
  if (adapter.settings.r !== want.r) {
    problems.push(`r is ${adapter.settings.r}, the run is configured with r = ${want.r}`);
  }
  const alpha = adapter.peftConfig.lora_alpha;
  if (want.alpha !== undefined && alpha !== want.alpha) {
    problems.push(
      `lora_alpha is ${JSON.stringify(alpha)}, the run is configured with lora_alpha = ${want.alpha}`,
    );
  }
  const names = want.baseModelNames ?? [];
  const base = adapter.baseModelNameOrPath;
  if (names.length > 0 && base !== null && base !== "" && !names.some((n) => sameModelName(n, base))) {
    problems.push(
      `base_model_name_or_path is ${JSON.stringify(base)}, the run's base model is ${
        names.map((n) => JSON.stringify(n)).join(" or ")
      } (an adapter trained on another base model)`,
    );
  }
  const byName = new Map(projections(want.modelConfig).map((p) => [p.module, p]));
  const foreign = Object.keys(adapter.modules).filter((m) => !byName.has(m));
  if (foreign.length > 0) {
    problems.push(
      `adapts ${listSome(foreign)}, not a projection of this ${want.modelConfig.modelType} model ` +
        `(it has e.g. ${listSome([...byName.keys()])})`,
    );
  }
  for (const [name, { A, B }] of Object.entries(adapter.modules)) {
    const p = byName.get(name);
    if (p === undefined || A.shape[0] !== adapter.settings.r) continue; // reported above / by r
    if (A.shape[1] !== p.inFeatures || B.shape[0] !== p.outFeatures) {
      problems.push(
        `${name} has lora_A [${A.shape}] and lora_B [${B.shape}], the model needs [${adapter.settings.r},${p.inFeatures}] and [${p.outFeatures},${adapter.settings.r}]`,
      );
      break; // one is enough to say the sizes are another model's
    }
  }
  const expected = [...byName.keys()].filter((m) => matchesTarget(m, want.targetModules));
  const missing = expected.filter((m) => !(m in adapter.modules));
  const extra = Object.keys(adapter.modules).filter((m) =>
    byName.has(m) && !matchesTarget(m, want.targetModules)
  );
  if (missing.length > 0 || extra.length > 0) {
    problems.push(
      `target modules ${JSON.stringify(adapter.settings.targetModules)} differ from the run's ${
        JSON.stringify(want.targetModules)
      }` + (missing.length > 0 ? `; not adapted: ${listSome(missing)}` : "") +
        (extra.length > 0 ? `; adapted but not a target: ${listSome(extra)}` : ""),
    );
  }
  return problems;
};

/**
 * Read a PEFT adapter folder written by an external trainer and check it against the run; throws an
 * Error naming the folder and every mismatch.
 *
 * @example
 * ```ts
 * import type { ModelConfig } from "../models/config.ts";
 * declare const config: ModelConfig; // the base model's
 * const dir = "runs/demo/iter-2/trl-output";
 * const adapter = await importTrainedAdapter(dir, { modelConfig: config, r: 16, targetModules: ["q_proj", "v_proj"] });
 * ```
 */
export const importTrainedAdapter = async (dir: string, want: AdapterExpectations): Promise<PeftAdapter> => {
  let adapter: PeftAdapter;
  try {
    adapter = await readPeftAdapter(dir);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`the trained adapter cannot be imported: ${reason}`);
  }
  const problems = adapterMismatches(adapter, want);
  if (problems.length > 0) {
    throw new Error(`the trained adapter in ${dir} does not fit this run:\n  - ${problems.join("\n  - ")}`);
  }
  return adapter;
};
