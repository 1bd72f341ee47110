/**
 * The trainable parameters of an iterate as plain data, and the policies built from them.
 *
 * A {@link ParamSnapshot} holds named float32 arrays: for LoRA the adapter's matrices
 * (`<module>.lora_A`, `<module>.lora_B`), for full fine-tuning every weight of the model by its
 * Hugging Face name. Training runs in segments (one per epoch): each segment builds a fresh
 * trainable policy from a snapshot ({@link buildTrainable}) and ends by reading it back, so a run
 * resumed from a checkpoint goes through exactly the same steps as one that never stopped —
 * including the LoRA dropout stream, whose seed is set per segment.
 *
 * Iterates on disk: a LoRA iterate is a PEFT adapter folder (models/peft.ts); a full iterate is a
 * Hugging Face model folder (models/hf-load.ts).
 *
 * @example
 * ```ts
 * import type { Transformer } from "../models/transformer.ts";
 * declare const base: Transformer;
 * const lora = { r: 8, alpha: 16 };
 * const dir = "runs/demo/iter-1/adapter";
 * const init = await freshLoraSnapshot(base, lora, 7);      // π_1 starts at π_base (B = 0)
 * const trainable = buildTrainable(base, { finetune: "lora", lora }, init, 11);
 * // … train …
 * const after = await trainable.snapshot();
 * await saveIterate(dir, base, { finetune: "lora", lora }, after, { baseModel: "gpt2", tokenizerDir: null });
 * trainable.dispose();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import { loadHfModel, saveHfModel } from "../models/hf-load.ts";
import { createLoraAdapter, type LoraAdapter, type LoraOptions, type LoraRecord, loraAdapterFromRecord } from "../models/lora.ts";
import { readPeftAdapter, writePeftAdapter } from "../models/peft.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { Transformer } from "../models/transformer.ts";
import { parameterShapes } from "../models/weights.ts";
import { pathExists } from "../models/fs.ts";

/** Named parameter values, in a fixed order. */
export interface ParamSnapshot {
  readonly names: readonly string[];
  readonly shapes: readonly (readonly number[])[];
  readonly values: readonly Float32Array[];
}

/** How iterates are fine-tuned. */
export interface FinetuneSpec {
  readonly finetune: "lora" | "full";
  /** LoRA settings (finetune "lora"); `seed` is ignored (set per use). */
  readonly lora: Omit<LoraOptions, "seed">;
}

/** A policy whose parameters training updates. */
export interface Trainable {
  readonly policy: TransformerPolicy;
  /** The trained variables, aligned with the snapshot's names. */
  readonly variables: readonly tf.Variable[];
  readonly names: readonly string[];
  /** Per variable: whether weight decay applies (not to biases and norm weights). */
  readonly decay: readonly boolean[];
  /** Read the current values back. */
  snapshot(): Promise<ParamSnapshot>;
  /** Free what was built (the base model stays). */
  dispose(): void;
}

const adapterNames = (adapter: LoraAdapter): string[] =>
  [...adapter.modules.keys()].flatMap((m) => [`${m}.lora_A`, `${m}.lora_B`]);

/**
 * Read variables back as a snapshot under the given names.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * const variable = tf.variable(tf.tensor1d([1, 2]));
 * const snap = await snapshotOf(["w"], [variable]); // w: Float32Array [1, 2]
 * ```
 */
export const snapshotOf = async (names: readonly string[], variables: readonly tf.Tensor[]): Promise<ParamSnapshot> => ({
  names: [...names],
  shapes: variables.map((v) => [...v.shape]),
  values: await Promise.all(variables.map(async (v) => new Float32Array(await v.data()))),
});

/**
 * Assign snapshot values to variables with the same names, in order (shapes checked).
 *
 * @example
 * ```ts
 * declare const trainable: Trainable;
 * declare const snapshot: ParamSnapshot;
 * assignSnapshot(trainable.names, trainable.variables, snapshot);
 * ```
 */
export const assignSnapshot = (names: readonly string[], variables: readonly tf.Variable[], snapshot: ParamSnapshot): void => {
  const index = new Map(snapshot.names.map((n, i) => [n, i]));
  names.forEach((name, i) => {
    const k = index.get(name);
    if (k === undefined) throw new RangeError(`parameters: the snapshot has no ${name}`);
    const shape = snapshot.shapes[k];
    if (shape.join() !== variables[i].shape.join()) {
      throw new RangeError(`parameters: ${name} is [${shape}] in the snapshot, [${variables[i].shape}] in the model`);
    }
    tf.tidy(() => variables[i].assign(tf.tensor(snapshot.values[k], variables[i].shape, "float32")));
  });
};

const loraOptions = (spec: FinetuneSpec, seed: number): LoraOptions => ({ ...spec.lora, seed });

/**
 * The snapshot of a fresh LoRA adapter (A seeded uniform, B = 0: the policy equals the base).
 *
 * @example
 * ```ts
 * import type { Transformer } from "../models/transformer.ts";
 * declare const base: Transformer;
 * const init = await freshLoraSnapshot(base, { r: 8, alpha: 16 }, 1234);
 * ```
 */
export const freshLoraSnapshot = async (base: Transformer, lora: Omit<LoraOptions, "seed">, seed: number): Promise<ParamSnapshot> => {
  const adapter = createLoraAdapter(base, { ...lora, seed });
  try {
    return await snapshotOf(adapterNames(adapter), adapter.variables());
  } finally {
    adapter.dispose();
  }
};

/**
 * The snapshot of a whole model's weights (full fine-tuning starts from the base's).
 *
 * @example
 * ```ts
 * import type { Transformer } from "../models/transformer.ts";
 * declare const base: Transformer;
 * const init = await modelSnapshot(base);
 * ```
 */
export const modelSnapshot = (model: Transformer): Promise<ParamSnapshot> =>
  snapshotOf(Object.keys(model.weights), Object.values(model.weights));

const tensorsOf = (snapshot: ParamSnapshot): Map<string, tf.Tensor> =>
  new Map(snapshot.names.map((n, i) => [n, tf.tensor(snapshot.values[i], [...snapshot.shapes[i]], "float32")]));

/**
 * A trainable policy from a snapshot: a LoRA adapter on the frozen `base` (dropout seeded by
 * `seed`), or a full copy of the model with trainable weights.
 *
 * @example
 * ```ts
 * import type { Transformer } from "../models/transformer.ts";
 * declare const base: Transformer;
 * declare const spec: FinetuneSpec;
 * declare const snapshot: ParamSnapshot;
 * const segmentSeed = 11;
 * const trainable = buildTrainable(base, spec, snapshot, segmentSeed);
 * ```
 */
export const buildTrainable = (base: Transformer, spec: FinetuneSpec, snapshot: ParamSnapshot, seed: number): Trainable => {
  if (spec.finetune === "lora") {
    const adapter = createLoraAdapter(base, loraOptions(spec, seed));
    const names = adapterNames(adapter), variables = adapter.variables();
    try {
      assignSnapshot(names, variables, snapshot);
    } catch (e) {
      adapter.dispose();
      throw e;
    }
    return {
      policy: new TransformerPolicy(base, adapter),
      variables,
      names,
      decay: variables.map(() => true),
      snapshot: () => snapshotOf(names, variables),
      dispose: () => adapter.dispose(),
    };
  }
  const tensors = tensorsOf(snapshot);
  let model: Transformer;
  try {
    model = new Transformer(base.config, tensors, { trainable: true });
  } finally {
    tf.dispose([...tensors.values()]);
  }
  const specs = parameterShapes(base.config);
  const names = Object.keys(model.weights), variables = Object.values(model.weights);
  return {
    policy: new TransformerPolicy(model),
    variables,
    names,
    decay: names.map((n) => specs.get(n)?.kind === "matrix"),
    snapshot: () => snapshotOf(names, variables),
    dispose: () => model.dispose(),
  };
};

/**
 * A policy (not trained) from a snapshot: the base with an adapter, or a model of its own.
 *
 * @example
 * ```ts
 * import type { Transformer } from "../models/transformer.ts";
 * declare const base: Transformer;
 * declare const spec: FinetuneSpec;
 * declare const emaSnapshot: ParamSnapshot;
 * const ema = policyFromSnapshot(base, spec, emaSnapshot);
 * ```
 */
export const policyFromSnapshot = (base: Transformer, spec: FinetuneSpec, snapshot: ParamSnapshot): { policy: TransformerPolicy; dispose(): void } => {
  const trainable = buildTrainable(base, { ...spec, lora: { ...spec.lora, dropout: 0 } }, snapshot, 0);
  return { policy: trainable.policy, dispose: () => trainable.dispose() };
};

const recordOf = (adapterSettings: LoraRecord["settings"], snapshot: ParamSnapshot): LoraRecord => {
  const modules: Record<string, { A: { shape: [number, number]; data: Float32Array }; B: { shape: [number, number]; data: Float32Array } }> = {};
  snapshot.names.forEach((name, i) => {
    const m = /^(.*)\.lora_([AB])$/.exec(name);
    if (m === null) throw new RangeError(`parameters: ${name} is not a LoRA matrix`);
    const entry = modules[m[1]] ?? (modules[m[1]] = {} as (typeof modules)[string]);
    entry[m[2] as "A" | "B"] = { shape: [snapshot.shapes[i][0], snapshot.shapes[i][1]], data: snapshot.values[i] };
  });
  return { settings: adapterSettings, modules };
};

const loraSettingsOf = (base: Transformer, spec: FinetuneSpec): LoraRecord["settings"] => {
  const probe = createLoraAdapter(base, loraOptions(spec, 0));
  const settings = probe.settings;
  probe.dispose();
  return settings;
};

const tokenizerFiles = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"];

/**
 * Write an iterate: a PEFT adapter folder (LoRA) or a Hugging Face model folder with the base's
 * tokenizer files copied next to it (full). Each file is written atomically.
 *
 * @example
 * ```ts
 * import type { Transformer } from "../models/transformer.ts";
 * declare const base: Transformer;
 * declare const spec: FinetuneSpec;
 * declare const snapshot: ParamSnapshot;
 * await saveIterate("runs/demo/iter-1/adapter", base, spec, snapshot, { baseModel: "./gpt2", tokenizerDir: "./gpt2" });
 * ```
 */
export const saveIterate = async (
  dir: string,
  base: Transformer,
  spec: FinetuneSpec,
  snapshot: ParamSnapshot,
  options: { readonly baseModel: string | null; readonly tokenizerDir: string | null },
): Promise<void> => {
  if (spec.finetune === "lora") {
    await writePeftAdapter(dir, recordOf(loraSettingsOf(base, spec), snapshot), { baseModelNameOrPath: options.baseModel });
    return;
  }
  const tensors = tensorsOf(snapshot);
  let model: Transformer | null = null;
  try {
    model = new Transformer(base.config, tensors, { trainable: false });
    await saveHfModel(model, dir);
  } finally {
    tf.dispose([...tensors.values()]);
    model?.dispose();
  }
  if (options.tokenizerDir !== null) {
    for (const file of tokenizerFiles) {
      const from = join(options.tokenizerDir, file);
      if (await pathExists(from)) await copyFile(from, join(dir, file));
    }
  }
};

/**
 * Read an iterate written by {@link saveIterate} back as a snapshot.
 *
 * @example
 * ```ts
 * import type { Transformer } from "../models/transformer.ts";
 * declare const base: Transformer;
 * declare const spec: FinetuneSpec;
 * const prev = await loadIterateSnapshot("runs/demo/iter-1/adapter", base, spec);
 * ```
 */
export const loadIterateSnapshot = async (dir: string, base: Transformer, spec: FinetuneSpec): Promise<ParamSnapshot> => {
  if (spec.finetune === "lora") {
    const record = await readPeftAdapter(dir);
    const adapter = loraAdapterFromRecord(base, record);
    try {
      return await snapshotOf(adapterNames(adapter), adapter.variables());
    } finally {
      adapter.dispose();
    }
  }
  const model = await loadHfModel(dir);
  try {
    return await modelSnapshot(model);
  } finally {
    model.dispose();
  }
};
