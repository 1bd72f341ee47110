/**
 * The building blocks of the decoder: norms, activations, projections, the embedding lookup (with
 * a gradient that works on every backend) and rotary position embeddings.
 *
 * All functions are plain tfjs ops (differentiable, no host round trips) and are meant to run
 * inside a caller's `tf.tidy`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { rmsNorm } from "./layers.ts";
 * const y = rmsNorm(tf.ones([2, 3, 4]), tf.ones([4]), 1e-6, 0); // ≈ ones
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Activation, ModelConfig } from "./config.ts";
import type { WeightLayout } from "./weights.ts";

/**
 * LayerNorm over the last axis: (x − mean) / √(var + ε) · w + b, with the biased variance (as torch).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * const x = tf.randomNormal([2, 8]);
 * const weight = tf.ones([8]), bias = tf.zeros([8]);
 * layerNorm(x, weight, bias, 1e-5); // same shape as x
 * ```
 */
export const layerNorm = (x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor =>
  tf.tidy(() => {
    const centered = tf.sub(x, tf.mean(x, -1, true));
    const variance = tf.mean(tf.square(centered), -1, true);
    return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), weight), bias);
  });

/**
 * RMSNorm over the last axis: x / √(mean(x²) + ε) · (offset + w); offset is 0 for llama, mistral
 * and qwen2 and 1 for gemma.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * const x = tf.randomNormal([2, 8]);
 * const weight = tf.ones([8]);
 * rmsNorm(x, weight, 1e-6, 0);
 * ```
 */
export const rmsNorm = (x: tf.Tensor, weight: tf.Tensor, eps: number, offset: number): tf.Tensor =>
  tf.tidy(() => {
    const scale = offset === 0 ? weight : tf.add(weight, offset);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), scale);
  });

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

const GELU_C1 = 2 * SQRT_2_OVER_PI, GELU_C3 = 2 * SQRT_2_OVER_PI * 0.044715;

/**
 * tanh-GELU with its own gradient. 0.5·(1 + tanh(u)) = σ(2u), so gelu(x) = x·σ(g(x)) with
 * g(x) = c₁x + c₃x³ (c₁ = 2√(2/π), c₃ = 0.044715·c₁), and gelu′(x) = s + x·s·(1 − s)·(c₁ + 3c₃x²) with
 * s = σ(g(x)) saved from the forward: a handful of element-wise kernels instead of autograd's
 * chain through pow, tanh and the products. g is clipped to ±30 before σ, where σ is 0 or 1 to
 * float32 precision (WGSL's exp of a large argument is undefined: NaN on lavapipe); the derivative
 * ignores the clip, whose effect on it (s·(1 − s) < 10⁻¹³ there) is below float32 resolution.
 */
const geluTanh = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor, save = args[1] as tf.GradSaveFunc;
  const s = tf.tidy(() => {
    const x2 = tf.square(x);
    return tf.sigmoid(tf.clipByValue(tf.mul(x, tf.add(tf.mul(x2, GELU_C3), GELU_C1)), -30, 30));
  });
  save([x, s]);
  return {
    value: tf.mul(x, s),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ss] = saved;
      const slope = tf.add(tf.mul(tf.square(xs), 3 * GELU_C3), GELU_C1);
      return [tf.mul(dy, tf.add(ss, tf.mul(tf.mul(xs, tf.mul(ss, tf.sub(1, ss))), slope)))];
    },
  };
}) as (x: tf.Tensor) => tf.Tensor;

/**
 * The MLP non-linearity by name: `gelu_tanh` = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (GPT-2's
 * gelu_new, gemma's gelu_pytorch_tanh), `gelu` = 0.5·x·(1 + erf(x/√2)), `silu` = x·σ(x), `relu`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * applyActivation(tf.tensor1d([0, 1]), "silu"); // [0, 0.7311]
 * ```
 */
export const applyActivation = (x: tf.Tensor, activation: Activation): tf.Tensor =>
  tf.tidy(() => {
    switch (activation) {
      case "gelu_tanh":
        return geluTanh(x);
      case "gelu":
        return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
      case "silu":
        return tf.mul(x, tf.sigmoid(x));
      case "relu":
        return tf.relu(x);
    }
  });

/**
 * A projection of rows `x` [N, in] by `weight` stored in `layout` (GPT-2 Conv1D [in, out] or torch
 * Linear [out, in]) plus an optional bias [out] → [N, out]. One fused matMul for a trainable weight,
 * a plain product plus bias for a frozen one; never a transpose copy.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * projectRows(tf.ones([5, 4]), tf.ones([3, 4]), null, "out_in"); // [5, 3], every entry 4
 * ```
 */
export const projectRows = (
  x: tf.Tensor2D,
  weight: tf.Tensor,
  bias: tf.Tensor | null,
  layout: WeightLayout,
): tf.Tensor2D => {
  const transposeB = layout === "out_in";
  // A frozen weight (LoRA, a reference model) takes a plain product plus bias: tfjs's fused
  // kernel's gradient also forms the bias sum and the activation pass-through, work a frozen
  // projection does not need (measured faster on wasm for the LoRA step).
  if (weight instanceof tf.Variable && !weight.trainable) {
    const y = tf.matMul(x, weight as tf.Tensor2D, false, transposeB);
    return (bias === null ? y : tf.add(y, bias)) as tf.Tensor2D;
  }
  return tf.fused.matMul({ a: x, b: weight as tf.Tensor2D, transposeB, bias: bias ?? undefined }) as tf.Tensor2D;
};

/** Sum rows of `dy` [N, d] into a [rows, d] matrix at `ids` [N]; the fastest kernel the backend has. */
const scatterRows = (dy: tf.Tensor2D, ids: tf.Tensor1D, rows: number): tf.Tensor2D => {
  const backend = tf.getBackend();
  if (tf.getKernel("UnsortedSegmentSum", backend)) return tf.unsortedSegmentSum(dy, ids, rows) as tf.Tensor2D;
  if (tf.getKernel("ScatterNd", backend)) {
    return tf.scatterND(tf.expandDims(ids, 1), dy, [rows, dy.shape[1]]) as tf.Tensor2D;
  }
  return tf.matMul(tf.oneHot(ids, rows), dy, true, false); // [rows, N] · [N, d]
};

const embeddingLookup = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [table, ids, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([ids]);
  return {
    value: tf.gather(table, ids),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
      scatterRows(dy as tf.Tensor2D, saved[0] as tf.Tensor1D, table.shape[0]),
      tf.zerosLike(saved[0]),
    ],
  };
});

/**
 * Rows of `table` [V, d] at integer `ids` [N] → [N, d]. The gradient with respect to the table is a
 * segment sum (cpu, webgpu), a ScatterNd (wasm, which has no UnsortedSegmentSum) or a one-hot
 * matMul, whichever the active backend has: unlike `tf.gather`, it trains on every backend.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * gatherEmbeddings(tf.eye(3), tf.tensor1d([2, 0], "int32")); // [[0,0,1],[1,0,0]]
 * ```
 */
export const gatherEmbeddings = (table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D =>
  embeddingLookup(table, ids) as tf.Tensor2D;

/**
 * RoPE inverse frequencies θ^(−2j/h) for j = 0 … h/2 − 1, with the config's `rope_scaling` (linear:
 * divided by the factor; llama3: long wavelengths divided by the factor, short ones kept, a smooth
 * blend between).
 *
 * @example
 * ```ts
 * import type { ModelConfig } from "./config.ts";
 * declare const config: ModelConfig;
 * ropeInverseFrequencies(config); // Float32Array(headDim / 2), first entry 1
 * ```
 */
export const ropeInverseFrequencies = (config: ModelConfig): Float32Array => {
  const headDim = config.headDim;
  const out = new Float32Array(headDim / 2);
  const s = config.ropeScaling;
  for (let j = 0; j < headDim / 2; j++) {
    const base = 1 / Math.pow(config.ropeTheta, (2 * j) / headDim);
    let f = base;
    if (s?.type === "linear") f = base / s.factor;
    else if (s?.type === "llama3") {
      const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
      const highWavelen = s.originalMaxPositions / s.highFreqFactor;
      const wavelen = (2 * Math.PI) / base;
      if (wavelen > lowWavelen) f = base / s.factor;
      else if (wavelen >= highWavelen) {
        const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) /
          (s.highFreqFactor - s.lowFreqFactor);
        f = (1 - smooth) * (base / s.factor) + smooth * base;
      }
    }
    out[j] = f;
  }
  return out;
};

/** cos and sin of the rotary angles, [B, 1, T, h] each (broadcast over heads). */
export interface RotaryAngles {
  /** cos(angle), [B, 1, T, h]. */
  readonly cos: tf.Tensor4D;
  /** sin(angle), [B, 1, T, h]. */
  readonly sin: tf.Tensor4D;
}

/**
 * The rotary angles for float `positions` [B, T]: angle[b, t, j] = position · invFreq[j mod h/2]
 * (the frequencies repeated twice, Hugging Face's layout).
 *
 * @example
 * ```ts
 * import type { ModelConfig } from "./config.ts";
 * declare const config: ModelConfig;
 * import * as tf from "@tensorflow/tfjs";
 * const { cos, sin } = rotaryAngles(tf.tensor2d([[0, 1]]), tf.tensor1d(ropeInverseFrequencies(config)));
 * ```
 */
export const rotaryAngles = (positions: tf.Tensor2D, inverseFrequencies: tf.Tensor1D): RotaryAngles =>
  tf.tidy(() => {
    const [b, t] = positions.shape;
    const half = tf.mul(tf.reshape(positions, [b, t, 1]), tf.reshape(inverseFrequencies, [1, 1, -1]));
    const angles = tf.reshape(tf.concat([half, half], -1), [b, 1, t, -1]);
    return { cos: tf.cos(angles) as tf.Tensor4D, sin: tf.sin(angles) as tf.Tensor4D };
  });

/**
 * Rotate `x` [B, heads, T, h] by the angles (rotate-half convention): x·cos + [−x₂, x₁]·sin, where
 * x₁ and x₂ are the first and second halves of the head width.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import type { ModelConfig } from "./config.ts";
 * declare const config: ModelConfig;
 * declare const q: tf.Tensor4D; // [B, H, T, h]
 * const positions = tf.tensor2d([[0, 1]]); // [B, T]
 * const invFreq = tf.tensor1d(ropeInverseFrequencies(config));
 * const q2 = applyRotary(q, rotaryAngles(positions, invFreq));
 * ```
 */
export const applyRotary = (x: tf.Tensor4D, { cos, sin }: RotaryAngles): tf.Tensor4D =>
  tf.tidy(() => {
    const headDim = x.shape[3];
    const [x1, x2] = tf.split(x, [headDim / 2, headDim / 2], 3);
    const rotated = tf.concat([tf.neg(x2), x1], 3);
    return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
  });
