/**
 * The models on every backend: on cpu, wasm, blas (where a system BLAS opens) and (under Deno,
 * where an adapter exists) webgpu, the
 * KV-cached decoding equals full recomputation, the logits equal the cpu ones, greedy generation
 * gives the cpu tokens, and a full fine-tuning step (embedding gradient included) gives the cpu
 * gradients.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertClose, test } from "./harness.ts";
import { backendsUnderTest } from "./backends.support.ts";
import { initBackend } from "../backends/load.ts";
import { makeConfig, type ModelConfig } from "../models/config.ts";
import { KvCache } from "../models/kv-cache.ts";
import { applyActivation } from "../models/layers.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { createTransformer } from "../models/transformer.ts";

await tf.setBackend("cpu");

const configs: Record<string, ModelConfig> = {
  gpt2: makeConfig({ family: "gpt2", vocabSize: 19, hiddenSize: 12, numLayers: 2, numHeads: 3, maxPositions: 24 }),
  llama: makeConfig({
    family: "llama",
    vocabSize: 19,
    hiddenSize: 16,
    numLayers: 2,
    numHeads: 4,
    numKeyValueHeads: 2,
    qkvBias: true,
  }),
};

const rows = [[0, 0, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]];
const maskRows = [[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]];
const prompts = [[3, 4], [7, 8, 9]];
const completions = [[5, 6, 1], [10]];

interface Outcome {
  readonly full: Float32Array;
  readonly cached: Float32Array;
  readonly tokens: number[][];
  readonly grads: Record<string, Float32Array>;
}

/** Everything the test compares, computed on the active backend. */
const run = async (config: ModelConfig): Promise<Outcome> => {
  const model = createTransformer(config, { seed: 31, initStd: 0.3 });
  const policy = new TransformerPolicy(model);
  const ids = tf.tensor2d(rows, [2, 6], "int32"), mask = tf.tensor2d(maskRows, [2, 6]);
  const fullT = model.logits(ids, mask);
  const full = (await fullT.data()) as Float32Array;
  const cache = new KvCache(config.numLayers);
  const parts = [model.logits(tf.slice(ids, [0, 0], [2, 4]), tf.slice(mask, [0, 0], [2, 4]), { cache })];
  for (const j of [4, 5]) parts.push(model.logits(tf.slice(ids, [0, j], [2, 1]), tf.slice(mask, [0, j], [2, 1]), { cache }));
  const cachedT = tf.concat(parts, 1);
  const cached = (await cachedT.data()) as Float32Array;
  cache.dispose();
  const tokens = (await policy.generate(prompts, { maxNewTokens: 5, greedy: true, eosTokenIds: [] })).completions;
  const { value, grads } = tf.variableGrads(() =>
    tf.neg(tf.sum(policy.sequenceLogProbsTensor(prompts, completions, { training: true }).logProbs)) as tf.Scalar
  );
  const out: Record<string, Float32Array> = {};
  for (const [k, g] of Object.entries(grads)) out[k.slice(k.indexOf("/") + 1)] = (await g.data()) as Float32Array;
  tf.dispose([ids, mask, fullT, cachedT, ...parts, value, ...Object.values(grads)]);
  model.dispose();
  return { full, cached, tokens, grads: out };
};

/** Logits at real (mask 1) positions only. */
const real = (values: Float32Array, vocab: number): number[] =>
  maskRows.flat().flatMap((m, k) => (m === 1 ? [...values.subarray(k * vocab, (k + 1) * vocab)] : []));

for (const backend of await backendsUnderTest()) {
  for (const [name, config] of Object.entries(configs)) {
    test(`models on ${backend.name} (${name}): cache = recompute, logits, greedy tokens and gradients = cpu`, async () => {
      await tf.setBackend("cpu");
      const expected = await run(config);
      await initBackend(backend.name);
      try {
        const got = await run(config);
        const v = config.vocabSize;
        assertClose(real(got.cached, v), real(got.full, v), { atol: 1e-4, message: "cached vs full" });
        assertClose(real(got.full, v), real(expected.full, v), { atol: 1e-4, message: "logits vs cpu" });
        assert.deepEqual(got.tokens, expected.tokens);
        assert.deepEqual(Object.keys(got.grads).sort(), Object.keys(expected.grads).sort());
        for (const k of Object.keys(expected.grads)) {
          assertClose(got.grads[k], expected.grads[k], { atol: 1e-4, rtol: 1e-3, message: k });
        }
      } finally {
        await tf.setBackend("cpu");
      }
    }, { skip: backend.skip });
  }
}

// gelu_tanh is computed as x·σ(2u); exp of a large argument is undefined in WGSL (NaN on lavapipe),
// so the activation must stay finite and exact at large |x| on every backend.
for (const backend of await backendsUnderTest()) {
  test(`gelu_tanh on ${backend.name} is finite and exact at |x| up to 1e4`, async () => {
    await initBackend(backend.name);
    try {
      const xs = [-1e4, -300, -30, -3, -0.5, 0, 0.5, 3, 30, 300, 1e4];
      const got = await applyActivation(tf.tensor1d(xs), "gelu_tanh").data();
      const want = xs.map((x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))));
      assertClose(got, want, { atol: 1e-5, rtol: 1e-5, message: "gelu_tanh" });
    } finally {
      await tf.setBackend("cpu");
    }
  }, { skip: backend.skip });
}
