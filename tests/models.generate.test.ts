/**
 * Generation: greedy decoding with the cache equals argmax over full recomputation (both families,
 * both padding sides); EOS stops a row; a seed fixes the samples, and per-row seeds reproduce one call per prompt; the returned log-probs agree with
 * the policy's scoring; the geometric-mixture decoder returns Σ log Z_t consistent with both
 * models' scores; a generate-and-train loop leaks no tensor.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertClose, test } from "./harness.ts";
import { makeConfig, type ModelConfig } from "../models/config.ts";
import { generate } from "../models/generate.ts";
import { createLoraAdapter, type LoraAdapter } from "../models/lora.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { createTransformer } from "../models/transformer.ts";

await tf.setBackend("cpu");

const configs: Record<string, ModelConfig> = {
  gpt2: makeConfig({
    family: "gpt2",
    vocabSize: 17,
    hiddenSize: 12,
    numLayers: 2,
    numHeads: 2,
    maxPositions: 32,
  }),
  llama: makeConfig({
    family: "llama",
    vocabSize: 17,
    hiddenSize: 16,
    numLayers: 2,
    numHeads: 4,
    numKeyValueHeads: 2,
  }),
};

const prompts = [[1, 2, 3, 4, 5], [6], [7, 8]];

/** Greedy continuation by recomputing the whole unpadded sequence at every step (plain-JS argmax). */
const greedyByRecompute = (policy: TransformerPolicy, prompt: number[], steps: number): number[] => {
  const seq = [...prompt];
  for (let s = 0; s < steps; s++) {
    const row = tf.tidy(() => {
      const logits = policy.logits(tf.tensor2d([seq], [1, seq.length], "int32"), tf.ones([1, seq.length]));
      return tf.slice(logits, [0, seq.length - 1, 0], [1, 1, -1]).dataSync();
    });
    let best = 0;
    for (let v = 1; v < row.length; v++) if (row[v] > row[best]) best = v;
    seq.push(best);
  }
  return seq.slice(prompt.length);
};

for (const [name, config] of Object.entries(configs)) {
  test(`generate (${name}): greedy with the KV cache = argmax of full recomputation, left and right padding`, async () => {
    const model = createTransformer(config, { seed: 21, initStd: 0.4 });
    const policy = new TransformerPolicy(model);
    const expected = prompts.map((p) => greedyByRecompute(policy, p, 6));
    for (const paddingSide of ["left", "right"] as const) {
      const out = await generate(policy, prompts, {
        maxNewTokens: 6,
        greedy: true,
        eosTokenIds: [],
        paddingSide,
      });
      assert.deepEqual(out.completions, expected, paddingSide);
      assert.deepEqual(out.finished, [false, false, false]);
      assert.deepEqual(out.samplingLogProbs, [0, 0, 0]);
    }
    // an EOS stops its row (kept in the completion); the other rows go on
    const eos = expected[1][2];
    const stopped = await policy.generate(prompts, { maxNewTokens: 6, greedy: true, eosTokenIds: eos });
    stopped.completions.forEach((c, i) => {
      const cut = expected[i].indexOf(eos);
      assert.deepEqual(c, cut < 0 ? expected[i] : expected[i].slice(0, cut + 1), `row ${i}`);
      assert.equal(stopped.finished[i], cut >= 0);
    });
    model.dispose();
  });
}

test("generate: a seed fixes the samples; chaining the returned rng continues the stream; scores agree", async () => {
  const model = createTransformer(configs.llama, { seed: 22, initStd: 0.4 });
  const policy = new TransformerPolicy(model);
  const options = { maxNewTokens: 8, temperature: 1.3, topK: 10, eosTokenIds: [] as number[], seed: 5 };
  const a = await generate(policy, prompts, options);
  const b = await generate(policy, prompts, { ...options, batchSize: 1, paddingSide: "right" as const });
  assert.deepEqual(b.completions, a.completions, "same seed, other batching and padding");
  const c = await generate(policy, prompts, { ...options, seed: 6 });
  assert.notDeepEqual(c.completions, a.completions);
  const d = await generate(policy, prompts, { ...options, rng: a.rng });
  assert.notDeepEqual(d.completions, a.completions);
  // the model log-prob of each sampled completion is what the policy scores for it
  const scored = await policy.sequenceLogProbs(prompts, a.completions);
  assertClose(a.modelLogProbs, scored.logProbs, { atol: 1e-4 });
  assert.ok(
    a.samplingLogProbs.every((x, i) => x !== a.modelLogProbs[i]),
    "top-k and temperature change the sampling law",
  );
  model.dispose();
});

test("generate: rowSeeds give each row the samples of a call with that prompt alone and that seed, whatever the batch", async () => {
  const model = createTransformer(configs.gpt2, { seed: 23, initStd: 0.4 });
  const policy = new TransformerPolicy(model);
  const options = { maxNewTokens: 8, temperature: 1.1, eosTokenIds: [] as number[] };
  const seeds = [11, 4_000_000_000, 11];
  const alone = await Promise.all(prompts.map(async (p, i) => (await generate(policy, [p], { ...options, seed: seeds[i] })).completions[0]));
  const batched = await generate(policy, prompts, { ...options, seed: 99, rowSeeds: seeds });
  assert.deepEqual(batched.completions, alone);
  const split = await generate(policy, prompts, { ...options, rowSeeds: seeds, batchSize: 2, paddingSide: "right" as const });
  assert.deepEqual(split.completions, alone);
  assert.notDeepEqual((await generate(policy, prompts, { ...options, seed: 99 })).completions, alone, "without rowSeeds: other streams");
  await assert.rejects(generate(policy, prompts, { ...options, rowSeeds: [1] }), /1 rowSeeds for 3 prompts/);
  model.dispose();
});

test("generate: geometric-mixture decoding; Σ log q = α·lp_prev + (1 − α)·lp_base − Σ log Z_t", async () => {
  const model = createTransformer(configs.gpt2, { seed: 23, initStd: 0.4 });
  const adapter = createLoraAdapter(model, { r: 2, targetModules: "all-linear", seed: 1 });
  for (const { B } of adapter.modules.values()) {
    tf.tidy(() => B.assign(tf.randomNormal(B.shape, 0, 1, "float32", 9)));
  }
  const prev = new TransformerPolicy(model, adapter), base = prev.withoutAdapter();
  const alpha = 0.4;
  const out = await generate(prev, prompts, {
    maxNewTokens: 5,
    seed: 3,
    eosTokenIds: [],
    mixture: { base, alpha },
  });
  const lpPrev = (await prev.sequenceLogProbs(prompts, out.completions)).logProbs;
  const lpBase = (await base.sequenceLogProbs(prompts, out.completions)).logProbs;
  assert.ok(out.logZ.every((z) => z < 0 && z > -50), `log Z < 0: ${out.logZ}`);
  const expected = lpPrev.map((p, i) => alpha * p + (1 - alpha) * lpBase[i] - out.logZ[i]);
  assertClose(out.modelLogProbs, expected, { atol: 2e-4 });
  // α = 1 is the policy itself: the same tokens as plain sampling with the same seed, and log Z = 0
  const one = await generate(prev, prompts, {
    maxNewTokens: 5,
    seed: 3,
    eosTokenIds: [],
    mixture: { base, alpha: 1 },
  });
  const plain = await generate(prev, prompts, { maxNewTokens: 5, seed: 3, eosTokenIds: [] });
  assert.deepEqual(one.completions, plain.completions);
  assert.deepEqual(one.logZ, [0, 0, 0]);
  adapter.dispose();
  model.dispose();
});

test("generate: argument errors are named", async () => {
  const model = createTransformer(configs.gpt2, { seed: 1 });
  const policy = new TransformerPolicy(model);
  await assert.rejects(generate(policy, [[]], { maxNewTokens: 2 }), /prompt 0 is empty/);
  await assert.rejects(
    generate(policy, [[1]], { maxNewTokens: 0 }),
    /maxNewTokens must be a positive integer/,
  );
  await assert.rejects(generate(policy, [[1]], { maxNewTokens: 40 }), /exceed gpt2's 32 positions/);
  await assert.rejects(generate(policy, [[1]], { maxNewTokens: 2, topP: 2 }), /topP/);
  model.dispose();
});

test("generate + train: tf.memory().numTensors is the same before and after the loop", async () => {
  const model = createTransformer(configs.llama, { seed: 24 });
  const optimizer = tf.train.adam(0.01);
  let adapter: LoraAdapter | null = createLoraAdapter(model, { r: 2, dropout: 0.1, seed: 2 });
  const policy = new TransformerPolicy(model, adapter);
  const reference = policy.withoutAdapter();
  // warm up once: the optimizer creates its moment variables at its first step
  const trainStep = async (): Promise<void> => {
    const generated = await policy.generate(prompts, { maxNewTokens: 4, seed: 1, topP: 0.9 });
    const ref = await reference.sequenceLogProbs(prompts, generated.completions);
    const refTensor = tf.tensor1d(ref.logProbs);
    optimizer.minimize(
      () => {
        const { logProbs } = policy.sequenceLogProbsTensor(prompts, generated.completions, {
          training: true,
        });
        return tf.mean(tf.square(tf.sub(logProbs, refTensor))) as tf.Scalar;
      },
      false,
      policy.trainableVariables(),
    );
    refTensor.dispose();
  };
  await trainStep();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) await trainStep();
  assert.equal(tf.memory().numTensors, before);
  optimizer.dispose();
  adapter.dispose();
  adapter = null;
  model.dispose();
});

test("generate: onToken sees every sampled token in order per row, and returning true stops only that row", async () => {
  const model = createTransformer(configs.gpt2, { seed: 4, initStd: 0.5 });
  const policy = new TransformerPolicy(model);
  try {
    const options = { maxNewTokens: 6, temperature: 1, seed: 3, eosTokenIds: [] as number[], batchSize: 2 };
    const free = await generate(policy, prompts, options);
    const seen: number[][] = prompts.map(() => []);
    const stopped = await generate(policy, prompts, {
      ...options,
      onToken: (row, id) => {
        seen[row].push(id);
        return row === 1 && seen[row].length === 2; // stop row 1 after its second token
      },
    });
    assert.deepEqual(seen, stopped.completions, "onToken saw exactly the returned tokens, rows numbered across batches");
    assert.deepEqual(stopped.completions[1], free.completions[1].slice(0, 2));
    assert.deepEqual(stopped.finished, [false, true, false]);
    assert.deepEqual([stopped.completions[0], stopped.completions[2]], [free.completions[0], free.completions[2]]);
  } finally {
    model.dispose();
  }
});
