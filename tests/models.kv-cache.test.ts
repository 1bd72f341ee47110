/**
 * Incremental decoding with a KV cache gives the logits of full recomputation (≤ 1e-4), for both
 * families, with left- and right-padded prompts; padded rows match their unpadded selves.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertClose, test } from "./harness.ts";
import { makeConfig, type ModelConfig } from "../models/config.ts";
import { KvCache } from "../models/kv-cache.ts";
import { createTransformer, type Transformer } from "../models/transformer.ts";

await tf.setBackend("cpu");

const configs: Record<string, ModelConfig> = {
  gpt2: makeConfig({
    family: "gpt2",
    vocabSize: 40,
    hiddenSize: 16,
    numLayers: 2,
    numHeads: 4,
    maxPositions: 32,
  }),
  llama: makeConfig({
    family: "llama",
    vocabSize: 40,
    hiddenSize: 16,
    numLayers: 2,
    numHeads: 4,
    numKeyValueHeads: 2,
    intermediateSize: 24,
    ropeTheta: 500,
  }),
  qwen2: makeConfig({
    family: "llama",
    modelType: "qwen2",
    vocabSize: 40,
    hiddenSize: 16,
    numLayers: 2,
    numHeads: 4,
    numKeyValueHeads: 1,
    qkvBias: true,
    tieWordEmbeddings: true,
  }),
};

const slice2 = (x: tf.Tensor2D, start: number, size: number): tf.Tensor2D =>
  tf.slice(x, [0, start], [x.shape[0], size]) as tf.Tensor2D;

/** Logits of the whole batch computed in chunks of columns through one cache. */
const incremental = (
  model: Transformer,
  ids: tf.Tensor2D,
  mask: tf.Tensor2D,
  chunks: number[],
): Float32Array => {
  const cache = new KvCache(model.config.numLayers);
  const parts: tf.Tensor3D[] = [];
  let at = 0;
  for (const size of chunks) {
    parts.push(model.logits(slice2(ids, at, size), slice2(mask, at, size), { cache }));
    at += size;
  }
  assert.equal(cache.length, at);
  const all = tf.concat(parts, 1);
  const out = all.dataSync() as Float32Array;
  tf.dispose([...parts, all]);
  cache.dispose();
  return out;
};

/** Rows at the mask's 1-columns only (pads' logits are meaningless). */
const realRows = (values: Float32Array, mask: number[][], vocab: number): number[][] => {
  const out: number[][] = [];
  const width = mask[0].length;
  mask.forEach((row, i) =>
    row.forEach((m, j) => {
      if (m === 1) out.push([...values.subarray((i * width + j) * vocab, (i * width + j + 1) * vocab)]);
    })
  );
  return out;
};

for (const [name, config] of Object.entries(configs)) {
  test(`kv-cache (${name}): prefill + one-token steps equal full recomputation, left padding`, () => {
    const model = createTransformer(config, { seed: 3, initStd: 0.3 });
    const rows = [[0, 0, 0, 5, 9, 1, 2, 3], [7, 8, 9, 10, 11, 12, 13, 14], [0, 0, 0, 0, 0, 3, 4, 39]];
    const maskRows = rows.map((r, i) =>
      r.map((_, j) => (i === 0 ? j >= 3 : i === 2 ? j >= 5 : true) ? 1 : 0)
    );
    const ids = tf.tensor2d(rows, [3, 8], "int32");
    const mask = tf.tensor2d(maskRows, [3, 8]);
    const full = model.logits(ids, mask);
    const fullValues = full.dataSync() as Float32Array;
    for (const chunks of [[6, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1], [3, 2, 3]]) {
      const inc = incremental(model, ids, mask, chunks);
      const a = realRows(inc, maskRows, config.vocabSize).flat();
      const b = realRows(fullValues, maskRows, config.vocabSize).flat();
      assertClose(a, b, { atol: 1e-4, message: `chunks ${chunks}` });
    }
    // each padded row equals the same tokens run alone, unpadded
    rows.forEach((row, i) => {
      const real = row.filter((_, j) => maskRows[i][j] === 1);
      const alone = model.logits(tf.tensor2d([real], [1, real.length], "int32"));
      const v = config.vocabSize;
      const ownRows = realRows(fullValues.subarray(i * 8 * v, (i + 1) * 8 * v), [maskRows[i]], v);
      assert.equal(ownRows.length, real.length);
      assertClose(alone.dataSync(), ownRows.flat(), { atol: 1e-4, message: `row ${i} alone` });
      alone.dispose();
    });
    tf.dispose([ids, mask, full]);
    model.dispose();
  });

  test(`kv-cache (${name}): right-padded prompts continue after the pads with correct positions`, () => {
    const model = createTransformer(config, { seed: 5, initStd: 0.3 });
    // row 0: prompt [4, 5] then 2 pads, then the continuation [6, 7]; row 1 has no pads
    const ids = tf.tensor2d([[4, 5, 0, 0, 6, 7], [1, 2, 3, 4, 5, 6]], [2, 6], "int32");
    const mask = tf.tensor2d([[1, 1, 0, 0, 1, 1], [1, 1, 1, 1, 1, 1]]);
    const inc = incremental(model, ids, mask, [4, 1, 1]);
    const alone = model.logits(tf.tensor2d([[4, 5, 6, 7]], [1, 4], "int32")).dataSync();
    const v = config.vocabSize;
    const got = [0, 1, 4, 5].flatMap((j) => [...inc.subarray(j * v, (j + 1) * v)]);
    assertClose(got, alone, { atol: 1e-4 });
    tf.dispose([ids, mask]);
    model.dispose();
  });
}

test("kv-cache: commit disposes the previous tensors and dispose frees all", () => {
  const model = createTransformer(configs.llama, { seed: 1 });
  const before = tf.memory().numTensors;
  const cache = new KvCache(model.config.numLayers);
  const ids = tf.tensor2d([[1, 2, 3]], [1, 3], "int32");
  const ones = tf.ones([1, 3]) as tf.Tensor2D;
  for (let i = 0; i < 3; i++) model.forward(ids, ones, { cache }).dispose();
  assert.equal(cache.length, 9);
  assert.equal(cache.tensorCount, 2 * model.config.numLayers + 1);
  assert.equal(tf.memory().numTensors - before, 2 + cache.tensorCount); // ids, ones, the cache
  cache.dispose();
  assert.equal(tf.memory().numTensors - before, 2);
  assert.throws(() => cache.layer(0), /after dispose/);
  model.dispose();
  tf.dispose([ids, ones]);
});
