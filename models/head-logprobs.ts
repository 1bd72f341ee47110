/**
 * Token log-probs through the output head, a chunk of rows at a time: log p(target | row) =
 * logits[target] − logsumexp(logits) with logits = hidden·Wᵀ, without ever holding the logits of
 * all rows.
 *
 * Why: the [rows, V] logits of a training pass are the largest tensors of a step. For SmolLM2-135M
 * (V = 49 152) one pair of 512-token sequences has 770 scored rows, 151 MB of logits per copy, and
 * the plain path (head, log-softmax by gather and logsumexp, then their gradients) holds about
 * twenty such copies at its peak: 3.7 GiB of the wasm heap's 4 for a single layer (measured by
 * scripts/step-memory.ts). Here the forward pass keeps only the hidden rows, the targets and one
 * logsumexp per row; the backward pass recomputes each chunk's logits and forms
 *
 *   ∂lp/∂logits = onehot(target) − softmax(logits),
 *
 * so ∂hidden = (dy·(onehot − p))·W and ∂W = (dy·(onehot − p))ᵀ·hidden chunk by chunk: at most one
 * chunk of [rows, V] floats (plus its few element-wise temporaries) is alive at a time. The price is
 * one more head product per row in the backward pass (about a tenth of a LoRA step of s135m).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { headTokenLogProbs } from "./head-logprobs.ts";
 * const hidden = tf.randomNormal([6, 4]) as tf.Tensor2D; // rows × d
 * const weight = tf.randomNormal([10, 4]) as tf.Tensor2D; // V × d (the head, or tied embeddings)
 * const targets = tf.tensor1d([1, 2, 3, 4, 5, 6], "int32");
 * const lp = headTokenLogProbs(hidden, weight, targets, { chunkElements: 20 }); // [6], two rows per chunk
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Options of {@link headTokenLogProbs}. */
export interface HeadLogProbOptions {
  /**
   * Logit elements (rows × V) per chunk, at least one row: the memory bound of the computation.
   * Default 2²² (16 MiB of float32: 85 rows of a 49 152-token vocabulary).
   */
  readonly chunkElements?: number;
  /**
   * Whether the gradient reaches the head weight. false (a frozen head, as under LoRA) skips its
   * product in the backward pass; the weight then gets no gradient at all. Default true.
   */
  readonly weightGradient?: boolean;
}

/** Default logit elements per chunk. */
export const defaultChunkElements = 2 ** 22;

/** [start, end) row ranges of `rowsPerChunk` rows. */
const chunks = (rows: number, rowsPerChunk: number): [number, number][] => {
  const out: [number, number][] = [];
  for (let s = 0; s < rows; s += rowsPerChunk) out.push([s, Math.min(rows, s + rowsPerChunk)]);
  return out;
};

/** Logits of rows s..e: hidden[s:e]·Wᵀ → [e − s, V]. */
const chunkLogits = (hidden: tf.Tensor2D, weight: tf.Tensor2D, s: number, e: number): tf.Tensor2D =>
  tf.matMul(tf.slice(hidden, [s, 0], [e - s, hidden.shape[1]]), weight, false, true);

/** Row-wise logsumexp [n, V] → [n], shifted by the row max (finite logits). */
const rowLogSumExp = (logits: tf.Tensor2D): tf.Tensor1D =>
  tf.tidy(() => {
    const m = tf.max(logits, 1, true);
    return tf.reshape(tf.add(tf.log(tf.sum(tf.exp(tf.sub(logits, m)), 1, true)), m), [-1]) as tf.Tensor1D;
  });

/** One-hot rows of `targets[s:e]` as float [e − s, V]. */
const targetRows = (targets: tf.Tensor1D, s: number, e: number, vocab: number): tf.Tensor2D =>
  tf.cast(tf.oneHot(tf.slice(targets, [s], [e - s]), vocab), "float32") as tf.Tensor2D;

/** The forward pass: lp [N] and the logsumexp of each row [N]. */
const forward = (
  hidden: tf.Tensor2D,
  weight: tf.Tensor2D,
  targets: tf.Tensor1D,
  rowsPerChunk: number,
): { lp: tf.Tensor1D; lse: tf.Tensor1D } =>
  tf.tidy(() => {
    const vocab = weight.shape[0];
    const lps: tf.Tensor1D[] = [], lses: tf.Tensor1D[] = [];
    for (const [s, e] of chunks(hidden.shape[0], rowsPerChunk)) {
      const [lp, lse] = tf.tidy(() => {
        const logits = chunkLogits(hidden, weight, s, e);
        const lse = rowLogSumExp(logits);
        const picked = tf.sum(tf.mul(logits, targetRows(targets, s, e, vocab)), 1);
        return [tf.sub(picked, lse), lse];
      });
      lps.push(lp as tf.Tensor1D), lses.push(lse as tf.Tensor1D);
    }
    return { lp: tf.concat(lps) as tf.Tensor1D, lse: tf.concat(lses) as tf.Tensor1D };
  });

/** The backward pass: ∂hidden [N, d] and, when asked, ∂W [V, d], chunk by chunk. */
const backward = (
  dy: tf.Tensor1D,
  hidden: tf.Tensor2D,
  weight: tf.Tensor2D,
  targets: tf.Tensor1D,
  lse: tf.Tensor1D,
  rowsPerChunk: number,
  weightGradient: boolean,
): { dHidden: tf.Tensor2D; dWeight: tf.Tensor2D | null } => {
  const vocab = weight.shape[0];
  const dHiddens: tf.Tensor2D[] = [];
  let dWeight: tf.Tensor | null = null;
  for (const [s, e] of chunks(hidden.shape[0], rowsPerChunk)) {
    const dLogits = tf.tidy(() => {
      const logits = chunkLogits(hidden, weight, s, e);
      const p = tf.exp(tf.sub(logits, tf.reshape(tf.slice(lse, [s], [e - s]), [-1, 1])));
      const g = tf.reshape(tf.slice(dy, [s], [e - s]), [-1, 1]);
      return tf.mul(tf.sub(targetRows(targets, s, e, vocab), p), g) as tf.Tensor2D;
    });
    dHiddens.push(tf.matMul(dLogits, weight));
    if (weightGradient) {
      const rows = tf.slice(hidden, [s, 0], [e - s, hidden.shape[1]]);
      const part = tf.matMul(dLogits, rows, true, false);
      rows.dispose();
      const previous: tf.Tensor | null = dWeight;
      dWeight = previous === null ? part : tf.add(previous, part);
      if (previous !== null) tf.dispose([previous, part]);
    }
    dLogits.dispose();
  }
  const dHidden = tf.concat(dHiddens) as tf.Tensor2D;
  tf.dispose(dHiddens);
  return { dHidden, dWeight: dWeight as tf.Tensor2D | null };
};

/**
 * log p(targets[i] | hidden[i]) under the head `weight` [V, d] for every row of `hidden` [N, d]
 * (integer `targets` [N]) → [N], differentiable in `hidden` (and in `weight` unless
 * `weightGradient` is false), computed a chunk of rows at a time (see the module doc).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * declare const hidden: tf.Tensor2D, head: tf.Tensor2D, targets: tf.Tensor1D;
 * const frozen = { weightGradient: false };
 * const dHidden = tf.grad((h) => tf.sum(headTokenLogProbs(h as tf.Tensor2D, head, targets, frozen)))(hidden);
 * ```
 */
export const headTokenLogProbs = (
  hidden: tf.Tensor2D,
  weight: tf.Tensor2D,
  targets: tf.Tensor1D,
  options: HeadLogProbOptions = {},
): tf.Tensor1D => {
  const [n, d] = hidden.shape, [vocab, dw] = weight.shape;
  if (d !== dw || targets.shape[0] !== n) {
    throw new RangeError(
      `headTokenLogProbs: hidden [${hidden.shape}], weight [${weight.shape}] and targets [${targets.shape}] ` +
        "must be [N, d], [V, d] and [N]",
    );
  }
  const chunkElements = options.chunkElements ?? defaultChunkElements;
  if (!(chunkElements > 0)) {
    throw new RangeError(`headTokenLogProbs: chunkElements must be positive, got ${chunkElements}`);
  }
  const rowsPerChunk = Math.max(1, Math.floor(chunkElements / vocab));
  const intTargets = targets.dtype === "int32" ? targets : tf.cast(targets, "int32") as tf.Tensor1D;
  const weightGradient = options.weightGradient ?? true;
  // The targets (constants, saved for the backward pass) and, for a frozen head, the weight are
  // not inputs: the tape then asks for no gradient of them.
  const op = (h: tf.Tensor2D, w: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const { lp, lse } = forward(h, w, intTargets, rowsPerChunk);
    save([h, lse, intTargets]);
    return {
      value: lp,
      gradFunc: (dy: tf.Tensor1D, saved: tf.Tensor[]) => {
        const [hs, lses, ts] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
        const out = backward(dy, hs, w, ts, lses, rowsPerChunk, weightGradient);
        return out.dWeight === null ? [out.dHidden] : [out.dHidden, out.dWeight];
      },
    };
  };
  const result = weightGradient
    ? tf.customGrad((h, w, save) => op(h as tf.Tensor2D, w as tf.Tensor2D, save as tf.GradSaveFunc))(
      hidden,
      weight,
    )
    : tf.customGrad((h, save) => op(h as tf.Tensor2D, weight, save as tf.GradSaveFunc))(hidden);
  if (intTargets !== targets) intTargets.dispose();
  return result as tf.Tensor1D;
};
