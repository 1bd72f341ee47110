/**
 * Hugging Face folders: save → load gives the same logits; sharded folders with an index load;
 * GPT-2's bare (OpenAI upload) names load; F16/BF16 become float32; errors name the problem.
 */
import * as tf from "@tensorflow/tfjs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, assertClose, test } from "./harness.ts";
import { makeConfig, type ModelConfig } from "../models/config.ts";
import { configToHf } from "../models/hf-config.ts";
import { loadHfModel, saveHfModel } from "../models/hf-load.ts";
import { writeSafetensors } from "../models/safetensors.ts";
import { createTransformer, type Transformer } from "../models/transformer.ts";

await tf.setBackend("cpu");

const gpt2 = makeConfig({
  family: "gpt2",
  vocabSize: 20,
  hiddenSize: 8,
  numLayers: 2,
  numHeads: 2,
  maxPositions: 12,
});
const qwen = makeConfig({
  family: "llama",
  modelType: "qwen2",
  vocabSize: 20,
  hiddenSize: 8,
  numLayers: 2,
  numHeads: 2,
  numKeyValueHeads: 1,
  qkvBias: true,
  tieWordEmbeddings: false,
});

const logitsOf = (model: Transformer): Float32Array =>
  tf.tidy(() => model.logits(tf.tensor2d([[1, 5, 7, 19]], [1, 4], "int32")).dataSync() as Float32Array);

const withDir = async (fn: (dir: string) => Promise<void>): Promise<void> => {
  const dir = await mkdtemp(join(tmpdir(), "alpha-spin-hf-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

const tensorsOf = async (model: Transformer, rename: (n: string) => string = (n) => n) => {
  const out = new Map<string, { shape: number[]; data: Float32Array; dtype?: "F16" | "BF16" | "F32" }>();
  for (const [name, v] of Object.entries(model.weights)) {
    out.set(rename(name), { shape: [...v.shape], data: (await v.data()) as Float32Array });
  }
  return out;
};

for (const [name, config] of [["gpt2", gpt2], ["qwen2", qwen]] as [string, ModelConfig][]) {
  test(`hf-load (${name}): saveHfModel → loadHfModel gives the same config and logits; nothing temporary is left`, async () => {
    await withDir(async (dir) => {
      const model = createTransformer(config, { seed: 2, initStd: 0.3 });
      await saveHfModel(model, join(dir, "m"));
      assert.deepEqual((await readdir(join(dir, "m"))).sort(), ["config.json", "model.safetensors"]);
      const back = await loadHfModel(join(dir, "m"));
      assert.deepEqual(back.config, config);
      assert.ok(back.variables().every((v) => !v.trainable), "loaded frozen by default");
      assertClose(logitsOf(back), logitsOf(model), { atol: 0 });
      model.dispose();
      back.dispose();
    });
  });
}

test("hf-load: a sharded folder with model.safetensors.index.json loads", async () => {
  await withDir(async (dir) => {
    const model = createTransformer(qwen, { seed: 3, initStd: 0.3 });
    const all = await tensorsOf(model);
    const names = [...all.keys()];
    const shards = [names.slice(0, 7), names.slice(7)];
    const weightMap: Record<string, string> = {};
    for (const [k, shard] of shards.entries()) {
      const file = `model-0000${k + 1}-of-00002.safetensors`;
      await writeFile(join(dir, file), writeSafetensors(new Map(shard.map((n) => [n, all.get(n)!]))));
      for (const n of shard) weightMap[n] = file;
    }
    await writeFile(
      join(dir, "model.safetensors.index.json"),
      JSON.stringify({ metadata: {}, weight_map: weightMap }),
    );
    await writeFile(join(dir, "config.json"), JSON.stringify(configToHf(qwen)));
    const back = await loadHfModel(dir);
    assertClose(logitsOf(back), logitsOf(model), { atol: 0 });
    back.dispose();
    // a name the index does not list is reported with the index file
    delete weightMap["model.norm.weight"];
    await writeFile(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: weightMap }));
    await assert.rejects(loadHfModel(dir), /index\.json lists no tensor model\.norm\.weight/);
    model.dispose();
  });
});

test("hf-load: GPT-2 with the OpenAI upload's bare names and its attn.bias buffers loads; BF16 widens to float32", async () => {
  await withDir(async (dir) => {
    const model = createTransformer(gpt2, { seed: 4, initStd: 0.3 });
    const bare = await tensorsOf(model, (n) => n.replace(/^transformer\./, ""));
    bare.set("h.0.attn.bias", { shape: [1, 1, 12, 12], data: new Float32Array(144).fill(1) });
    await writeFile(join(dir, "model.safetensors"), writeSafetensors(bare));
    await writeFile(join(dir, "config.json"), JSON.stringify(configToHf(gpt2)));
    const back = await loadHfModel(dir);
    assertClose(logitsOf(back), logitsOf(model), { atol: 0 });
    back.dispose();
    // the same weights stored as BF16: every value is rounded to 8 mantissa bits, then read as float32
    const half = await tensorsOf(model);
    await writeFile(join(dir, "model.safetensors"), writeSafetensors(half, undefined, { dtype: "BF16" }));
    const rounded = await loadHfModel(dir);
    const w = await rounded.weights["transformer.wte.weight"].data();
    const original = await model.weights["transformer.wte.weight"].data();
    assertClose(w, original, { rtol: 2 ** -8, message: "bf16" });
    assert.ok(
      w.every((x) => (new Uint32Array(new Float32Array([x]).buffer)[0] & 0xffff) === 0),
      "bf16 values have 16 zero low bits",
    );
    rounded.dispose();
    model.dispose();
  });
});

test("hf-load: errors name the folder, the file, the tensor and both shapes", async () => {
  await withDir(async (dir) => {
    await assert.rejects(loadHfModel(join(dir, "nope")), /model folder .*nope does not exist/);
    await assert.rejects(loadHfModel(dir), /has no config\.json/);
    await writeFile(join(dir, "config.json"), JSON.stringify({ model_type: "phi3", vocab_size: 3 }));
    await assert.rejects(
      loadHfModel(dir),
      /config\.json: unsupported model_type "phi3"; supported: gpt2, llama/,
    );
    await writeFile(join(dir, "config.json"), JSON.stringify(configToHf(gpt2)));
    await writeFile(join(dir, "pytorch_model.bin"), "");
    await assert.rejects(loadHfModel(dir), /neither model\.safetensors .*pytorch_model\.bin: convert/);
    const model = createTransformer(gpt2, { seed: 5 });
    const tensors = await tensorsOf(model);
    tensors.delete("transformer.h.1.mlp.c_fc.bias");
    await writeFile(join(dir, "model.safetensors"), writeSafetensors(tensors));
    await assert.rejects(
      loadHfModel(dir),
      /model\.safetensors has no tensor transformer\.h\.1\.mlp\.c_fc\.bias/,
    );
    const transposed = await tensorsOf(model);
    transposed.set("transformer.h.0.attn.c_attn.weight", { shape: [24, 8], data: new Float32Array(192) });
    await writeFile(join(dir, "model.safetensors"), writeSafetensors(transposed));
    await assert.rejects(
      loadHfModel(dir),
      /tensor transformer\.h\.0\.attn\.c_attn\.weight has shape \[24,8\], the config needs \[8,24\]/,
    );
    await writeFile(join(dir, "model.safetensors"), new Uint8Array([1, 2, 3]));
    await assert.rejects(loadHfModel(dir), /model\.safetensors/);
    model.dispose();
  });
});
