// PEFT adapter folders: PEFT's key names and config fields written and read back, the committed
// fixture (made by scripts/make_hf_fixtures.py) loads and, applied to its base model, gives the
// logits of the independent torch forward; unsupported adapters are refused by name.
import * as tf from "@tensorflow/tfjs";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, assertClose, test } from "./harness.ts";
import type { LoraRecord } from "../models/lora.ts";
import { loraAdapterFromRecord } from "../models/lora.ts";
import { loadHfModel } from "../models/hf-load.ts";
import {
  parsePeftKey,
  peftAdapterFromParts,
  peftKeys,
  readPeftAdapter,
  writePeftAdapter,
} from "../models/peft.ts";
import { writeSafetensors } from "../models/safetensors.ts";
import { readSafetensorsFile } from "../models/safetensors-file.ts";

await tf.setBackend("cpu");

const fixtures = new URL("./fixtures/", import.meta.url);
const fixture = (name: string): string => decodeURIComponent(new URL(name, fixtures).pathname);

const seq = (n: number, scale: number): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => Math.fround(scale * (i - n / 3)));

/** Multiples of 1/4: exact in BF16. */
const quarters = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => (i - 5) / 4);

const llamaRecord = (): LoraRecord => ({
  settings: { r: 2, alpha: 4, dropout: 0.05, targetModules: ["q_proj", "v_proj"] },
  modules: {
    "model.layers.0.self_attn.q_proj": {
      A: { shape: [2, 3], data: seq(6, 0.1) },
      B: { shape: [3, 2], data: seq(6, -0.2) },
    },
    "model.layers.0.self_attn.v_proj": {
      A: { shape: [2, 3], data: seq(6, 0.3) },
      B: { shape: [1, 2], data: seq(2, 0.5) },
    },
  },
});

const withDir = async (fn: (dir: string) => Promise<void>): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), "peft-"));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

test("PEFT key names: base_model.model.<module>.lora_A/B.weight; parse accepts the adapter-name form", () => {
  assert.deepEqual(peftKeys("model.layers.3.self_attn.q_proj"), {
    A: "base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight",
    B: "base_model.model.model.layers.3.self_attn.q_proj.lora_B.weight",
  });
  assert.deepEqual(parsePeftKey("base_model.model.transformer.h.0.attn.c_attn.lora_B.weight"), {
    module: "transformer.h.0.attn.c_attn",
    matrix: "B",
  });
  assert.deepEqual(parsePeftKey("base_model.model.model.layers.0.mlp.up_proj.lora_A.default.weight"), {
    module: "model.layers.0.mlp.up_proj",
    matrix: "A",
  });
  assert.equal(parsePeftKey("base_model.model.model.layers.0.mlp.up_proj.weight"), null);
  assert.equal(parsePeftKey("model.layers.0.q_proj.lora_A.weight"), null);
});

test("write: the folder holds PEFT's files, keys, shapes and config; read gives the record back", async () => {
  await withDir(async (dir) => {
    const record = llamaRecord();
    await writePeftAdapter(join(dir, "a"), record, {
      baseModelNameOrPath: "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
    });
    const raw = await readSafetensorsFile(join(dir, "a", "adapter_model.safetensors"));
    assert.deepEqual([...raw.keys()].sort(), [
      "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
      "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
      "base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight",
      "base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight",
    ]);
    assert.deepEqual(raw.get("base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight")!.shape, [
      1,
      2,
    ]);
    assert.equal(raw.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")!.dtype, "F32");
    assert.deepEqual(raw.metadata, { format: "pt" });
    const config = JSON.parse(readFileSync(join(dir, "a", "adapter_config.json"), "utf8"));
    for (
      const [k, v] of Object.entries({
        peft_type: "LORA",
        task_type: "CAUSAL_LM",
        r: 2,
        lora_alpha: 4,
        lora_dropout: 0.05,
        bias: "none",
        target_modules: ["q_proj", "v_proj"],
        fan_in_fan_out: false,
        inference_mode: true,
        base_model_name_or_path: "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
        use_dora: false,
        use_rslora: false,
      })
    ) assert.deepEqual(config[k], v, k);
    const back = await readPeftAdapter(join(dir, "a"));
    assert.deepEqual(back.settings, record.settings);
    assert.equal(back.baseModelNameOrPath, "TinyLlama/TinyLlama-1.1B-Chat-v1.0");
    assert.deepEqual(Object.keys(back.modules).sort(), Object.keys(record.modules).sort());
    for (const [name, pair] of Object.entries(record.modules)) {
      assert.deepEqual(back.modules[name].A.shape, pair.A.shape);
      assert.deepEqual([...back.modules[name].A.data], [...pair.A.data]);
      assert.deepEqual([...back.modules[name].B.data], [...pair.B.data]);
    }
  });
});

test("GPT-2 adapters say fan_in_fan_out; all-linear is written as the module names; BF16 storage", async () => {
  await withDir(async (dir) => {
    const record: LoraRecord = {
      settings: { r: 1, alpha: 1, dropout: 0, targetModules: "all-linear" },
      modules: {
        "transformer.h.0.attn.c_attn": {
          A: { shape: [1, 4], data: seq(4, 1) },
          B: { shape: [12, 1], data: seq(12, 1) },
        },
        "transformer.h.0.mlp.c_fc": {
          A: { shape: [1, 4], data: quarters(4) },
          B: { shape: [16, 1], data: quarters(16) },
        },
      },
    };
    await writePeftAdapter(dir, record, { dtype: "BF16" });
    const config = JSON.parse(readFileSync(join(dir, "adapter_config.json"), "utf8"));
    assert.equal(config.fan_in_fan_out, true);
    assert.deepEqual(config.target_modules, ["c_attn", "c_fc"]);
    assert.equal(config.base_model_name_or_path, null);
    const raw = await readSafetensorsFile(join(dir, "adapter_model.safetensors"));
    assert.ok(raw.has("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"));
    assert.equal(raw.get("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight")!.dtype, "BF16");
    const back = await readPeftAdapter(dir);
    assert.equal(back.fanInFanOut, true);
    assert.deepEqual(back.settings.targetModules, ["c_attn", "c_fc"]);
    assert.deepEqual([...back.modules["transformer.h.0.mlp.c_fc"].B.data], [...quarters(16)]);
  });
});

test("the committed PEFT fixture loads: r 4, alpha 8, q_proj and v_proj of both layers", async () => {
  const adapter = await readPeftAdapter(fixture("peft-tiny-llama"));
  assert.deepEqual(adapter.settings, { r: 4, alpha: 8, dropout: 0, targetModules: ["q_proj", "v_proj"] });
  assert.equal(adapter.baseModelNameOrPath, "hf-tiny-llama");
  assert.equal(adapter.fanInFanOut, false);
  assert.deepEqual(Object.keys(adapter.modules).sort(), [
    "model.layers.0.self_attn.q_proj",
    "model.layers.0.self_attn.v_proj",
    "model.layers.1.self_attn.q_proj",
    "model.layers.1.self_attn.v_proj",
  ]);
  assert.deepEqual(adapter.modules["model.layers.1.self_attn.q_proj"].A.shape, [4, 32]);
  assert.deepEqual(adapter.modules["model.layers.1.self_attn.q_proj"].B.shape, [32, 4]);
  assert.deepEqual(adapter.modules["model.layers.1.self_attn.v_proj"].B.shape, [16, 4]);
  assert.ok(adapter.modules["model.layers.0.self_attn.v_proj"].B.data.some((x) => x !== 0));
});

test("the PEFT fixture applied to hf-tiny-llama gives the torch logits (≤ 1e-4), with and without padding", async () => {
  const expected = JSON.parse(readFileSync(fixture("peft-tiny-llama/expected.json"), "utf8"));
  const model = await loadHfModel(fixture("hf-tiny-llama"));
  const adapter = loraAdapterFromRecord(model, await readPeftAdapter(fixture("peft-tiny-llama")));
  try {
    for (
      const [name, c] of Object.entries(expected.cases) as [
        string,
        { input_ids: number[][]; attention_mask: number[][]; shape: number[]; logits: number[] },
      ][]
    ) {
      const logits = tf.tidy(() =>
        model.logits(tf.tensor2d(c.input_ids, undefined, "int32"), tf.tensor2d(c.attention_mask), { adapter })
          .dataSync()
      );
      const v = c.shape[2], mask = c.attention_mask.flat();
      const kept = (xs: ArrayLike<number>): number[] =>
        Array.from(xs).filter((_, i) => mask[Math.floor(i / v)] === 1);
      assertClose(kept(logits), kept(c.logits), { atol: 1e-4, message: name });
    }
  } finally {
    adapter.dispose();
    model.dispose();
  }
});

test("adapters this library cannot apply are refused with the reason", async () => {
  const config = { peft_type: "LORA", r: 2, lora_alpha: 4, target_modules: ["q_proj"], bias: "none" };
  const m = "base_model.model.model.layers.0.self_attn.q_proj";
  const tensors = new Map([
    [`${m}.lora_A.weight`, { shape: [2, 3], data: seq(6, 1) }],
    [`${m}.lora_B.weight`, { shape: [3, 2], data: seq(6, 1) }],
  ]);
  assert.equal(peftAdapterFromParts(config, tensors).settings.alpha, 4);
  assert.equal(peftAdapterFromParts({ ...config, use_rslora: true }, tensors).settings.alpha, 4 * Math.SQRT2); // α/√r = α'/r
  const refusals: [Record<string, unknown>, RegExp][] = [
    [{ ...config, peft_type: "IA3" }, /peft_type is "IA3"; only "LORA"/],
    [{ ...config, use_dora: true }, /use_dora/],
    [{ ...config, bias: "all" }, /bias "all" is not supported/],
    [{ ...config, modules_to_save: ["lm_head"] }, /modules_to_save \["lm_head"\]/],
    [{ ...config, rank_pattern: { q_proj: 8 } }, /rank_pattern/],
    [{ ...config, r: 3 }, /lora_A \[2,3\] and lora_B \[3,2\] do not match r = 3/],
    [{ ...config, r: 0 }, /r must be a positive integer/],
  ];
  for (const [c, message] of refusals) assert.throws(() => peftAdapterFromParts(c, tensors, "x"), message);
  assert.throws(
    () => peftAdapterFromParts(config, new Map([[`${m}.lora_A.weight`, tensors.get(`${m}.lora_A.weight`)!]])),
    /has lora_A but no lora_B/,
  );
  assert.throws(
    () =>
      peftAdapterFromParts(
        config,
        new Map([...tensors, ["base_model.model.lm_head.weight", { shape: [1, 1], data: seq(1, 1) }]]),
      ),
    /unexpected tensor base_model\.model\.lm_head\.weight/,
  );
  const defaultNamed = new Map([...tensors].map(([k, t]) => [k.replace(".weight", ".default.weight"), t]));
  assert.deepEqual(Object.keys(peftAdapterFromParts(config, defaultNamed).modules), [
    "model.layers.0.self_attn.q_proj",
  ]);

  await withDir(async (dir) => {
    await assert.rejects(readPeftAdapter(join(dir, "none")), /adapter folder .*none does not exist/);
    await assert.rejects(readPeftAdapter(dir), /has no adapter_config\.json/);
    writeFileSync(join(dir, "adapter_config.json"), JSON.stringify(config));
    writeFileSync(join(dir, "adapter_model.bin"), "pickle");
    await assert.rejects(
      readPeftAdapter(dir),
      /has no adapter_model\.safetensors \(it has adapter_model\.bin/,
    );
    mkdirSync(join(dir, "ok"));
    writeFileSync(join(dir, "ok", "adapter_config.json"), JSON.stringify(config));
    writeFileSync(join(dir, "ok", "adapter_model.safetensors"), writeSafetensors(tensors));
    assert.deepEqual(
      (await readPeftAdapter(join(dir, "ok"))).modules[m.slice("base_model.model.".length)].B.shape,
      [3, 2],
    );
  });
});
