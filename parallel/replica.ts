/**
 * One replica of a data-parallel trainer: a model (plus an optional LoRA adapter, reference and
 * optimizer) on this thread's tfjs backend. A worker owns one; each step it computes its shard's
 * gradients into its slot of the shared gradient buffer, then sums every slot (in slot order, so
 * every replica gets bit-identical sums) and applies the same AdamW update. Replicas therefore
 * stay identical without ever sending weights.
 *
 * @example
 * ```ts
 * const replica = await Replica.create({ modelConfig: config, lora: { r: 8 }, learningRate: 1e-4 });
 * const metrics = await replica.gradients(batch, 1, slot);   // slot: Float32Array of replica.trainableSize
 * const gradNorm = await replica.apply([slot], 1e-4);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { loadBackend } from "../backends/load.ts";
import { DEFAULT_BLAS_THREADS } from "../backends/blas.ts";
import { lossRegistry } from "../losses/registry.ts";
import type { AnyLoss } from "../losses/types.ts";
import { forkRng, rngFromSeed } from "../core/rng.ts";
import { generate } from "../models/generate.ts";
import { parameterShapes } from "../models/weights.ts";
import { createLoraAdapter, type LoraAdapter, loraAdapterFromRecord } from "../models/lora.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { createTransformer, Transformer } from "../models/transformer.ts";
import { AdamW } from "../selfplay/optim.ts";
import {
  disposePreferenceGradients,
  type PreferenceBatch,
  preferenceGradients,
  preferenceStepMetrics,
} from "./preference-step.ts";
import type { ReplicaOptions, WorkerGenerateOptions, WorkerGeneration } from "./protocol.ts";

/** A base model from the options: the given weights, or a seeded random init. */
const buildModel = (options: ReplicaOptions, trainable: boolean): Transformer => {
  if (options.weights === undefined) {
    return createTransformer(options.modelConfig, {
      seed: options.seed ?? 0,
      initStd: options.initStd,
      trainable,
    });
  }
  const tensors = new Map<string, tf.Tensor>();
  for (const [name, spec] of parameterShapes(options.modelConfig)) {
    const values = options.weights[name];
    if (values === undefined) throw new RangeError(`data-parallel: the weights have no ${name}`);
    tensors.set(name, tf.tensor(values, [...spec.shape], "float32"));
  }
  try {
    return new Transformer(options.modelConfig, tensors, { trainable });
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
};

/** PEFT-style names of an adapter's variables, aligned with `adapter.variables()`. */
const adapterNames = (adapter: LoraAdapter): string[] =>
  [...adapter.modules.keys()].flatMap((m) => [`${m}.lora_A.weight`, `${m}.lora_B.weight`]);

/** A model replica with its optimizer; see the module doc. */
export class Replica {
  /** The policy being trained (the base model, with the LoRA adapter when there is one). */
  readonly policy: TransformerPolicy;
  /** The reference policy for batches without pre-computed reference log-probs, or null. */
  readonly reference: TransformerPolicy | null;
  /** AdamW over the trainable variables. */
  readonly optimizer: AdamW;
  /** The loss, from the registry. */
  readonly loss: AnyLoss;
  /** The loss's parameters (its defaults where absent). */
  readonly lossParams: Readonly<Record<string, unknown>> | undefined;
  /** Pairs per forward/backward pass (undefined: the whole shard). */
  readonly microBatch: number | undefined;
  /** Names of the trainable variables (Hugging Face / PEFT names), in gradient order. */
  readonly names: readonly string[];
  /** Sizes of the trainable variables, in gradient order. */
  readonly sizes: readonly number[];
  /** The backend the replica runs on, as `loadBackend` described it. */
  readonly backend: string;
  #summed: Float32Array;
  #referenceModel: Transformer | null;

  private constructor(options: ReplicaOptions, backend: string) {
    this.backend = backend;
    this.loss = lossRegistry.get(options.loss ?? "sigmoid");
    this.loss.resolveParams(options.lossParams); // fail early on bad parameters
    this.lossParams = options.lossParams;
    this.microBatch = options.microBatch;
    const lora = options.lora ?? null;
    if (options.adapter !== undefined && lora === null) {
      throw new RangeError("data-parallel: `adapter` weights need `lora` options");
    }
    const model = buildModel(options, lora === null);
    const adapter = lora === null
      ? null
      : options.adapter !== undefined
      ? loraAdapterFromRecord(model, options.adapter, lora.seed ?? 0)
      : createLoraAdapter(model, lora);
    this.policy = new TransformerPolicy(model, adapter);
    const wantReference = (options.reference ?? "precomputed") === "initial";
    this.#referenceModel = wantReference && adapter === null ? buildModel(options, false) : null;
    this.reference = !wantReference
      ? null
      : this.#referenceModel !== null
      ? new TransformerPolicy(this.#referenceModel, null)
      : this.policy.withoutAdapter();
    const variables = this.policy.trainableVariables();
    this.names = adapter !== null
      ? adapterNames(adapter)
      : Object.entries(model.weights).filter(([, v]) => v.trainable).map(([name]) => name);
    this.sizes = variables.map((v) => v.size);
    this.optimizer = new AdamW(variables, options.optimizer ?? {});
    this.#summed = new Float32Array(this.trainableSize);
  }

  /**
   * Start the backend (and the fast wasm kernels) on this thread, import `workerImports`, and
   * build the replica.
   *
   * @example
   * ```ts
   * const replica = await Replica.create({ modelConfig: config, backend: "wasm" });
   * ```
   */
  static async create(options: ReplicaOptions): Promise<Replica> {
    const loaded = await loadBackend(options.backend ?? "wasm", {
      fastKernels: options.fastKernels ?? true,
      threads: options.threads ?? DEFAULT_BLAS_THREADS,
    });
    for (const url of options.workerImports ?? []) await import(url);
    return new Replica(options, `${loaded.name} (${loaded.details})`);
  }

  /** Number of trainable scalars (the length of a gradient slot). */
  get trainableSize(): number {
    return this.sizes.reduce((a, b) => a + b, 0);
  }

  /**
   * Compute the shard's gradients, scaled by `weight` (the shard's share of the full batch), into
   * `slot`; returns the shard's metrics scaled by the same weight (so weighted sums over shards
   * are batch means).
   */
  async gradients(
    batch: PreferenceBatch,
    weight: number,
    slot: Float32Array,
  ): Promise<Record<string, number>> {
    if (slot.length !== this.trainableSize) {
      throw new RangeError(
        `Replica.gradients: slot of ${slot.length} floats for ${this.trainableSize} parameters`,
      );
    }
    const out = preferenceGradients(this.policy, this.reference, batch, {
      loss: this.loss,
      lossParams: this.lossParams,
      microBatch: this.microBatch,
    });
    try {
      let offset = 0;
      for (const g of out.grads) {
        const values = await g.data();
        for (let i = 0; i < values.length; i++) slot[offset + i] = values[i] * weight;
        offset += values.length;
      }
      const metrics = await preferenceStepMetrics(out, { loss: this.loss, lossParams: this.lossParams });
      for (const k of Object.keys(metrics)) metrics[k] *= weight;
      return metrics;
    } finally {
      disposePreferenceGradients(out);
    }
  }

  /**
   * Sum the gradient slots (in the given order) and take one AdamW step at `learningRate`;
   * returns the global gradient norm before clipping.
   */
  async apply(slots: readonly Float32Array[], learningRate: number): Promise<number> {
    const sum = this.#summed;
    sum.set(slots[0]);
    for (let s = 1; s < slots.length; s++) {
      const slot = slots[s];
      for (let i = 0; i < sum.length; i++) sum[i] += slot[i];
    }
    const variables = this.optimizer.variables;
    let offset = 0;
    const grads = variables.map((v) => {
      const g = tf.tensor(sum.subarray(offset, offset + v.size), v.shape, "float32");
      offset += v.size;
      return g;
    });
    const norm = this.optimizer.step(grads, learningRate);
    tf.dispose(grads);
    const value = (await norm.data())[0];
    norm.dispose();
    return value;
  }

  /**
   * Generate completions of `prompts` with the replica's current weights, sampling from random
   * stream `stream` of `options.seed` (so workers given different streams draw independently).
   */
  async generate(
    prompts: readonly (readonly number[])[],
    options: WorkerGenerateOptions,
    stream = 0,
  ): Promise<WorkerGeneration> {
    const { mixtureAlpha, seed, ...rest } = options;
    let mixture: { base: TransformerPolicy; alpha: number } | undefined;
    if (mixtureAlpha !== undefined) {
      const base = this.policy.adapter !== null ? this.policy.withoutAdapter() : this.reference;
      if (base === null) {
        throw new RangeError(
          'data-parallel generate: mixtureAlpha needs a base (LoRA, or reference: "initial")',
        );
      }
      mixture = { base, alpha: mixtureAlpha };
    }
    const out = await generate(this.policy, prompts, {
      ...rest,
      rng: forkRng(rngFromSeed(seed ?? 0), stream),
      ...(mixture !== undefined ? { mixture } : {}),
    });
    const { rng: _rng, ...generation } = out;
    return generation;
  }

  /** The trainable weights by name (copies). */
  async trainableWeights(): Promise<Record<string, Float32Array>> {
    const out: Record<string, Float32Array> = {};
    const variables = this.optimizer.variables;
    for (let i = 0; i < variables.length; i++) {
      out[this.names[i]] = new Float32Array(await variables[i].data());
    }
    return out;
  }

  /** Free the model, adapter, reference and optimizer state. */
  dispose(): void {
    this.optimizer.dispose();
    this.policy.adapter?.dispose();
    this.policy.model.dispose();
    this.#referenceModel?.dispose();
  }
}
