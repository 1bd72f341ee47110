/**
 * Load and save Hugging Face model folders: `config.json` plus `model.safetensors`, or shards listed
 * by `model.safetensors.index.json`. Tensors stored as F32, F16 or BF16 become float32.
 *
 * Name mapping (weights.ts lists the internal names, which are the Hugging Face ones):
 * - GPT-2: checkpoints saved from `GPT2LMHeadModel` use `transformer.…` names; the original OpenAI
 *   upload uses the bare `h.N.…`, `wte`, `wpe`, `ln_f` names: both load. The `attn.bias` /
 *   `attn.masked_bias` buffers are skipped. Conv1D weights are [in, out] in the file and here.
 * - Llama family: `model.…` names; `rotary_emb.inv_freq` buffers are skipped; Linear weights are
 *   [out, in] in the file and here; qwen2's q/k/v biases are required.
 * - A tied head: a stored `lm_head.weight` is ignored (the embedding is the head).
 *
 * Errors name the problem: a missing folder or config.json, a folder without safetensors weights,
 * a missing tensor (with the file it was expected in), a shape mismatch (both shapes).
 *
 * @example
 * ```ts
 * import { loadHfModel, saveHfModel } from "./hf-load.ts";
 * const model = await loadHfModel("./SmolLM-135M");     // frozen weights (trainable: false)
 * await saveHfModel(model, "./my-copy");
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { pathExists, readJsonObject, writeFileAtomic } from "./fs.ts";
import { writeSafetensors } from "./safetensors.ts";
import { readSafetensorsFile } from "./safetensors-file.ts";
import type { ModelConfig } from "./config.ts";
import { configFromHf, configToHf } from "./hf-config.ts";
import { Transformer } from "./transformer.ts";
import { parameterShapes } from "./weights.ts";

/** Options of {@link loadHfModel}. */
export interface LoadModelOptions {
  /** Whether the loaded parameters are trainable (full fine-tuning). Default false (LoRA / reference). */
  readonly trainable?: boolean;
}

/**
 * Parse a model folder's `config.json` into a {@link ModelConfig}.
 *
 * @example
 * ```ts
 * const config = await readHfConfig("./gpt2"); // config.family === "gpt2"
 * ```
 */
export const readHfConfig = async (dir: string): Promise<ModelConfig> => {
  if (!(await pathExists(dir))) throw new Error(`model folder ${dir} does not exist`);
  const path = join(dir, "config.json");
  if (!(await pathExists(path))) throw new Error(`model folder ${dir} has no config.json`);
  const json = await readJsonObject(path);
  try {
    return configFromHf(json);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
};

/** The checkpoint's name for an internal parameter name, given the names the file(s) hold. */
const storedName = (config: ModelConfig, name: string, available: ReadonlySet<string>): string => {
  if (available.has(name)) return name;
  if (config.family === "gpt2" && name.startsWith("transformer.")) {
    const bare = name.slice("transformer.".length);
    if (available.has(bare)) return bare;
  }
  return name;
};

/**
 * Which file each parameter (internal name) is read from: every parameter from model.safetensors,
 * or from the shard that model.safetensors.index.json assigns to it.
 */
const planFiles = async (
  dir: string,
  config: ModelConfig,
  names: readonly string[],
): Promise<Map<string, string[]>> => {
  const indexPath = join(dir, "model.safetensors.index.json");
  const plan = new Map<string, string[]>(); // file → internal names to take from it
  if (await pathExists(indexPath)) {
    const weightMap = (await readJsonObject(indexPath))["weight_map"];
    if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
      throw new Error(`${indexPath} has no "weight_map" object`);
    }
    const map = weightMap as Record<string, unknown>;
    const listed = new Set(Object.keys(map));
    for (const name of names) {
      const file = map[storedName(config, name, listed)];
      if (typeof file !== "string") {
        throw new Error(`${indexPath} lists no tensor ${name} (needed by ${config.modelType})`);
      }
      plan.set(file, [...(plan.get(file) ?? []), name]);
    }
    return plan;
  }
  if (await pathExists(join(dir, "model.safetensors"))) return new Map([["model.safetensors", [...names]]]);
  const hasBin = (await pathExists(join(dir, "pytorch_model.bin"))) ||
    (await pathExists(join(dir, "pytorch_model.bin.index.json")));
  throw new Error(
    `model folder ${dir} has neither model.safetensors nor model.safetensors.index.json` +
      (hasBin ? " (it has pytorch_model.bin: convert it to safetensors first)" : ""),
  );
};

/**
 * Load a Hugging Face model folder (GPT-2, llama, mistral, qwen2, gemma) as a {@link Transformer}.
 * Shards are read one at a time.
 *
 * @example
 * ```ts
 * const model = await loadHfModel("./models/TinyLlama-1.1B", { trainable: false });
 * ```
 */
export const loadHfModel = async (dir: string, options: LoadModelOptions = {}): Promise<Transformer> => {
  const config = await readHfConfig(dir);
  const specs = parameterShapes(config);
  const plan = await planFiles(dir, config, [...specs.keys()]);
  const tensors = new Map<string, tf.Tensor>();
  try {
    for (const [file, wanted] of plan) {
      const path = join(dir, file);
      const names = wanted.flatMap((name) => [name, name.replace(/^transformer\./, "")]);
      const contents = await readSafetensorsFile(path, { names }); // only these tensors' bytes are read
      const available = new Set(contents.keys());
      for (const name of wanted) {
        const stored = storedName(config, name, available);
        const entry = contents.get(stored);
        if (entry === undefined) {
          throw new Error(`${path} has no tensor ${name} (needed by ${config.modelType})`);
        }
        const want = specs.get(name)!.shape;
        if (entry.shape.join() !== want.join()) {
          throw new Error(`${path}: tensor ${stored} has shape [${entry.shape}], the config needs [${want}]`);
        }
        tensors.set(name, tf.tensor(entry.data, [...want], "float32"));
      }
    }
    return new Transformer(config, tensors, { trainable: options.trainable ?? false });
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
};

/**
 * Save a model as a Hugging Face folder: `config.json` and one `model.safetensors` (F32, Hugging
 * Face names and layouts), each written atomically (temporary file + rename). The folder is created
 * if needed. Loads back with {@link loadHfModel}, and in transformers' `from_pretrained`.
 *
 * @example
 * ```ts
 * import { makeConfig } from "./config.ts";
 * import { createTransformer } from "./transformer.ts";
 * const model = createTransformer(makeConfig({ family: "llama", vocabSize: 32, hiddenSize: 16, numLayers: 2, numHeads: 4 }));
 * await saveHfModel(model, "./runs/base-model");
 * ```
 */
export const saveHfModel = async (model: Transformer, dir: string): Promise<void> => {
  await mkdir(dir, { recursive: true });
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, v] of Object.entries(model.weights)) {
    tensors.set(name, { shape: [...v.shape], data: (await v.data()) as Float32Array });
  }
  await writeFileAtomic(join(dir, "model.safetensors"), writeSafetensors(tensors, { format: "pt" }));
  await writeFileAtomic(join(dir, "config.json"), JSON.stringify(configToHf(model.config), null, 2) + "\n");
};
