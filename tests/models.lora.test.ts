/**
 * LoRA: a fresh adapter leaves the logits unchanged; merged equals unmerged; a training step moves
 * only the adapter; the update is (α/r)·x·Aᵀ·Bᵀ (checked in plain JS); target matching follows PEFT.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertClose, test } from "./harness.ts";
import { makeConfig, type ModelConfig } from "../models/config.ts";
import { createLoraAdapter, loraAdapterFromRecord, matchesTarget } from "../models/lora.ts";
import { createTransformer, type Transformer } from "../models/transformer.ts";

await tf.setBackend("cpu");

const gpt2 = makeConfig({
  family: "gpt2",
  vocabSize: 30,
  hiddenSize: 12,
  numLayers: 2,
  numHeads: 3,
  maxPositions: 16,
});
const llama = makeConfig({
  family: "llama",
  vocabSize: 30,
  hiddenSize: 16,
  numLayers: 2,
  numHeads: 4,
  numKeyValueHeads: 2,
  intermediateSize: 20,
});

const ids = (): tf.Tensor2D => tf.tensor2d([[1, 2, 3, 4, 5], [0, 0, 7, 8, 9]], [2, 5], "int32");
const mask = (): tf.Tensor2D => tf.tensor2d([[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]]);

const logitsOf = (model: Transformer, adapter?: Parameters<Transformer["logits"]>[2]): Float32Array =>
  tf.tidy(() => model.logits(ids(), mask(), adapter).dataSync() as Float32Array);

/** Give every B a seeded random value so the adapter does something. */
const randomizeB = (adapter: ReturnType<typeof createLoraAdapter>, seed: number): void => {
  let k = 0;
  for (const { B } of adapter.modules.values()) {
    tf.tidy(() => B.assign(tf.randomNormal(B.shape, 0, 0.5, "float32", seed + k++)));
  }
};

for (const [name, config] of [["gpt2", gpt2], ["llama", llama]] as [string, ModelConfig][]) {
  test(`lora (${name}): a fresh adapter leaves the logits unchanged; A is in ±1/√in, B is 0`, async () => {
    const model = createTransformer(config, { seed: 1, initStd: 0.2 });
    const base = logitsOf(model);
    const adapter = createLoraAdapter(model, { r: 4, alpha: 8, targetModules: "all-linear", seed: 2 });
    assert.equal(adapter.modules.size, (name === "gpt2" ? 4 : 7) * config.numLayers);
    assertClose(logitsOf(model, { adapter }), base, { atol: 0 });
    for (const [module, { A, B }] of adapter.modules) {
      const bound = 1 / Math.sqrt(A.shape[1]!);
      const a = await A.data();
      assert.ok(a.every((x) => Math.abs(x) <= bound), `${module} A within ±${bound}`);
      assert.ok(a.some((x) => x !== 0), `${module} A is not all zero`);
      assert.ok((await B.data()).every((x) => x === 0), `${module} B is zero`);
    }
    adapter.dispose();
    model.dispose();
  });

  test(`lora (${name}): merged equals unmerged, and unmerge restores the base weights`, () => {
    const model = createTransformer(config, { seed: 3, initStd: 0.2 });
    const baseWeights = Object.fromEntries(
      Object.entries(model.weights).map(([k, v]) => [k, v.dataSync().slice()]),
    );
    const adapter = createLoraAdapter(model, { r: 2, alpha: 6, targetModules: "all-linear", seed: 4 });
    randomizeB(adapter, 10);
    const unmerged = logitsOf(model, { adapter });
    assert.ok(
      unmerged.some((x, i) => Math.abs(x - logitsOf(model)[i]) > 1e-3),
      "the adapter changes the logits",
    );
    adapter.merge();
    assert.equal(adapter.merged, true);
    assertClose(logitsOf(model, { adapter }), unmerged, { atol: 1e-5, message: "merged (adapter skipped)" });
    assertClose(logitsOf(model), unmerged, { atol: 1e-5, message: "merged base alone" });
    assert.throws(() => adapter.merge(), /already merged/);
    adapter.unmerge();
    for (const [k, v] of Object.entries(model.weights)) {
      assertClose(v.dataSync(), baseWeights[k], { atol: 1e-6, message: k });
    }
    adapter.dispose();
    model.dispose();
  });

  test(`lora (${name}): training steps change only the adapter (base frozen)`, () => {
    const model = createTransformer(config, { seed: 5, initStd: 0.2 });
    const adapter = createLoraAdapter(model, { r: 2, alpha: 4, dropout: 0.1, seed: 6 });
    const before = new Map(
      [...model.variables(), ...adapter.variables()].map((v) => [v.name, v.dataSync().slice()] as const),
    );
    const optimizer = tf.train.adam(0.01);
    const targets = tf.tensor1d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "int32");
    const loss = (): tf.Scalar =>
      tf.tidy(() => {
        const logits = tf.reshape(model.logits(ids(), mask(), { adapter, training: true }), [
          10,
          config.vocabSize,
        ]);
        return tf.losses.softmaxCrossEntropy(tf.oneHot(targets, config.vocabSize), logits) as tf.Scalar;
      });
    // Two steps: at the first, B = 0 makes A's gradient zero (as in PEFT); the second moves A too.
    for (let step = 0; step < 2; step++) {
      const { value, grads } = tf.variableGrads(loss); // default: every trainable variable
      assert.deepEqual(Object.keys(grads).sort(), adapter.variables().map((v) => v.name).sort());
      optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
      tf.dispose([value, ...Object.values(grads)]);
    }
    targets.dispose();
    for (const v of model.variables()) {
      assert.deepEqual(v.dataSync(), before.get(v.name), `${v.name} unchanged`);
    }
    for (const v of adapter.variables()) {
      const old = before.get(v.name)!;
      assert.ok(v.dataSync().some((x, i) => x !== old[i]), `${v.name} changed`);
    }
    optimizer.dispose();
    adapter.dispose();
    model.dispose();
  });
}

test("lora: the update of one module is (α/r)·x·Aᵀ·Bᵀ (plain-JS check)", () => {
  const model = createTransformer(llama, { seed: 7 });
  const adapter = createLoraAdapter(model, { r: 3, alpha: 5, targetModules: ["q_proj"], seed: 8 });
  randomizeB(adapter, 20);
  const module = "model.layers.1.self_attn.q_proj";
  const { A, B } = adapter.modules.get(module)!;
  const a = A.arraySync() as number[][], b = B.arraySync() as number[][];
  const x = [[0.5, -1, 2, 0, 1, 1, -0.5, 0.25, 3, -2, 0, 1, 0.1, 0.2, 0.3, -0.4]];
  const expected = b.map((bRow) =>
    (5 / 3) * bRow.reduce((s, bk, k) => s + bk * a[k].reduce((t, aj, j) => t + aj * x[0][j], 0), 0)
  );
  const got = tf.tidy(() => adapter.delta(module, tf.tensor2d(x), false)!.dataSync());
  assertClose(got, expected, { atol: 1e-5 });
  assert.equal(adapter.delta("model.layers.1.self_attn.k_proj", tf.tensor2d(x), false), null);
  adapter.dispose();
  model.dispose();
});

test("lora: target modules follow PEFT's suffix matching; GPT-2's c_attn is one fused module", () => {
  assert.ok(matchesTarget("transformer.h.0.mlp.c_proj", ["c_proj"]));
  assert.ok(matchesTarget("transformer.h.0.attn.c_proj", ["c_proj"]));
  assert.ok(matchesTarget("transformer.h.0.mlp.c_proj", ["mlp.c_proj"]));
  assert.ok(!matchesTarget("transformer.h.0.attn.c_proj", ["mlp.c_proj"]));
  assert.ok(!matchesTarget("model.layers.0.self_attn.q_proj", ["_proj"]));
  const model = createTransformer(gpt2, { seed: 1 });
  const fused = createLoraAdapter(model, { r: 2 });
  assert.deepEqual([...fused.modules.keys()], ["transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"]);
  assert.deepEqual(fused.modules.get("transformer.h.0.attn.c_attn")!.B.shape, [36, 2]);
  assert.throws(
    () => createLoraAdapter(model, { r: 2, targetModules: ["q_proj"] }),
    /match no projection.*c_attn/,
  );
  fused.dispose();
  model.dispose();
});

test("lora: dropout is seeded (same seed, same outputs) and off outside training", () => {
  const run = (): Float32Array[] => {
    const model = createTransformer(llama, { seed: 2 });
    const adapter = createLoraAdapter(model, { r: 2, dropout: 0.5, targetModules: "all-linear", seed: 9 });
    randomizeB(adapter, 30);
    const out = [logitsOf(model, { adapter, training: true }), logitsOf(model, { adapter, training: true })];
    out.push(logitsOf(model, { adapter }), logitsOf(model, { adapter }));
    adapter.dispose();
    model.dispose();
    return out;
  };
  const [a, b] = [run(), run()];
  a.forEach((x, i) => assertClose(x, b[i], { atol: 0, message: `call ${i}` }));
  assert.ok(a[0].some((x, i) => x !== a[1][i]), "successive training calls draw new masks");
  assertClose(a[2], a[3], { atol: 0 });
  assert.ok(a[0].some((x, i) => x !== a[2][i]), "training differs from eval");
});

test("lora: toRecord → loraAdapterFromRecord gives the same logits; a wrong shape is named", async () => {
  const model = createTransformer(gpt2, { seed: 4 });
  const adapter = createLoraAdapter(model, {
    r: 2,
    alpha: 3,
    targetModules: ["c_attn", "mlp.c_proj"],
    seed: 1,
  });
  randomizeB(adapter, 40);
  const record = await adapter.toRecord();
  assert.deepEqual(record.modules["transformer.h.0.mlp.c_proj"].A.shape, [48, 2].reverse());
  const copy = loraAdapterFromRecord(model, record);
  assertClose(logitsOf(model, { adapter: copy }), logitsOf(model, { adapter }), { atol: 0 });
  const bad = {
    ...record,
    modules: { "transformer.h.0.attn.c_attn": record.modules["transformer.h.0.mlp.c_proj"] },
  };
  assert.throws(() => loraAdapterFromRecord(model, bad), /c_attn has A \[2,48\].*needs A \[2,12\]/);
  copy.dispose();
  adapter.dispose();
  model.dispose();
});
