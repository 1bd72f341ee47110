/**
 * LoRA adapters: a low-rank update ΔW = (α/r)·B·A on chosen projections of a frozen base model.
 *
 * For an adapted module with input x [N, in], the output becomes base(x) + (α/r)·drop(x)·Aᵀ·Bᵀ with
 * A [r, in] and B [out, r] (PEFT's lora_A / lora_B weight shapes, whatever the base layout: for
 * GPT-2's Conv1D [in, out] the merged update is (B·A)ᵀ). A starts uniform in ±1/√in (PEFT's
 * kaiming_uniform(a = √5)), seeded; B starts at 0, so a fresh adapter leaves the model unchanged.
 * Dropout (training only) is seeded and changes per call.
 *
 * The adapter is separate from the model: the model is the reference policy (adapters off) and
 * several adapters (iterates of self-play) can share one base. Creating an adapter freezes the base
 * variables (trainable = false), so `tf.variableGrads` and optimizers see only A and B.
 *
 * Target modules follow PEFT's matching: a module is adapted when its full name equals a target or
 * ends with "." + target ("c_proj" adapts GPT-2's attn.c_proj and mlp.c_proj, "mlp.c_proj" only the
 * latter; GPT-2's fused c_attn is a single module), or all projections with "all-linear".
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createLoraAdapter } from "./lora.ts";
 * import type { Transformer } from "./transformer.ts";
 * declare const model: Transformer;                    // e.g. from loadHfModel
 * declare const ids: tf.Tensor2D, mask: tf.Tensor2D;   // [B, T]
 * declare const loss: () => tf.Scalar;                 // e.g. a preference loss of `model.logits(…)`
 * const adapter = createLoraAdapter(model, { r: 8, alpha: 16, dropout: 0.05, targetModules: ["q_proj", "v_proj"], seed: 1 });
 * const logits = model.logits(ids, mask, { adapter, training: true });
 * const { grads } = tf.variableGrads(() => loss(), adapter.variables());
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ModelConfig } from "./config.ts";
import type { ProjectionAdapter, Transformer } from "./transformer.ts";
import { projectionLayout, projections } from "./weights.ts";

/** LoRA hyper-parameters (PEFT's LoraConfig names in comments). */
export interface LoraOptions {
  /** Rank r (`r`). */
  readonly r: number;
  /** Scaling numerator α (`lora_alpha`); the update is scaled by α/r. Default: r (scale 1). */
  readonly alpha?: number;
  /** Dropout probability on the adapter's input, training only (`lora_dropout`). Default 0. */
  readonly dropout?: number;
  /**
   * Modules to adapt (`target_modules`): names matched as PEFT does, or "all-linear". Default: PEFT's
   * per-architecture default (["c_attn"] for gpt2, ["q_proj", "v_proj"] for the llama family).
   */
  readonly targetModules?: readonly string[] | "all-linear";
  /** Seed of A's initialization and of the dropout masks. Default 0. */
  readonly seed?: number;
}

/** The resolved hyper-parameters an adapter was made with. */
export interface LoraSettings {
  /** Rank r. */
  readonly r: number;
  /** Scaling numerator α (update scaled by α/r). */
  readonly alpha: number;
  /** Dropout probability on the adapter's input (training only). */
  readonly dropout: number;
  /** The target names as given (or the default), for adapter_config.json. */
  readonly targetModules: readonly string[] | "all-linear";
}

/** One adapted module's matrices: A [r, in] and B [out, r]. */
export interface LoraPair<T> {
  /** lora_A: [r, in]. */
  readonly A: T;
  /** lora_B: [out, r]. */
  readonly B: T;
}

/** A row-major float32 matrix of a neutral adapter record. */
export interface LoraMatrix {
  /** [rows, columns]. */
  readonly shape: readonly [number, number];
  /** Row-major values. */
  readonly data: Float32Array;
}

/**
 * An adapter as plain data, keyed by Hugging Face module path (e.g. "model.layers.0.self_attn.q_proj"):
 * the exchange format with the PEFT file reader/writer.
 */
export interface LoraRecord {
  /** Rank, α, dropout and target modules. */
  readonly settings: LoraSettings;
  /** A and B of every adapted module, by Hugging Face module path. */
  readonly modules: Readonly<Record<string, LoraPair<LoraMatrix>>>;
}

/** PEFT's default target modules for a config's architecture. */
export const defaultLoraTargets = (config: ModelConfig): readonly string[] =>
  config.family === "gpt2" ? ["c_attn"] : ["q_proj", "v_proj"];

/**
 * Whether module `name` is selected by `targets` (PEFT's rule: equal, or ends with "." + target).
 *
 * @example
 * ```ts
 * matchesTarget("transformer.h.0.mlp.c_proj", ["mlp.c_proj"]); // true
 * matchesTarget("transformer.h.0.attn.c_proj", ["mlp.c_proj"]); // false
 * ```
 */
export const matchesTarget = (name: string, targets: readonly string[] | "all-linear"): boolean =>
  targets === "all-linear" || targets.some((t) => name === t || name.endsWith(`.${t}`));

let adapterCounter = 0;

/** A LoRA adapter attached to one base {@link Transformer}; see the module doc. */
export class LoraAdapter implements ProjectionAdapter {
  /** The hyper-parameters the adapter was made with. */
  readonly settings: LoraSettings;
  /** α / r. */
  readonly scale: number;
  /** Adapted modules by Hugging Face path. */
  readonly modules: ReadonlyMap<string, LoraPair<tf.Variable>>;
  /** The base model this adapter belongs to. */
  readonly model: Transformer;
  #merged = false;
  #dropoutCalls = 0;
  readonly #seed: number;

  /** Use {@link createLoraAdapter} or {@link loraAdapterFromRecord}. */
  constructor(
    model: Transformer,
    settings: LoraSettings,
    modules: Map<string, LoraPair<tf.Variable>>,
    seed: number,
  ) {
    this.model = model;
    this.settings = settings;
    this.scale = settings.alpha / settings.r;
    this.modules = modules;
    this.#seed = seed;
  }

  /** True while merged into the base weights. */
  get merged(): boolean {
    return this.#merged;
  }

  /** The trainable variables (every A and B), for `tf.variableGrads` and optimizers. */
  variables(): tf.Variable[] {
    return [...this.modules.values()].flatMap(({ A, B }) => [A, B]);
  }

  /** The update (α/r)·drop(x)·Aᵀ·Bᵀ of `module` for rows x [N, in], or null when not adapted. */
  delta(module: string, x: tf.Tensor2D, training: boolean): tf.Tensor2D | null {
    const pair = this.modules.get(module);
    if (pair === undefined) return null;
    return tf.tidy(() => {
      const p = this.settings.dropout;
      const input = training && p > 0
        ? tf.dropout(x, p, undefined, this.#seed * 7919 + ++this.#dropoutCalls)
        : x;
      const low = tf.matMul(input as tf.Tensor2D, pair.A, false, true); // [N, r]
      return tf.mul(tf.matMul(low, pair.B, false, true), this.scale) as tf.Tensor2D;
    });
  }

  /** Add (α/r)·B·A into the base weights (the forward pass then skips the adapter). */
  merge(): void {
    if (this.#merged) throw new Error("LoraAdapter.merge: already merged");
    this.#applyToBase(1);
    this.#merged = true;
  }

  /** Subtract the update merged by {@link merge} from the base weights. */
  unmerge(): void {
    if (!this.#merged) throw new Error("LoraAdapter.unmerge: not merged");
    this.#applyToBase(-1);
    this.#merged = false;
  }

  /**
   * The adapter as plain data keyed by module path (A [r, in], B [out, r]), for saving in PEFT's layout.
   *
   * @example
   * ```ts
   * declare const adapter: LoraAdapter; // e.g. from createLoraAdapter
   * const record = await adapter.toRecord();
   * record.modules["model.layers.0.self_attn.q_proj"].A.shape; // [r, d]
   * ```
   */
  async toRecord(): Promise<LoraRecord> {
    const modules: Record<string, LoraPair<LoraMatrix>> = {};
    for (const [name, { A, B }] of this.modules) {
      modules[name] = {
        A: { shape: A.shape as [number, number], data: new Float32Array(await A.data()) },
        B: { shape: B.shape as [number, number], data: new Float32Array(await B.data()) },
      };
    }
    return { settings: this.settings, modules };
  }

  /** Free the adapter's variables (unmerge first if merged). */
  dispose(): void {
    if (this.#merged) this.unmerge();
    for (const v of this.variables()) v.dispose();
  }

  #applyToBase(sign: number): void {
    const layout = projectionLayout(this.model.config);
    for (const [name, { A, B }] of this.modules) {
      const w = this.model.weights[`${name}.weight`];
      tf.tidy(() => {
        const update = layout === "out_in" ? tf.matMul(B, A) : tf.matMul(A, B, true, true); // [out,in] / [in,out]
        w.assign(tf.add(w, tf.mul(update, sign * this.scale)));
      });
    }
  }
}

const resolveSettings = (config: ModelConfig, options: LoraOptions): LoraSettings => {
  const r = options.r;
  if (!Number.isInteger(r) || r <= 0) throw new RangeError(`LoRA: r must be a positive integer, got ${r}`);
  const dropout = options.dropout ?? 0;
  if (!(dropout >= 0 && dropout < 1)) throw new RangeError(`LoRA: dropout must be in [0, 1), got ${dropout}`);
  const alpha = options.alpha ?? r;
  if (!(alpha > 0)) throw new RangeError(`LoRA: alpha must be > 0, got ${alpha}`);
  return { r, alpha, dropout, targetModules: options.targetModules ?? defaultLoraTargets(config) };
};

const selectModules = (model: Transformer, targets: LoraSettings["targetModules"]) => {
  const chosen = projections(model.config).filter((p) => matchesTarget(p.module, targets));
  if (chosen.length === 0) {
    const names = [...new Set(projections(model.config).map((p) => p.module.split(".").pop()))].join(", ");
    throw new RangeError(
      `LoRA: target modules ${JSON.stringify(targets)} match no projection (this model has ${names})`,
    );
  }
  return chosen;
};

/**
 * A fresh adapter on `model`: A ~ U(±1/√in) seeded, B = 0 (the model's output is unchanged). Freezes
 * the base model's variables.
 *
 * @example
 * ```ts
 * import type { Transformer } from "./transformer.ts";
 * declare const model: Transformer; // e.g. from loadHfModel
 * const adapter = createLoraAdapter(model, { r: 4, alpha: 8, targetModules: "all-linear", seed: 3 });
 * ```
 */
export const createLoraAdapter = (model: Transformer, options: LoraOptions): LoraAdapter => {
  const settings = resolveSettings(model.config, options);
  const seed = options.seed ?? 0;
  const id = adapterCounter++;
  const modules = new Map<string, LoraPair<tf.Variable>>();
  selectModules(model, settings.targetModules).forEach((p, k) => {
    const bound = 1 / Math.sqrt(p.inFeatures);
    const a = tf.randomUniform([settings.r, p.inFeatures], -bound, bound, "float32", seed * 100003 + k);
    const b = tf.zeros([p.outFeatures, settings.r]);
    modules.set(p.module, {
      A: tf.variable(a, true, `lora_${id}/${p.module}.lora_A`),
      B: tf.variable(b, true, `lora_${id}/${p.module}.lora_B`),
    });
    a.dispose(), b.dispose();
  });
  model.setTrainable(false);
  return new LoraAdapter(model, settings, modules, seed);
};

/**
 * An adapter on `model` from plain data (e.g. read from a PEFT folder). Every module must be a
 * projection of the model with A [r, in] and B [out, r]; errors name the module and both shapes.
 * Freezes the base model's variables.
 *
 * @example
 * ```ts
 * import type { Transformer } from "./transformer.ts";
 * declare const model: Transformer; // e.g. from loadHfModel
 * import { readPeftAdapter } from "./peft.ts";
 * const dir = "zephyr-7b-sft-lora"; // a PEFT adapter folder
 * const adapter = loraAdapterFromRecord(model, await readPeftAdapter(dir));
 * ```
 */
export const loraAdapterFromRecord = (model: Transformer, record: LoraRecord, seed = 0): LoraAdapter => {
  const settings = resolveSettings(model.config, record.settings);
  const byName = new Map(projections(model.config).map((p) => [p.module, p]));
  const id = adapterCounter++;
  const modules = new Map<string, LoraPair<tf.Variable>>();
  for (const [name, pair] of Object.entries(record.modules)) {
    const p = byName.get(name);
    if (p === undefined) {
      throw new RangeError(
        `LoRA record: ${name} is not a projection of this ${model.config.modelType} model`,
      );
    }
    const wantA = [settings.r, p.inFeatures], wantB = [p.outFeatures, settings.r];
    if (pair.A.shape.join() !== wantA.join() || pair.B.shape.join() !== wantB.join()) {
      throw new RangeError(
        `LoRA record: ${name} has A [${pair.A.shape}] and B [${pair.B.shape}], the model needs A [${wantA}] and B [${wantB}]`,
      );
    }
    const a = tf.tensor2d(pair.A.data, [wantA[0], wantA[1]]),
      b = tf.tensor2d(pair.B.data, [wantB[0], wantB[1]]);
    modules.set(name, {
      A: tf.variable(a, true, `lora_${id}/${name}.lora_A`),
      B: tf.variable(b, true, `lora_${id}/${name}.lora_B`),
    });
    a.dispose(), b.dispose();
  }
  model.setTrainable(false);
  return new LoraAdapter(model, settings, modules, seed);
};
