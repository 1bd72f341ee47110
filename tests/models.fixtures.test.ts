/**
 * The torch-made checkpoints in tests/fixtures (scripts/make_hf_fixtures.py: an independent float64
 * forward of the stored weights) load and reproduce its logits (full, right- and left-padded
 * batches) and its per-sequence log-probs to 1e-4: GPT-2 (F32, one file), Llama (GQA, sharded with
 * an index), Qwen2 (q/k/v biases, tied head, BF16 weights), Gemma (√d embedding scale, (1 + w)
 * RMSNorm, GeGLU, head_dim ≠ d/H, one KV head, tied head), Gemma 2 (BF16; extra norms around
 * attention and MLP, attention and final logit soft-capping, query_pre_attn_scalar ≠ head_dim, a
 * window of 4 on layers 0 and 2 over 12-token sequences), Mistral (F16; a window of 4 on every
 * layer), and the Llama model with a PEFT LoRA adapter. KV-cached decoding on the loaded models
 * gives the same logits.
 */
import * as tf from "@tensorflow/tfjs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { assert, assertClose, test } from "./harness.ts";
import { loadHfModel } from "../models/hf-load.ts";
import { KvCache } from "../models/kv-cache.ts";
import { loraAdapterFromRecord, type LoraAdapter } from "../models/lora.ts";
import { readPeftAdapter } from "../models/peft.ts";
import { TransformerPolicy } from "../models/policy.ts";
import type { Transformer } from "../models/transformer.ts";
import { initBackend } from "../backends/load.ts";
import { blasSkip } from "./backends.support.ts";

await tf.setBackend("cpu");

const fixtures = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "fixtures");

interface Case {
  readonly input_ids: number[][];
  readonly attention_mask: number[][];
  readonly shape: [number, number, number];
  readonly logits: number[];
}
interface Expected {
  readonly cases: Record<string, Case>;
  readonly score: { prompt_ids: number[]; completion_ids: number[]; logprob: number; tokens: number }[];
}

const expectedOf = async (name: string): Promise<Expected> =>
  JSON.parse(await readFile(join(fixtures, name, "expected.json"), "utf8")) as Expected;

/** Values at real (mask 1) positions of a [B, T, V] array. */
const realPositions = (values: ArrayLike<number>, c: Case): number[] => {
  const [, t, v] = c.shape, out: number[] = [];
  c.attention_mask.forEach((row, i) =>
    row.forEach((m, j) => {
      if (m === 1) for (let k = 0; k < v; k++) out.push(values[(i * t + j) * v + k]);
    })
  );
  return out;
};

const checkModel = async (name: string, model: Transformer, adapter: LoraAdapter | null): Promise<void> => {
  const expected = await expectedOf(name);
  const policy = new TransformerPolicy(model, adapter);
  for (const [caseName, c] of Object.entries(expected.cases)) {
    const [b, t] = c.shape;
    const got = tf.tidy(() =>
      policy.logits(tf.tensor2d(c.input_ids, [b, t], "int32"), tf.tensor2d(c.attention_mask, [b, t])).dataSync()
    );
    assertClose(realPositions(got, c), realPositions(c.logits, c), { atol: 1e-4, message: `${name} ${caseName}` });
    // the same logits through the KV cache: a prefill of 4 columns, then one column per step
    const cache = new KvCache(model.config.numLayers);
    const parts: tf.Tensor[] = [];
    for (const [start, size] of [[0, 4], ...Array.from({ length: t - 4 }, (_, k) => [4 + k, 1])]) {
      parts.push(model.logits(
        tf.tensor2d(c.input_ids.map((r) => r.slice(start, start + size)), [b, size], "int32"),
        tf.tensor2d(c.attention_mask.map((r) => r.slice(start, start + size)), [b, size]),
        { cache, adapter },
      ));
    }
    const cached = tf.tidy(() => tf.concat(parts, 1).dataSync());
    tf.dispose(parts);
    cache.dispose();
    assertClose(realPositions(cached, c), realPositions(c.logits, c), { atol: 1e-4, message: `${name} ${caseName} cached` });
  }
  const scored = await policy.sequenceLogProbs(
    expected.score.map((s) => s.prompt_ids),
    expected.score.map((s) => s.completion_ids),
    { batchSize: 2 },
  );
  assertClose(scored.logProbs, expected.score.map((s) => s.logprob), { atol: 1e-4, message: `${name} scores` });
  assert.deepEqual(scored.tokenCounts, expected.score.map((s) => s.tokens));
};

const families = ["hf-tiny-gpt2", "hf-tiny-llama", "hf-tiny-qwen2", "hf-tiny-gemma", "hf-tiny-gemma2", "hf-tiny-mistral"];
for (const name of families) {
  test(`fixtures: ${name} loads and reproduces the torch logits and log-probs (≤ 1e-4)`, async () => {
    const model = await loadHfModel(join(fixtures, name));
    await checkModel(name, model, null);
    model.dispose();
  });
}

test("fixtures: hf-tiny-llama + the PEFT adapter reproduces the torch logits; merged gives the same", async () => {
  const model = await loadHfModel(join(fixtures, "hf-tiny-llama"));
  const adapter = loraAdapterFromRecord(model, await readPeftAdapter(join(fixtures, "peft-tiny-llama")));
  assert.equal(adapter.modules.size, 2 * model.config.numLayers);
  await checkModel("peft-tiny-llama", model, adapter);
  adapter.merge();
  await checkModel("peft-tiny-llama", model, null);
  adapter.unmerge();
  await checkModel("hf-tiny-llama", model, null);
  adapter.dispose();
  model.dispose();
});

test("fixtures: the Gemma, Gemma 2 and Mistral configs load with the traits their fixtures exercise", async () => {
  const config = async (name: string) => (await loadHfModel(join(fixtures, name))).config;
  const gemma = await config("hf-tiny-gemma");
  assert.deepEqual(
    [gemma.modelType, gemma.headDim, gemma.numKeyValueHeads, gemma.normWeightOffset, gemma.tieWordEmbeddings],
    ["gemma", 16, 1, 1, true],
  );
  assert.equal(gemma.embeddingScale, Math.sqrt(32));
  const gemma2 = await config("hf-tiny-gemma2");
  assert.deepEqual(
    [gemma2.sandwichNorms, gemma2.queryPreAttnScalar, gemma2.attnLogitSoftcap, gemma2.finalLogitSoftcap],
    [true, 24, 2, 3],
  );
  assert.deepEqual([gemma2.slidingWindow, gemma2.slidingWindowLayers], [4, "even"]);
  const mistral = await config("hf-tiny-mistral");
  assert.deepEqual([mistral.slidingWindow, mistral.slidingWindowLayers, mistral.sandwichNorms], [4, "all", false]);
});

// The same fixtures on the blas backend (matrix products by the system BLAS): torch's float64
// logits and log-probs to the same 1e-4.
const noBlas = await blasSkip();
for (const name of ["hf-tiny-gpt2", "hf-tiny-llama", "hf-tiny-qwen2"]) {
  test(`fixtures on blas: ${name} reproduces the torch logits and log-probs (≤ 1e-4)`, async () => {
    await initBackend("blas");
    try {
      const model = await loadHfModel(join(fixtures, name));
      await checkModel(name, model, null);
      model.dispose();
    } finally {
      await tf.setBackend("cpu");
    }
  }, { skip: noBlas });
}
