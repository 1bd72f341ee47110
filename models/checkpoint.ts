/**
 * Activation checkpointing of one transformer layer: the forward pass keeps only the layer's input;
 * the backward pass runs the layer again under a gradient tape and takes the gradients of its
 * input and of the layer's trained variables from that second run.
 *
 * Why: tfjs keeps every intermediate a gradient needs until the backward pass. For SmolLM2-135M at
 * 512 tokens that is about 0.5 GiB per layer and pair of sequences (the 9-head 512 × 512
 * attention weights, the 1 536-wide SwiGLU activations; measured by scripts/step-memory.ts), 15 GiB
 * over 30 layers, against the wasm heap's 4 GiB. Checkpointed, a pass holds the 30 layer inputs
 * (2.4 MB each) and one layer's intermediates at a time. The price is a second forward pass
 * through the layers: a LoRA step does about 1.5× the work (forward 2N, activation gradients 2N,
 * recomputation 2N per token).
 *
 * The recomputation must repeat the forward pass exactly, so it refuses randomness that is drawn
 * anew on each call (adapter dropout in training mode: see `canCheckpoint`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { checkpointed } from "./checkpoint.ts";
 * const w = tf.variable(tf.randomNormal([4, 4]));
 * const layer = (x: tf.Tensor2D) => tf.relu(tf.matMul(x, w)) as tf.Tensor2D;
 * const { grads } = tf.variableGrads(() => tf.sum(checkpointed(layer, tf.ones([2, 4]) as tf.Tensor2D, [], [w])) as tf.Scalar);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * `run(x, constants)`, with the gradient of `x` and of `variables` (those `run` uses that a
 * gradient should reach) formed by running `run` again in the backward pass instead of keeping its
 * intermediates; `run` gets copies of `constants` (tensors it reads but does not differentiate)
 * then, since the caller may have freed them. Variables `run` uses but that are not listed get no
 * gradient through it.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * declare const x: tf.Tensor2D, w: tf.Variable;
 * const y = checkpointed((input) => tf.matMul(input, w) as tf.Tensor2D, x, [], [w]);
 * ```
 */
export const checkpointed = (
  run: (x: tf.Tensor2D, constants: readonly tf.Tensor[]) => tf.Tensor2D,
  x: tf.Tensor2D,
  constants: readonly tf.Tensor[],
  variables: readonly tf.Variable[],
): tf.Tensor2D => {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const input = args[0] as tf.Tensor2D;
    // The constants (masks, rotary angles) may be freed before the backward pass: keep copies.
    save([input, ...constants]);
    return {
      value: run(input, constants),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const xs = [saved[0], ...variables];
        // This runs inside the outer backward pass, whose tape tfjs frees at its end: a nested
        // engine.gradients would replace it (then set it to null), so it is put back afterwards.
        const state = (tf.engine() as unknown as { state: { activeTape: unknown } }).state;
        const outerTape = state.activeTape;
        let out;
        try {
          out = tf.engine().gradients(() => run(saved[0] as tf.Tensor2D, saved.slice(1)), xs, dy);
        } finally {
          state.activeTape = outerTape;
        }
        const { value, grads } = out;
        value.dispose();
        // A listed variable the layer does not reach (none in a transformer layer) gets zeros.
        return grads.map((g, i) => g ?? tf.zerosLike(xs[i]));
      },
    };
  });
  return f(x, ...variables) as tf.Tensor2D;
};

/**
 * The variables of `wanted` that belong to the layer with Hugging Face prefix `prefix` (e.g.
 * "model.layers.3"): base weights are named `<model id>/<prefix>.…`, LoRA matrices
 * `lora_<id>/<prefix>.….lora_A`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * declare const trained: tf.Variable[];
 * layerVariables(trained, "model.layers.3");
 * ```
 */
export const layerVariables = (wanted: readonly tf.Variable[], prefix: string): tf.Variable[] =>
  wanted.filter((v) => v.name.includes(`/${prefix}.`));

/**
 * About how many bytes of intermediates tfjs keeps per layer for the backward pass of `rows`
 * sequences of `width` tokens: 4 bytes × rows × (width·(24·d + 10·f) + 20·H·width²), fitted to the
 * wasm heap measured by scripts/step-memory.ts on s135m (0.5 GiB per layer for 2 × 512 tokens).
 *
 * @example
 * ```ts
 * layerActivationBytes({ hiddenSize: 576, intermediateSize: 1536, numHeads: 9 }, 2, 512); // ≈ 5·10⁸
 * ```
 */
export const layerActivationBytes = (
  c: { readonly hiddenSize: number; readonly intermediateSize: number; readonly numHeads: number },
  rows: number,
  width: number,
): number =>
  4 * rows * (width * (24 * c.hiddenSize + 10 * c.intermediateSize) + 20 * c.numHeads * width * width);

/**
 * The intermediates of all layers above which `"auto"` checkpoints a training pass: 1.5 GiB, so a
 * pass fits next to the weights in the 4 GiB wasm heap that the wasm and blas backends share.
 */
export const checkpointBudgetBytes = 1.5 * 2 ** 30;
