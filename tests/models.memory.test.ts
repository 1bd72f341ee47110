/**
 * The memory-bounded training pass: the chunked head log-probs (models/head-logprobs.ts) against a
 * Float64 computation of log-softmax and of its gradient in plain JS, and the policy's chunked and
 * layer-checkpointed pass (models/checkpoint.ts) against the plain pass: the same sequence
 * log-probs and the same gradients of LoRA and of full fine-tuning (tied and untied heads), with
 * no tensor left behind.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, test } from "./harness.ts";
import { makeConfig, type ModelConfig } from "../models/config.ts";
import { headTokenLogProbs } from "../models/head-logprobs.ts";
import { createLoraAdapter } from "../models/lora.ts";
import { type ScoreTensorOptions, TransformerPolicy } from "../models/policy.ts";
import { createTransformer } from "../models/transformer.ts";

await tf.setBackend("cpu");

/** max |a − b| / (1 + max |b|): float32 against Float64 or another float32 order of sums. */
const closeTo = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void => {
  assert.equal(a.length, b.length, `${what}: lengths`);
  let worst = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i])), scale = Math.max(scale, Math.abs(b[i]));
  }
  assert.ok(worst <= tol * (1 + scale), `${what}: max error ${worst} over scale ${scale}`);
};

/** A deterministic pseudo-random sequence in [−1, 1). */
const values = (n: number, seed: number): number[] => {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 31) - 1);
};

/**
 * Float64 reference: lp_i = h_i·w_t − logsumexp_v(h_i·w_v); for the loss L = Σ c_i·lp_i,
 * ∂L/∂h_i = c_i·(w_t − Σ_v p_iv·w_v) and ∂L/∂w_v = Σ_i c_i·(1[v = t_i] − p_iv)·h_i.
 */
const reference = (
  h: number[],
  w: number[],
  t: number[],
  c: number[],
  n: number,
  d: number,
  vocab: number,
) => {
  const lp: number[] = [], dh = new Array<number>(n * d).fill(0), dw = new Array<number>(vocab * d).fill(0);
  for (let i = 0; i < n; i++) {
    const logits = Array.from({ length: vocab }, (_, v) => {
      let s = 0;
      for (let k = 0; k < d; k++) s += h[i * d + k] * w[v * d + k];
      return s;
    });
    const m = Math.max(...logits);
    const z = logits.reduce((s, x) => s + Math.exp(x - m), 0);
    lp.push(logits[t[i]] - m - Math.log(z));
    for (let v = 0; v < vocab; v++) {
      const g = c[i] * ((v === t[i] ? 1 : 0) - Math.exp(logits[v] - m) / z);
      for (let k = 0; k < d; k++) dh[i * d + k] += g * w[v * d + k], dw[v * d + k] += g * h[i * d + k];
    }
  }
  return { lp, dh, dw };
};

test("headTokenLogProbs: log-probs and gradients equal Float64 log-softmax for every chunk size", () => {
  const n = 7, d = 5, vocab = 11;
  const h = values(n * d, 1).map((x) => 2 * x), w = values(vocab * d, 2).map((x) => 3 * x);
  const t = [0, 3, 10, 5, 5, 1, 7], c = values(n, 3);
  const want = reference(h, w, t, c, n, d, vocab);
  for (const chunkElements of [1, 3 * vocab, 4 * vocab, n * vocab, Infinity]) {
    const before = tf.memory().numTensors;
    const hidden = tf.tensor2d(h, [n, d]),
      initial = tf.tensor2d(w, [vocab, d]),
      weight = tf.variable(initial);
    const targets = tf.tensor1d(t, "int32"), coefficients = tf.tensor1d(c);
    const lp = headTokenLogProbs(hidden, weight, targets, { chunkElements });
    closeTo(lp.dataSync(), want.lp, 1e-5, `lp, chunk ${chunkElements}`);
    const [dh, dw] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(
        tf.mul(
          headTokenLogProbs(x as tf.Tensor2D, y as tf.Tensor2D, targets, { chunkElements }),
          coefficients,
        ),
      )
    )([hidden, weight]);
    closeTo(dh.dataSync(), want.dh, 1e-5, `∂hidden, chunk ${chunkElements}`);
    closeTo(dw.dataSync(), want.dw, 1e-5, `∂weight, chunk ${chunkElements}`);
    // A frozen head: the hidden-state gradient is the same, the weight gets none.
    const frozen = tf.grad((x: tf.Tensor) =>
      tf.sum(
        tf.mul(
          headTokenLogProbs(x as tf.Tensor2D, weight, targets, { chunkElements, weightGradient: false }),
          coefficients,
        ),
      )
    )(hidden);
    closeTo(frozen.dataSync(), want.dh, 1e-5, `∂hidden with a frozen head, chunk ${chunkElements}`);
    tf.dispose([hidden, initial, weight, targets, coefficients, lp, dh, dw, frozen]);
    assert.equal(tf.memory().numTensors, before, `tensors left behind, chunk ${chunkElements}`);
  }
});

test("headTokenLogProbs: refuses mismatched shapes and a non-positive chunk", () => {
  const h = tf.zeros([3, 4]) as tf.Tensor2D, w = tf.zeros([6, 4]) as tf.Tensor2D;
  assert.throws(
    () => headTokenLogProbs(h, w, tf.tensor1d([1, 2], "int32")),
    /must be \[N, d\], \[V, d\] and \[N\]/,
  );
  assert.throws(
    () => headTokenLogProbs(h, tf.zeros([6, 5]) as tf.Tensor2D, tf.tensor1d([1, 2, 3], "int32")),
    /hidden \[3,4\]/,
  );
  assert.throws(
    () => headTokenLogProbs(h, w, tf.tensor1d([1, 2, 3], "int32"), { chunkElements: 0 }),
    /chunkElements/,
  );
});

const configs: Record<string, ModelConfig> = {
  "llama, tied head, grouped keys": makeConfig({
    family: "llama",
    vocabSize: 29,
    hiddenSize: 16,
    numLayers: 3,
    numHeads: 4,
    numKeyValueHeads: 2,
    tieWordEmbeddings: true,
  }),
  "gpt2, untied head": makeConfig({
    family: "gpt2",
    vocabSize: 31,
    hiddenSize: 12,
    numLayers: 2,
    numHeads: 2,
    maxPositions: 16,
  }),
};
const prompts = [[1, 2, 3], [4], [5, 6], [7, 8, 9, 10]];
const completions = [[11, 12], [13, 14, 15, 16, 17], [18, 1], [2, 3, 4]];

/** Σ of the sequence log-probs weighted by fixed coefficients, its value and its gradients. */
const scoreAndGrads = (policy: TransformerPolicy, options: ScoreTensorOptions) => {
  const variables = policy.trainableVariables();
  const weights = tf.tensor1d([0.7, -1.3, 0.4, 2.1]);
  let scores: number[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const out = policy.sequenceLogProbsTensor(prompts, completions, { training: true, ...options });
    scores = Array.from(out.logProbs.dataSync());
    return tf.sum(tf.mul(out.logProbs, weights)) as tf.Scalar;
  }, variables);
  const flat = variables.map((v) => Array.from(grads[v.name].dataSync()));
  tf.dispose([value, weights, ...Object.values(grads)]);
  return { scores, grads: flat, names: variables.map((v) => v.name) };
};

for (const [label, config] of Object.entries(configs)) {
  for (const mode of ["LoRA", "full fine-tuning"] as const) {
    test(`policy (${label}, ${mode}): chunked head and checkpointed layers give the plain pass's log-probs and gradients`, () => {
      const model = createTransformer(config, { seed: 3 });
      const adapter = mode === "LoRA"
        ? createLoraAdapter(model, { r: 4, alpha: 8, targetModules: "all-linear", seed: 5 })
        : null;
      // Non-zero B, so the adapters' own gradients (∂A needs B) are tested too.
      for (const v of adapter?.variables() ?? []) v.assign(tf.randomNormal(v.shape, 0, 0.1, "float32", 7));
      const policy = new TransformerPolicy(model, adapter);
      const plain = scoreAndGrads(policy, { headChunkElements: Infinity, checkpointLayers: false });
      const before = tf.memory().numTensors;
      for (
        const options of [
          { headChunkElements: 2 * config.vocabSize, checkpointLayers: false },
          { headChunkElements: Infinity, checkpointLayers: true },
          { headChunkElements: 3 * config.vocabSize, checkpointLayers: true },
        ]
      ) {
        const got = scoreAndGrads(policy, options);
        const what = JSON.stringify(options);
        closeTo(got.scores, plain.scores, 1e-5, `scores ${what}`);
        assert.ok(plain.grads.length > 0);
        got.grads.forEach((g, i) => closeTo(g, plain.grads[i], 2e-5, `∂${got.names[i]} ${what}`));
      }
      assert.equal(tf.memory().numTensors, before, "tensors left behind");
      adapter?.dispose();
      model.dispose();
    });
  }
}

test("policy: checkpointed layers refuse adapter dropout in training, and 'auto' leaves them off then", () => {
  const model = createTransformer(configs["llama, tied head, grouped keys"], { seed: 1 });
  const adapter = createLoraAdapter(model, { r: 2, dropout: 0.1, seed: 1 });
  const policy = new TransformerPolicy(model, adapter);
  assert.throws(
    () => policy.sequenceLogProbsTensor(prompts, completions, { training: true, checkpointLayers: true }),
    /checkpointLayers needs adapter dropout 0/,
  );
  const out = policy.sequenceLogProbsTensor(prompts, completions, { training: true });
  assert.equal(out.logProbs.shape[0], prompts.length);
  tf.dispose([out.logProbs, out.tokenCounts]);
  adapter.dispose();
  model.dispose();
});
