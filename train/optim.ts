/**
 * The optimizer of self-play training: AdamW with decoupled weight decay, gradient clipping by
 * global norm, and gradient accumulation, on tfjs variables.
 *
 * One update k (1-based) of a parameter θ with gradient g, learning rate η and weight decay λ:
 *
 *   c   = min(1, maxGradNorm / (‖g‖ + 1e-6))        clipping (skipped when maxGradNorm = 0);
 *                                                   ‖g‖ is the norm over ALL parameters together
 *   g'  = c·g
 *   m  ← β1·m + (1 − β1)·g'          v ← β2·v + (1 − β2)·g'²
 *   θ  ← θ − η·λ·θ − η · (m / (1 − β1^k)) / (√(v / (1 − β2^k)) + ε)
 *
 * The decay term η·λ·θ does not go through the adaptive denominator (Loshchilov & Hutter's
 * decoupled weight decay, as PyTorch's AdamW); tfjs's AdamOptimizer has no such term. Everything
 * stays on the device: the clip coefficient is a tensor and learning rate and bias corrections are
 * host numbers, so an update makes no read-back. `step` returns the pre-clip norm as a scalar
 * tensor for the caller's one metric read-back per step (the norm Hugging Face's Trainer logs as
 * `grad_norm`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { AdamW, GradientAccumulator } from "./optim.ts";
 * const w = tf.variable(tf.tensor1d([1, -2]));
 * const opt = new AdamW([w], { weightDecay: 0.01, maxGradNorm: 1 });
 * const acc = new GradientAccumulator([w]);
 * for (let micro = 0; micro < 2; micro++) {
 *   const { grads } = tf.variableGrads(() => tf.sum(tf.square(w)).div(2) as tf.Scalar, [w]);
 *   acc.add([grads[w.name]]);
 *   tf.dispose(grads);
 * }
 * const norm = opt.step(acc.take(), 1e-3); // one update from the mean of the two gradients
 * console.log(await norm.data());
 * norm.dispose();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Hyper-parameters of {@link AdamW} (PyTorch's / Hugging Face's names in comments). */
export interface AdamWOptions {
  /** β1 (`adam_beta1`). Default 0.9. */
  readonly beta1?: number;
  /** β2 (`adam_beta2`). Default 0.999. */
  readonly beta2?: number;
  /** ε (`adam_epsilon`). Default 1e-8. */
  readonly eps?: number;
  /** Decoupled weight decay λ (`weight_decay`). Default 0. */
  readonly weightDecay?: number;
  /** Clip the global gradient norm to this (`max_grad_norm`); 0 turns clipping off. Default 1. */
  readonly maxGradNorm?: number;
  /**
   * Per variable (aligned with the variable list): whether weight decay applies. Default: every
   * variable. Hugging Face's Trainer leaves biases and normalization weights undecayed.
   */
  readonly decay?: readonly boolean[];
}

/** The optimizer's state as plain data: update count and both moments per variable (float32). */
export interface AdamWState {
  /** Updates taken so far. */
  readonly step: number;
  /** First moments, aligned with the variables. */
  readonly m: readonly Float32Array[];
  /** Second moments, aligned with the variables. */
  readonly v: readonly Float32Array[];
}

const checkNumber = (name: string, x: number, ok: (x: number) => boolean, rule: string): number => {
  if (typeof x !== "number" || !Number.isFinite(x) || !ok(x)) throw new RangeError(`AdamW: ${name} ${rule}, got ${x}`);
  return x;
};

const checkGrads = (variables: readonly tf.Variable[], grads: readonly tf.Tensor[], where: string): void => {
  if (grads.length !== variables.length) {
    throw new RangeError(`${where}: ${grads.length} gradients for ${variables.length} variables`);
  }
  grads.forEach((g, i) => {
    if (g.shape.join() !== variables[i].shape.join()) {
      throw new RangeError(`${where}: gradient ${i} has shape [${g.shape}], variable ${variables[i].name} is [${variables[i].shape}]`);
    }
  });
};

/**
 * The global L2 norm √(Σ_i ‖g_i‖²) of a list of gradients, as a scalar tensor (no read-back).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * const norm = globalNorm([tf.tensor1d([3]), tf.tensor1d([4])]); // 5
 * ```
 */
export const globalNorm = (grads: readonly tf.Tensor[]): tf.Scalar =>
  tf.tidy(() => {
    if (grads.length === 0) return tf.scalar(0);
    return tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
  });

/** AdamW with decoupled weight decay and global-norm clipping over a fixed list of variables. */
export class AdamW {
  /** The variables updated, in a fixed order (moments and gradients are aligned with it). */
  readonly variables: readonly tf.Variable[];
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly maxGradNorm: number;
  readonly #decay: readonly boolean[];
  readonly #m: tf.Variable[];
  readonly #v: tf.Variable[];
  #step = 0;
  #disposed = false;

  /**
   * @example
   * ```ts
   * import type { TransformerPolicy } from "../models/policy.ts";
   * declare const policy: TransformerPolicy;
   * const opt = new AdamW(policy.trainableVariables(), { weightDecay: 0.01, maxGradNorm: 1 });
   * ```
   */
  constructor(variables: readonly tf.Variable[], options: AdamWOptions = {}) {
    this.variables = [...variables];
    this.beta1 = checkNumber("beta1", options.beta1 ?? 0.9, (x) => x >= 0 && x < 1, "must be in [0, 1)");
    this.beta2 = checkNumber("beta2", options.beta2 ?? 0.999, (x) => x >= 0 && x < 1, "must be in [0, 1)");
    this.eps = checkNumber("eps", options.eps ?? 1e-8, (x) => x > 0, "must be > 0");
    this.weightDecay = checkNumber("weightDecay", options.weightDecay ?? 0, (x) => x >= 0, "must be >= 0");
    this.maxGradNorm = checkNumber("maxGradNorm", options.maxGradNorm ?? 1, (x) => x >= 0, "must be >= 0");
    const decay = options.decay ?? this.variables.map(() => true);
    if (decay.length !== this.variables.length) {
      throw new RangeError(`AdamW: decay has ${decay.length} entries for ${this.variables.length} variables`);
    }
    this.#decay = [...decay];
    this.#m = this.variables.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
    this.#v = this.variables.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
  }

  /** Updates taken so far (the bias corrections use it). */
  get stepCount(): number {
    return this.#step;
  }

  /**
   * One update from raw gradients (aligned with `variables`) at learning rate `lr`: clip by the
   * global norm, decoupled decay, Adam. Returns the pre-clip global norm (a scalar the caller
   * disposes). The gradients are not disposed.
   *
   * @example
   * ```ts
   * import type * as tf from "@tensorflow/tfjs";
   * import { learningRateAt, type LrSchedule } from "./schedule.ts";
   * declare const opt: AdamW;
   * declare const grads: tf.Tensor[]; // one per variable, e.g. GradientAccumulator.take()
   * declare const schedule: LrSchedule;
   * const norm = opt.step(grads, learningRateAt(schedule, opt.stepCount));
   * ```
   */
  step(grads: readonly tf.Tensor[], lr: number): tf.Scalar {
    if (this.#disposed) throw new Error("AdamW: used after dispose");
    checkGrads(this.variables, grads, "AdamW.step");
    checkNumber("lr", lr, (x) => x >= 0, "must be >= 0");
    const k = this.#step + 1;
    const bc1 = 1 - this.beta1 ** k, bc2 = 1 - this.beta2 ** k;
    const norm = globalNorm(grads);
    tf.tidy(() => {
      const coef = this.maxGradNorm > 0
        ? tf.minimum(tf.scalar(1), tf.div(tf.scalar(this.maxGradNorm), tf.add(norm, tf.scalar(1e-6))))
        : tf.scalar(1);
      const b1 = tf.scalar(this.beta1), b2 = tf.scalar(this.beta2);
      const ob1 = tf.scalar(1 - this.beta1), ob2 = tf.scalar(1 - this.beta2);
      const stepSize = tf.scalar(lr / bc1), sqrtBc2 = tf.scalar(Math.sqrt(bc2)), eps = tf.scalar(this.eps);
      const decayFactor = tf.scalar(1 - lr * this.weightDecay);
      this.variables.forEach((theta, i) => {
        const g = tf.mul(grads[i], coef);
        const m = tf.add(tf.mul(this.#m[i], b1), tf.mul(g, ob1));
        const v = tf.add(tf.mul(this.#v[i], b2), tf.mul(tf.square(g), ob2));
        this.#m[i].assign(m);
        this.#v[i].assign(v);
        const denom = tf.add(tf.div(tf.sqrt(v), sqrtBc2), eps);
        const decayed = this.#decay[i] && this.weightDecay > 0 ? tf.mul(theta, decayFactor) : theta;
        theta.assign(tf.sub(decayed, tf.mul(stepSize, tf.div(m, denom))));
      });
    });
    this.#step = k;
    return norm;
  }

  /**
   * The state as plain data (reads the moments back), for a checkpoint.
   *
   * @example
   * ```ts
   * declare const opt: AdamW;
   * const state = await opt.exportState(); // { step, m: Float32Array[], v: Float32Array[] }
   * ```
   */
  async exportState(): Promise<AdamWState> {
    const m = await Promise.all(this.#m.map(async (x) => new Float32Array(await x.data())));
    const v = await Promise.all(this.#v.map(async (x) => new Float32Array(await x.data())));
    return { step: this.#step, m, v };
  }

  /**
   * Restore a state made by {@link exportState} for the same variables (sizes are checked).
   *
   * @example
   * ```ts
   * declare const opt: AdamW;
   * declare const stateFromCheckpoint: AdamWState; // e.g. TrainCheckpoint.optimizer
   * opt.loadState(stateFromCheckpoint);
   * ```
   */
  loadState(state: AdamWState): void {
    if (!Number.isInteger(state.step) || state.step < 0) throw new RangeError(`AdamW.loadState: bad step ${state.step}`);
    if (state.m.length !== this.variables.length || state.v.length !== this.variables.length) {
      throw new RangeError(`AdamW.loadState: the state has ${state.m.length} moments for ${this.variables.length} variables`);
    }
    this.variables.forEach((variable, i) => {
      for (const [moments, values] of [[this.#m, state.m[i]], [this.#v, state.v[i]]] as const) {
        if (values.length !== variable.size) {
          throw new RangeError(`AdamW.loadState: moment ${i} has ${values.length} values, ${variable.name} has ${variable.size}`);
        }
        tf.tidy(() => moments[i].assign(tf.tensor(values, variable.shape, "float32")));
      }
    });
    this.#step = state.step;
  }

  /** Free the moment variables (the parameters are the caller's). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    tf.dispose([...this.#m, ...this.#v]);
  }
}

/**
 * Sums gradients of micro-batches on the device; {@link take} returns their mean (the gradient
 * of the mean loss over the accumulated micro-batches, as Hugging Face's Trainer does when it
 * divides each micro-batch loss by `gradient_accumulation_steps`).
 */
export class GradientAccumulator {
  readonly variables: readonly tf.Variable[];
  #sum: tf.Tensor[] | null = null;
  #count = 0;

  /**
   * @example
   * ```ts
   * declare const opt: AdamW;
   * const acc = new GradientAccumulator(opt.variables);
   * ```
   */
  constructor(variables: readonly tf.Variable[]) {
    this.variables = [...variables];
  }

  /** Micro-batches added since the last {@link take}. */
  get count(): number {
    return this.#count;
  }

  /**
   * Add one micro-batch's gradients (aligned with the variables; not disposed here).
   *
   * @example
   * ```ts
   * import type * as tf from "@tensorflow/tfjs";
   * declare const opt: AdamW;
   * declare const acc: GradientAccumulator;
   * declare const grads: tf.NamedTensorMap; // from tf.variableGrads
   * acc.add(opt.variables.map((v) => grads[v.name]));
   * ```
   */
  add(grads: readonly tf.Tensor[]): void {
    checkGrads(this.variables, grads, "GradientAccumulator.add");
    const previous = this.#sum;
    this.#sum = tf.tidy(() => (previous === null ? grads.map((g) => tf.clone(g)) : previous.map((s, i) => tf.add(s, grads[i]))));
    if (previous !== null) tf.dispose(previous);
    this.#count++;
  }

  /**
   * The mean of the added gradients (the caller disposes them), and a reset. Throws when empty.
   *
   * @example
   * ```ts
   * import * as tf from "@tensorflow/tfjs";
   * declare const opt: AdamW;
   * declare const acc: GradientAccumulator;
   * const lr = 5e-5;
   * const grads = acc.take();
   * const norm = opt.step(grads, lr);
   * tf.dispose([...grads, norm]);
   * ```
   */
  take(): tf.Tensor[] {
    if (this.#sum === null) throw new Error("GradientAccumulator.take: no gradients were added");
    const sum = this.#sum, n = this.#count;
    this.#sum = null;
    this.#count = 0;
    if (n === 1) return sum;
    const mean = tf.tidy(() => sum.map((s) => tf.div(s, tf.scalar(n))));
    tf.dispose(sum);
    return mean;
  }

  /** Drop any accumulated gradients. */
  dispose(): void {
    if (this.#sum !== null) tf.dispose(this.#sum);
    this.#sum = null;
    this.#count = 0;
  }
}
