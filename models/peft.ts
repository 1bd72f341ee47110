/**
 * LoRA adapters in PEFT's folder layout, so an adapter trained here loads with
 * `PeftModel.from_pretrained` and one trained with PEFT loads here.
 *
 * A PEFT LoRA folder holds:
 * - `adapter_config.json`: `peft_type` "LORA", `r`, `lora_alpha`, `lora_dropout`, `target_modules`,
 *   `bias` "none", `task_type` "CAUSAL_LM", `base_model_name_or_path`, `fan_in_fan_out` (true for
 *   GPT-2, whose Conv1D weights are [in, out]), `inference_mode`, and more switches this library
 *   either honours or refuses (below).
 * - `adapter_model.safetensors`: for each adapted module with path P in the base model (the
 *   `*ForCausalLM` object, e.g. `model.layers.0.self_attn.q_proj`),
 *   `base_model.model.P.lora_A.weight` [r, in] and `base_model.model.P.lora_B.weight` [out, r]. PEFT
 *   drops the adapter name ("default") from the keys when saving; keys that still carry
 *   `.lora_A.default.weight` are accepted too. The shapes are the same for GPT-2's Conv1D.
 *
 * The update of module P is ΔW = (lora_alpha / r) · B · A, or (lora_alpha / √r) · B · A with
 * `use_rslora`; reading an rsLoRA adapter folds this into the record's alpha (α' = α·√r), so
 * α'/r = α/√r. Refused with a message: other `peft_type`s, `use_dora`, `bias` other than "none",
 * `modules_to_save`, and non-empty `rank_pattern` / `alpha_pattern`.
 *
 * Writing is atomic per file, weights first and config last, so a folder that has an
 * adapter_config.json has its weights.
 *
 * @example
 * ```ts
 * import type { LoraAdapter } from "./lora.ts";
 * declare const adapter: LoraAdapter; // e.g. from createLoraAdapter
 * import { readPeftAdapter, writePeftAdapter } from "./peft.ts";
 * await writePeftAdapter("runs/iter-1", await adapter.toRecord(), { baseModelNameOrPath: "TinyLlama/TinyLlama-1.1B-Chat-v1.0" });
 * const record = await readPeftAdapter("runs/iter-1");   // → loraAdapterFromRecord(model, record)
 * ```
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { pathExists, readJsonObject, writeFileAtomic } from "./fs.ts";
import type { LoraMatrix, LoraPair, LoraRecord, LoraSettings } from "./lora.ts";
import type { SafetensorsEntry, TensorToWrite } from "./safetensors.ts";
import { readSafetensorsFile, writeSafetensorsFile } from "./safetensors-file.ts";

/**
 * File names of a PEFT adapter folder.
 *
 * @example
 * ```ts
 * import { join } from "node:path";
 * const dir = "runs/iter-1/adapter";
 * join(dir, peftFiles.weights); // ".../adapter_model.safetensors"
 * ```
 */
export const peftFiles: { readonly config: string; readonly weights: string } = {
  config: "adapter_config.json",
  weights: "adapter_model.safetensors",
};

const prefix = "base_model.model.";

/**
 * PEFT's state-dict keys of one adapted module.
 *
 * @example
 * ```ts
 * peftKeys("model.layers.0.self_attn.q_proj").A; // "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
 * ```
 */
export const peftKeys = (module: string): { readonly A: string; readonly B: string } => ({
  A: `${prefix}${module}.lora_A.weight`,
  B: `${prefix}${module}.lora_B.weight`,
});

/**
 * The module path and matrix ("A" or "B") of a PEFT key, or null for a key of another kind. Accepts
 * the saved form (`….lora_A.weight`) and the in-memory form with the adapter name (`….lora_A.default.weight`).
 *
 * @example
 * ```ts
 * parsePeftKey("base_model.model.transformer.h.0.attn.c_attn.lora_B.weight"); // { module: "transformer.h.0.attn.c_attn", matrix: "B" }
 * ```
 */
export const parsePeftKey = (key: string): { module: string; matrix: "A" | "B" } | null => {
  const m = /^base_model\.model\.(.+)\.lora_(A|B)(?:\.[^.]+)?\.weight$/.exec(key);
  return m === null ? null : { module: m[1], matrix: m[2] as "A" | "B" };
};

/** Options of {@link writePeftAdapter}. */
export interface WritePeftOptions {
  /** `base_model_name_or_path`: the hub id or folder of the base model. Default null. */
  readonly baseModelNameOrPath?: string | null;
  /** `fan_in_fan_out`. Default: true when the modules are GPT-2's (`transformer.h.N.…`). */
  readonly fanInFanOut?: boolean;
  /** `inference_mode`. Default true (as PEFT's save_pretrained writes). */
  readonly inferenceMode?: boolean;
  /** Storage dtype of A and B. Default "F32". */
  readonly dtype?: "F32" | "F16" | "BF16";
}

const isGpt2Module = (module: string): boolean => /^(transformer\.)?h\.\d+\./.test(module);

/** The target_modules list PEFT would store: the given names, or for "all-linear" every adapted module's last name. */
const targetList = (record: LoraRecord): string[] =>
  record.settings.targetModules === "all-linear"
    ? [...new Set(Object.keys(record.modules).map((m) => m.slice(m.lastIndexOf(".") + 1)))].sort()
    : [...record.settings.targetModules];

/**
 * The adapter_config.json object for a record.
 *
 * @example
 * ```ts
 * import type { LoraRecord } from "./lora.ts";
 * declare const record: LoraRecord; // e.g. from adapter.toRecord()
 * peftConfigJson(record, { baseModelNameOrPath: "gpt2" }).fan_in_fan_out; // true for GPT-2 modules
 * ```
 */
export const peftConfigJson = (
  record: LoraRecord,
  options: WritePeftOptions = {},
): Record<string, unknown> => {
  const modules = Object.keys(record.modules);
  return {
    peft_type: "LORA",
    task_type: "CAUSAL_LM",
    base_model_name_or_path: options.baseModelNameOrPath ?? null,
    revision: null,
    r: record.settings.r,
    lora_alpha: record.settings.alpha,
    lora_dropout: record.settings.dropout,
    target_modules: targetList(record),
    bias: "none",
    fan_in_fan_out: options.fanInFanOut ?? modules.some(isGpt2Module),
    inference_mode: options.inferenceMode ?? true,
    init_lora_weights: true,
    use_rslora: false,
    use_dora: false,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
  };
};

/**
 * PEFT's state dict (key → tensor) of a record.
 *
 * @example
 * ```ts
 * import type { LoraRecord } from "./lora.ts";
 * declare const record: LoraRecord; // e.g. from adapter.toRecord()
 * [...peftStateDict(record).keys()]; // ["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", …]
 * ```
 */
export const peftStateDict = (record: LoraRecord): Map<string, TensorToWrite> => {
  const out = new Map<string, TensorToWrite>();
  for (const [module, { A, B }] of Object.entries(record.modules)) {
    const keys = peftKeys(module);
    out.set(keys.A, { shape: [...A.shape], data: A.data });
    out.set(keys.B, { shape: [...B.shape], data: B.data });
  }
  return out;
};

/**
 * Save an adapter as a PEFT folder (created if needed): adapter_model.safetensors, then
 * adapter_config.json, each written atomically.
 *
 * @example
 * ```ts
 * import type { LoraAdapter } from "./lora.ts";
 * declare const adapter: LoraAdapter; // e.g. from createLoraAdapter
 * await writePeftAdapter("runs/iter-2/adapter", await adapter.toRecord(), { baseModelNameOrPath: "gpt2" });
 * ```
 */
export const writePeftAdapter = async (
  dir: string,
  record: LoraRecord,
  options: WritePeftOptions = {},
): Promise<void> => {
  await mkdir(dir, { recursive: true });
  await writeSafetensorsFile(join(dir, peftFiles.weights), peftStateDict(record), { format: "pt" }, {
    dtype: options.dtype ?? "F32",
  });
  await writeFileAtomic(
    join(dir, peftFiles.config),
    JSON.stringify(peftConfigJson(record, options), null, 2) + "\n",
  );
};

/** An adapter read from a PEFT folder: the neutral record plus what its config said. */
export interface PeftAdapter extends LoraRecord {
  readonly baseModelNameOrPath: string | null;
  readonly fanInFanOut: boolean;
  /** The adapter_config.json object as read. */
  readonly peftConfig: Readonly<Record<string, unknown>>;
}

const isEmpty = (v: unknown): boolean =>
  v === undefined || v === null || (Array.isArray(v) && v.length === 0) ||
  (typeof v === "object" && v !== null && Object.keys(v).length === 0);

/**
 * The record of a PEFT adapter from its parsed config and its tensors (key → entry). Pure; used by
 * {@link readPeftAdapter}. `source` prefixes the errors.
 *
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 * import { readSafetensors } from "./safetensors.ts";
 * const configJson: Record<string, unknown> = JSON.parse(await readFile("my-adapter/adapter_config.json", "utf8"));
 * const bytes = await readFile("my-adapter/adapter_model.safetensors");
 * const adapter = peftAdapterFromParts(configJson, readSafetensors(bytes), "my-adapter");
 * ```
 */
export const peftAdapterFromParts = (
  config: Record<string, unknown>,
  tensors: ReadonlyMap<string, Pick<SafetensorsEntry, "shape" | "data">>,
  source = "adapter",
): PeftAdapter => {
  const fail = (message: string): never => {
    throw new Error(`${source}: ${message}`);
  };
  if (config.peft_type !== "LORA") {
    fail(`peft_type is ${JSON.stringify(config.peft_type)}; only "LORA" adapters are supported`);
  }
  const r = config.r;
  if (typeof r !== "number" || !Number.isInteger(r) || r <= 0) {
    return fail(`r must be a positive integer, found ${JSON.stringify(r)}`);
  }
  const alphaRaw = config.lora_alpha ?? 8;
  if (typeof alphaRaw !== "number" || !(alphaRaw > 0)) {
    return fail(`lora_alpha must be a positive number, found ${JSON.stringify(alphaRaw)}`);
  }
  const dropout = config.lora_dropout ?? 0;
  if (typeof dropout !== "number" || !(dropout >= 0 && dropout < 1)) {
    return fail(`lora_dropout must be in [0, 1), found ${JSON.stringify(dropout)}`);
  }
  if ((config.bias ?? "none") !== "none") {
    fail(`bias ${JSON.stringify(config.bias)} is not supported (only "none": no trained biases)`);
  }
  if (config.use_dora === true) fail("use_dora (DoRA) adapters are not supported");
  if (!isEmpty(config.modules_to_save)) {
    fail(
      `modules_to_save ${JSON.stringify(config.modules_to_save)} is not supported (fully trained modules)`,
    );
  }
  if (!isEmpty(config.rank_pattern) || !isEmpty(config.alpha_pattern)) {
    fail(
      "per-module rank_pattern / alpha_pattern are not supported (one r and one lora_alpha for all modules)",
    );
  }
  const alpha = config.use_rslora === true ? alphaRaw * Math.sqrt(r) : alphaRaw;

  const pairs = new Map<string, { A?: LoraMatrix; B?: LoraMatrix }>();
  for (const [key, entry] of tensors) {
    const parsed = parsePeftKey(key);
    if (parsed === null) {
      fail(`unexpected tensor ${key} (expected base_model.model.<module>.lora_A.weight / lora_B.weight)`);
    }
    const { module, matrix } = parsed!;
    if (entry.shape.length !== 2) fail(`${key} has shape [${entry.shape}], expected a matrix`);
    const pair = pairs.get(module) ?? {};
    pair[matrix] = { shape: [entry.shape[0], entry.shape[1]], data: entry.data };
    pairs.set(module, pair);
  }
  if (pairs.size === 0) fail("the adapter has no lora_A / lora_B tensors");
  const modules: Record<string, LoraPair<LoraMatrix>> = {};
  for (const [module, { A, B }] of pairs) {
    if (A === undefined || B === undefined) {
      fail(`module ${module} has lora_${A ? "A" : "B"} but no lora_${A ? "B" : "A"}`);
    }
    if (A!.shape[0] !== r || B!.shape[1] !== r || A!.shape[0] !== B!.shape[1]) {
      fail(
        `module ${module}: lora_A [${A!.shape}] and lora_B [${
          B!.shape
        }] do not match r = ${r} (A must be [r, in], B [out, r])`,
      );
    }
    modules[module] = { A: A!, B: B! };
  }
  const targets = config.target_modules;
  let targetModules: LoraSettings["targetModules"];
  if (targets === "all-linear") targetModules = "all-linear";
  else if (Array.isArray(targets) && targets.every((t) => typeof t === "string")) {
    targetModules = targets as string[];
  } else {targetModules = [...new Set(Object.keys(modules).map((m) => m.slice(m.lastIndexOf(".") + 1)))]
      .sort(); // a regex string, or absent
  }
  const base = config.base_model_name_or_path;
  return {
    settings: { r, alpha, dropout, targetModules },
    modules,
    baseModelNameOrPath: typeof base === "string" ? base : null,
    fanInFanOut: config.fan_in_fan_out === true,
    peftConfig: config,
  };
};

/**
 * Read a PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors). F16 and BF16
 * weights become float32. A folder with only adapter_model.bin gets an error saying to convert it.
 *
 * @example
 * ```ts
 * import type { Transformer } from "./transformer.ts";
 * declare const model: Transformer; // e.g. from loadHfModel
 * import { loraAdapterFromRecord } from "./lora.ts";
 * const record = await readPeftAdapter("zephyr-7b-sft-lora");
 * const adapter = loraAdapterFromRecord(model, record);
 * ```
 */
export const readPeftAdapter = async (dir: string): Promise<PeftAdapter> => {
  const configPath = join(dir, peftFiles.config);
  if (!(await pathExists(dir))) throw new Error(`adapter folder ${dir} does not exist`);
  if (!(await pathExists(configPath))) {
    throw new Error(`${dir} has no ${peftFiles.config} (not a PEFT adapter folder)`);
  }
  const config = await readJsonObject(configPath);
  const weightsPath = join(dir, peftFiles.weights);
  if (!(await pathExists(weightsPath))) {
    const bin = await pathExists(join(dir, "adapter_model.bin"));
    throw new Error(
      `${dir} has no ${peftFiles.weights}` +
        (bin
          ? " (it has adapter_model.bin: re-save it with safe_serialization=True, or convert it to safetensors)"
          : ""),
    );
  }
  return peftAdapterFromParts(config, await readSafetensorsFile(weightsPath), dir);
};
