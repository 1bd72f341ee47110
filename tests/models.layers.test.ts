/**
 * Building blocks against plain JS: norms, activations (published values), rotary embeddings in
 * the rotate-half convention, positions and masks from the attention mask, grouped-query attention,
 * and the embedding gradient on cpu and wasm.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertClose, test } from "./harness.ts";
import { initWasm } from "../backends/wasm.ts";
import { makeConfig } from "../models/config.ts";
import {
  attentionBias,
  groupedQueryAttention,
  MASKED_SCORE,
  positionsFromMask,
} from "../models/attention.ts";
import {
  applyActivation,
  applyRotary,
  gatherEmbeddings,
  layerNorm,
  rmsNorm,
  ropeInverseFrequencies,
  rotaryAngles,
} from "../models/layers.ts";

await tf.setBackend("cpu");

const x = [[0.5, -1.5, 2, 0.25], [3, 0, -2, 1]];
const w = [1, 2, -1, 0.5], b = [0.1, 0, -0.1, 0.2];

test("layers: LayerNorm and RMSNorm (with gemma's 1 + w) match plain JS", () => {
  const ln = x.map((row) => {
    const m = row.reduce((s, v) => s + v, 0) / row.length;
    const v = row.reduce((s, u) => s + (u - m) ** 2, 0) / row.length;
    return row.map((u, i) => ((u - m) / Math.sqrt(v + 1e-5)) * w[i] + b[i]);
  });
  assertClose(layerNorm(tf.tensor2d(x), tf.tensor1d(w), tf.tensor1d(b), 1e-5).dataSync(), ln.flat(), {
    atol: 1e-5,
  });
  for (const offset of [0, 1]) {
    const rms = x.map((row) => {
      const r = Math.sqrt(row.reduce((s, u) => s + u * u, 0) / row.length + 1e-6);
      return row.map((u, i) => (u / r) * (offset + w[i]));
    });
    assertClose(rmsNorm(tf.tensor2d(x), tf.tensor1d(w), 1e-6, offset).dataSync(), rms.flat(), { atol: 1e-5 });
  }
});

test("layers: activations match published values", () => {
  const at = (a: Parameters<typeof applyActivation>[1]): Float32Array =>
    applyActivation(tf.tensor1d([1, -1, 0]), a).dataSync() as Float32Array;
  assertClose(at("gelu"), [0.8413447460685429, -0.15865525393145707, 0], { atol: 1e-6 });
  assertClose(at("gelu_tanh"), [0.8411919906082768, -0.15880800939172324, 0], { atol: 1e-6 });
  assertClose(at("silu"), [0.7310585786300049, -0.2689414213699951, 0], { atol: 1e-6 });
  assertClose(at("relu"), [1, 0, 0], { atol: 0 });
});

test("layers: RoPE is the rotate-half rotation by position · θ^(−2j/h)", () => {
  const config = makeConfig({
    family: "llama",
    vocabSize: 5,
    hiddenSize: 8,
    numLayers: 1,
    numHeads: 2,
    ropeTheta: 100,
  });
  const inv = ropeInverseFrequencies(config); // h = 4: [1, 100^(−1/2)]
  assertClose(inv, [1, 0.1], { atol: 1e-7 });
  const positions = [[0, 3, 7]];
  const q = [[1, 2, 3, 4], [0.5, -1, 0, 2], [-3, 1, 1, 1]]; // one head, 3 tokens, h = 4
  const expected = q.map((v, t) => {
    const p = positions[0][t];
    const out = [0, 0, 0, 0];
    for (let j = 0; j < 2; j++) {
      const a = p * inv[j], c = Math.cos(a), s = Math.sin(a);
      out[j] = v[j] * c - v[j + 2] * s; // pairs (j, j + h/2)
      out[j + 2] = v[j + 2] * c + v[j] * s;
    }
    return out;
  });
  const angles = rotaryAngles(tf.tensor2d(positions), tf.tensor1d(inv));
  const got = applyRotary(tf.tensor4d(q.flat(), [1, 1, 3, 4]), angles);
  assertClose(got.dataSync(), expected.flat(), { atol: 1e-5 });
});

test("layers: llama3 rope scaling divides long wavelengths, keeps short ones, blends between", () => {
  const config = makeConfig({
    family: "llama",
    vocabSize: 5,
    hiddenSize: 64,
    numLayers: 1,
    numHeads: 1,
    ropeTheta: 500000,
    ropeScaling: {
      type: "llama3",
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositions: 8192,
    },
  });
  const scaled = ropeInverseFrequencies(config);
  const plain = ropeInverseFrequencies({ ...config, ropeScaling: null });
  for (let j = 0; j < 32; j++) {
    const wavelen = (2 * Math.PI) / plain[j];
    if (wavelen < 8192 / 4) assertClose([scaled[j]], [plain[j]], { atol: 0, message: `high frequency ${j}` });
    else if (wavelen > 8192) {
      assertClose([scaled[j]], [plain[j] / 8], { rtol: 1e-6, message: `low frequency ${j}` });
    } else assert.ok(scaled[j] < plain[j] && scaled[j] > plain[j] / 8, `medium frequency ${j} in between`);
  }
});

test("layers: positions and the attention bias come from the mask (left and right padding)", () => {
  const mask = tf.tensor2d([[0, 0, 1, 1], [1, 1, 0, 1]]);
  assertClose(positionsFromMask(mask).dataSync(), [0, 0, 0, 1, 0, 1, 1, 2], { atol: 0 });
  const bias = attentionBias(mask, 0, 4, null, null).arraySync() as number[][][][];
  const m = MASKED_SCORE;
  assert.deepEqual(bias[0][0], [[m, m, m, m], [m, m, m, m], [m, m, 0, m], [m, m, 0, 0]]);
  assert.deepEqual(bias[1][0], [[0, m, m, m], [0, 0, m, m], [0, 0, m, m], [0, 0, m, 0]]);
  // two new queries after 2 cached columns, window 2 (positions 0..3): keys ≥ 2 behind are masked
  const full = tf.ones([1, 4]) as tf.Tensor2D;
  const windowed = attentionBias(full, 2, 2, 2, positionsFromMask(full)).arraySync() as number[][][][];
  assert.deepEqual(windowed[0][0], [[m, 0, 0, m], [m, m, 0, 0]]);
});

test("layers: grouped-query attention uses key head ⌊i / g⌋ for query head i (plain JS)", () => {
  const [heads, kvHeads, t, h] = [4, 2, 3, 2];
  const val = (n: number, s: number): number[] => Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + s));
  const q = val(heads * t * h, 1), k = val(kvHeads * t * h, 2), v = val(kvHeads * t * h, 3);
  const mask = tf.ones([1, t]) as tf.Tensor2D;
  const got = groupedQueryAttention(
    tf.tensor4d(q, [1, heads, t, h]),
    tf.tensor4d(k, [1, kvHeads, t, h]),
    tf.tensor4d(v, [1, kvHeads, t, h]),
    attentionBias(mask, 0, t, null, null),
  ).dataSync();
  const expected = new Array(t * heads * h).fill(0);
  for (let i = 0; i < heads; i++) {
    const kv = Math.floor(i / (heads / kvHeads));
    for (let a = 0; a < t; a++) {
      const scores = [];
      for (let c = 0; c <= a; c++) {
        let s = 0;
        for (let e = 0; e < h; e++) s += q[(i * t + a) * h + e] * k[(kv * t + c) * h + e];
        scores.push(s / Math.sqrt(h));
      }
      const mx = Math.max(...scores), z = scores.reduce((s, u) => s + Math.exp(u - mx), 0);
      for (let c = 0; c <= a; c++) {
        for (let e = 0; e < h; e++) {
          expected[(a * heads + i) * h + e] += (Math.exp(scores[c] - mx) / z) * v[(kv * t + c) * h + e];
        }
      }
    }
  }
  assertClose(got, expected, { atol: 1e-5 });
});

const embeddingGradient = (): Float32Array =>
  tf.tidy(() => {
    const table = tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]);
    const ids = tf.tensor1d([2, 0, 2, 3], "int32");
    const weights = tf.tensor2d([[1, 0], [0, 1], [2, 3], [-1, 5]]);
    return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gatherEmbeddings(t as tf.Tensor2D, ids), weights)))(table)
      .dataSync() as Float32Array;
  });

test("layers: the embedding gradient sums rows per id on cpu and on wasm", async () => {
  // id 2 appears twice: [1,0] + [2,3]; id 0: [0,1]; id 3: [−1,5]; id 1: nothing
  const expected = [0, 1, 0, 0, 3, 3, -1, 5];
  assertClose(embeddingGradient(), expected, { atol: 0 });
  await initWasm();
  try {
    assertClose(embeddingGradient(), expected, { atol: 0, message: "wasm" });
  } finally {
    await tf.setBackend("cpu");
  }
});
