/**
 * Policy scoring: per-sequence Σ log p(completion | prompt) equals a plain-JS log-softmax sum over
 * unpadded rows; left and right padding give the same scores; the tensor version is differentiable;
 * full fine-tuning trains on wasm (the embedding gradient has no UnsortedSegmentSum there) and gives
 * the cpu gradients.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertClose, test } from "./harness.ts";
import { initWasm } from "../backends/wasm.ts";
import { makeConfig, type ModelConfig } from "../models/config.ts";
import { createLoraAdapter } from "../models/lora.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { createTransformer } from "../models/transformer.ts";

await tf.setBackend("cpu");

const configs: Record<string, ModelConfig> = {
  gpt2: makeConfig({
    family: "gpt2",
    vocabSize: 23,
    hiddenSize: 12,
    numLayers: 2,
    numHeads: 2,
    maxPositions: 16,
  }),
  llama: makeConfig({
    family: "llama",
    vocabSize: 23,
    hiddenSize: 16,
    numLayers: 2,
    numHeads: 4,
    numKeyValueHeads: 2,
  }),
};

const prompts = [[1, 2, 3], [4], [5, 6]];
const completions = [[7, 8], [9, 10, 11, 12], []];

/** Σ log softmax(logits[j − 1])[token j] over the completion, in plain JS, one unpadded row at a time. */
const plainScores = (policy: TransformerPolicy): number[] =>
  prompts.map((p, i) => {
    const row = [...p, ...completions[i]];
    const logits = tf.tidy(() =>
      policy.logits(tf.tensor2d([row], [1, row.length], "int32"), tf.ones([1, row.length])).arraySync()[0]
    );
    let total = 0;
    for (let j = p.length; j < row.length; j++) {
      const l = logits[j - 1];
      const m = Math.max(...l);
      total += l[row[j]] - m - Math.log(l.reduce((s, x) => s + Math.exp(x - m), 0));
    }
    return total;
  });

for (const [name, config] of Object.entries(configs)) {
  test(`policy (${name}): sequence log-probs match plain JS, for both padding sides and batch sizes`, async () => {
    const model = createTransformer(config, { seed: 11, initStd: 0.3 });
    const policy = new TransformerPolicy(model);
    const expected = plainScores(policy);
    for (const paddingSide of ["left", "right"] as const) {
      for (const batchSize of [1, 2, 8]) {
        const got = await policy.sequenceLogProbs(prompts, completions, { paddingSide, batchSize });
        assertClose(got.logProbs, expected, {
          atol: 1e-4,
          message: `${paddingSide} padding, batch ${batchSize}`,
        });
        assert.deepEqual(got.tokenCounts, [2, 4, 0]);
      }
    }
    assert.throws(() => policy.sequenceLogProbsTensor([[]], [[1]]), /prompt 0 is empty/);
    assert.throws(() => policy.sequenceLogProbsTensor([[1]], [[23]]), /token id 23/);
    model.dispose();
  });
}

test("policy: adapters on vs off (withoutAdapter is the base), and the tensor version is differentiable", async () => {
  const model = createTransformer(configs.llama, { seed: 12, initStd: 0.3 });
  const adapter = createLoraAdapter(model, { r: 2, targetModules: "all-linear", seed: 1 });
  for (const { B } of adapter.modules.values()) {
    tf.tidy(() => B.assign(tf.randomNormal(B.shape, 0, 0.3, "float32", 5)));
  }
  const policy = new TransformerPolicy(model, adapter);
  const base = policy.withoutAdapter();
  const adapted = await policy.sequenceLogProbs(prompts, completions);
  const reference = await base.sequenceLogProbs(prompts, completions);
  assertClose(reference.logProbs, plainScores(base), { atol: 1e-4 });
  assertClose(adapted.logProbs, plainScores(policy), { atol: 1e-4 });
  assert.ok(Math.abs(adapted.logProbs[0] - reference.logProbs[0]) > 1e-3);
  const { value, grads } = tf.variableGrads(() =>
    tf.sum(policy.sequenceLogProbsTensor(prompts, completions).logProbs) as tf.Scalar
  );
  assert.equal(Object.keys(grads).length, adapter.variables().length);
  assertClose([value.dataSync()[0]], [adapted.logProbs.reduce((a, b) => a + b)], { atol: 1e-4 });
  tf.dispose([value, ...Object.values(grads)]);
  adapter.dispose();
  model.dispose();
});

test("policy: full fine-tuning trains on wasm with the same gradients as cpu (embedding included)", async () => {
  const gradients = async (): Promise<Record<string, Float32Array>> => {
    const model = createTransformer(configs.gpt2, { seed: 13, initStd: 0.3 });
    const policy = new TransformerPolicy(model);
    const { value, grads } = tf.variableGrads(() =>
      tf.neg(
        tf.sum(policy.sequenceLogProbsTensor(prompts, completions, { training: true }).logProbs),
      ) as tf.Scalar
    );
    const out: Record<string, Float32Array> = {};
    for (const [k, g] of Object.entries(grads)) {
      out[k.slice(k.indexOf("/") + 1)] = (await g.data()) as Float32Array;
    }
    const optimizer = tf.train.sgd(0.1);
    const before = await model.weights["transformer.wte.weight"].data();
    optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
    const after = await model.weights["transformer.wte.weight"].data();
    assert.ok(after.some((x, i) => x !== before[i]), "the embedding moved");
    tf.dispose([value, ...Object.values(grads)]);
    optimizer.dispose();
    model.dispose();
    return out;
  };
  const cpu = await gradients();
  await initWasm();
  try {
    const wasm = await gradients();
    assert.deepEqual(Object.keys(wasm).sort(), Object.keys(cpu).sort());
    for (const k of Object.keys(cpu)) assertClose(wasm[k], cpu[k], { atol: 1e-4, rtol: 1e-3, message: k });
    // the learned-position table: rows past the longest sequence (6 tokens) get no gradient
    const wpe = cpu["transformer.wpe.weight"], d = configs.gpt2.hiddenSize;
    assert.ok(wpe.subarray(6 * d).every((x) => x === 0) && wpe.subarray(0, 6 * d).some((x) => x !== 0));
  } finally {
    await tf.setBackend("cpu");
  }
});
