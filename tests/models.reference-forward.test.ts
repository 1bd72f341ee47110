/**
 * The transformer's logits against a plain-JS forward pass written from the architecture
 * descriptions (float64, one unpadded sequence, loops only): GPT-2, llama with GQA, qwen2 biases,
 * gemma's (1 + w) norm, √d embedding scale and GeGLU, mistral's sliding window, llama3 RoPE scaling,
 * gemma2's extra norms, soft-capping, query_pre_attn_scalar and windows on even layers.
 */
import * as tf from "@tensorflow/tfjs";
import { assertClose, test } from "./harness.ts";
import { makeConfig, type ModelConfig } from "../models/config.ts";
import { createTransformer } from "../models/transformer.ts";

await tf.setBackend("cpu");

type Weights = Record<string, { shape: number[]; data: Float32Array }>;

const gelu = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
const silu = (x: number): number => x / (1 + Math.exp(-x));

/** Plain-JS logits [T][V] of one sequence. */
const referenceLogits = (c: ModelConfig, w: Weights, ids: number[]): number[][] => {
  const gpt2 = c.family === "gpt2";
  const d = c.hiddenSize, h = c.headDim;
  const row = (name: string, i: number): number[] => {
    const { shape, data } = w[name];
    return [...data.subarray(i * shape[1], (i + 1) * shape[1])];
  };
  const vec = (name: string): number[] => [...w[name].data];
  // y = x·W (+ b): GPT-2 stores W as [in, out], the llama family as [out, in]
  const linear = (module: string, x: number[]): number[] => {
    const { shape, data } = w[`${module}.weight`];
    const out = gpt2 ? shape[1] : shape[0];
    const bias = w[`${module}.bias`]?.data;
    return Array.from({ length: out }, (_, o) => {
      let s = bias ? bias[o] : 0;
      for (let i = 0; i < x.length; i++) s += x[i] * (gpt2 ? data[i * out + o] : data[o * x.length + i]);
      return s;
    });
  };
  const norm = (name: string, x: number[]): number[] => {
    const wt = vec(`${name}.weight`);
    if (gpt2) {
      const m = x.reduce((a, b) => a + b, 0) / d, v = x.reduce((a, b) => a + (b - m) ** 2, 0) / d;
      const b = vec(`${name}.bias`);
      return x.map((u, i) => ((u - m) / Math.sqrt(v + c.normEps)) * wt[i] + b[i]);
    }
    const r = Math.sqrt(x.reduce((a, b) => a + b * b, 0) / d + c.normEps);
    return x.map((u, i) => (u / r) * (c.normWeightOffset + wt[i]));
  };
  const invFreq = Array.from({ length: h / 2 }, (_, j) => {
    const base = Math.pow(c.ropeTheta, -(2 * j) / h);
    const s = c.ropeScaling;
    if (s?.type !== "llama3") return s?.type === "linear" ? base / s.factor : base;
    const wavelen = (2 * Math.PI) / base;
    if (wavelen < s.originalMaxPositions / s.highFreqFactor) return base;
    if (wavelen > s.originalMaxPositions / s.lowFreqFactor) return base / s.factor;
    const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return (1 - smooth) * (base / s.factor) + smooth * base;
  });
  const rope = (x: number[], pos: number): number[] => {
    const out = [...x];
    for (let j = 0; j < h / 2; j++) {
      const a = pos * invFreq[j];
      out[j] = x[j] * Math.cos(a) - x[j + h / 2] * Math.sin(a);
      out[j + h / 2] = x[j + h / 2] * Math.cos(a) + x[j] * Math.sin(a);
    }
    return out;
  };
  const embedding = gpt2 ? "transformer.wte.weight" : "model.embed_tokens.weight";
  let xs = ids.map((id, t) => {
    const e = row(embedding, id).map((u) => u * c.embeddingScale);
    return gpt2 ? e.map((u, i) => u + row("transformer.wpe.weight", t)[i]) : e;
  });
  for (let l = 0; l < c.numLayers; l++) {
    const p = gpt2 ? `transformer.h.${l}` : `model.layers.${l}`;
    const normed = xs.map((x) => norm(gpt2 ? `${p}.ln_1` : `${p}.input_layernorm`, x));
    const qkv = normed.map((x) => {
      if (gpt2) {
        const all = linear(`${p}.attn.c_attn`, x);
        return [all.slice(0, d), all.slice(d, 2 * d), all.slice(2 * d)];
      }
      return ["q_proj", "k_proj", "v_proj"].map((m) => linear(`${p}.self_attn.${m}`, x));
    });
    const head = (v: number[], i: number): number[] => v.slice(i * h, (i + 1) * h);
    const group = c.numHeads / c.numKeyValueHeads;
    const attended = qkv.map(([q], t) =>
      Array.from({ length: c.numHeads }, (_, i) => {
        const kv = Math.floor(i / group);
        const qi = gpt2 ? head(q, i) : rope(head(q, i), t);
        const keys = qkv.slice(0, t + 1).map(([, k], s) => (gpt2 ? head(k, kv) : rope(head(k, kv), s)));
        const windowed = c.slidingWindow !== null && (c.slidingWindowLayers === "all" || l % 2 === 0);
        const cap = (z: number) => (c.attnLogitSoftcap === null ? z : c.attnLogitSoftcap * Math.tanh(z / c.attnLogitSoftcap));
        const scores = keys.map((k, s) =>
          windowed && t - s >= c.slidingWindow!
            ? -Infinity
            : cap(k.reduce((a, kk, e) => a + kk * qi[e], 0) / Math.sqrt(c.queryPreAttnScalar ?? h))
        );
        const m = Math.max(...scores), z = scores.reduce((a, s) => a + Math.exp(s - m), 0);
        const out = new Array(h).fill(0);
        scores.forEach((s, j) => head(qkv[j][2], kv).forEach((v, e) => (out[e] += (Math.exp(s - m) / z) * v)));
        return out;
      }).flat()
    );
    xs = xs.map((x, t) => {
      const o = linear(gpt2 ? `${p}.attn.c_proj` : `${p}.self_attn.o_proj`, attended[t]);
      return (c.sandwichNorms ? norm(`${p}.post_attention_layernorm`, o) : o).map((u, i) => u + x[i]);
    });
    xs = xs.map((x) => {
      const n = norm(gpt2 ? `${p}.ln_2` : c.sandwichNorms ? `${p}.pre_feedforward_layernorm` : `${p}.post_attention_layernorm`, x);
      let hidden: number[];
      if (gpt2) hidden = linear(`${p}.mlp.c_fc`, n).map(gelu);
      else {
        const act = c.activation === "gelu_tanh" ? gelu : silu;
        const up = linear(`${p}.mlp.up_proj`, n);
        hidden = linear(`${p}.mlp.gate_proj`, n).map((g, i) => act(g) * up[i]);
      }
      const out = linear(gpt2 ? `${p}.mlp.c_proj` : `${p}.mlp.down_proj`, hidden);
      return (c.sandwichNorms ? norm(`${p}.post_feedforward_layernorm`, out) : out).map((u, i) => u + x[i]);
    });
  }
  const headName = c.tieWordEmbeddings ? embedding : "lm_head.weight";
  return xs.map((x) => {
    const n = norm(gpt2 ? "transformer.ln_f" : "model.norm", x);
    const logits = Array.from({ length: c.vocabSize }, (_, v) => row(headName, v).reduce((a, e, i) => a + e * n[i], 0));
    const cap = c.finalLogitSoftcap;
    return cap === null ? logits : logits.map((z) => cap * Math.tanh(z / cap));
  });
};

const small = { vocabSize: 13, hiddenSize: 16, numLayers: 2, numHeads: 4 };
const cases: Record<string, ModelConfig> = {
  "gpt2": makeConfig({ ...small, family: "gpt2", maxPositions: 16, tieWordEmbeddings: false }),
  "llama (GQA, θ = 100)": makeConfig({ ...small, family: "llama", numKeyValueHeads: 2, ropeTheta: 100 }),
  "qwen2 (q/k/v biases, tied)": makeConfig({
    ...small,
    family: "llama",
    modelType: "qwen2",
    numKeyValueHeads: 1,
    qkvBias: true,
    tieWordEmbeddings: true,
  }),
  "gemma ((1 + w), √d, GeGLU, head_dim ≠ d/H)": makeConfig({
    ...small,
    family: "llama",
    modelType: "gemma",
    numKeyValueHeads: 1,
    headDim: 6,
    normWeightOffset: 1,
    embeddingScale: 4,
    activation: "gelu_tanh",
    tieWordEmbeddings: true,
  }),
  "mistral (sliding window 3)": makeConfig({ ...small, family: "llama", modelType: "mistral", slidingWindow: 3 }),
  "gemma2 (extra norms, soft-capping, query_pre_attn_scalar, window 3 on even layers)": makeConfig({
    ...small,
    numLayers: 3,
    family: "llama",
    modelType: "gemma2",
    numKeyValueHeads: 2,
    headDim: 6,
    normWeightOffset: 1,
    embeddingScale: 4,
    activation: "gelu_tanh",
    tieWordEmbeddings: true,
    sandwichNorms: true,
    queryPreAttnScalar: 10,
    attnLogitSoftcap: 1.5,
    finalLogitSoftcap: 2,
    slidingWindow: 3,
    slidingWindowLayers: "even",
  }),
  "llama3 rope scaling": makeConfig({
    ...small,
    family: "llama",
    ropeTheta: 10,
    ropeScaling: { type: "llama3", factor: 4, lowFreqFactor: 1, highFreqFactor: 2, originalMaxPositions: 12 },
  }),
};

for (const [name, config] of Object.entries(cases)) {
  test(`reference forward: ${name} matches the plain-JS forward pass`, async () => {
    const model = createTransformer(config, { seed: 41, initStd: 0.35 });
    // norm scales and biases away from their 1 / 0 init, so they are exercised
    for (const [k, v] of Object.entries(model.weights)) {
      if (v.rank === 1) tf.tidy(() => v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.3, "float32", k.length))));
    }
    const weights: Weights = {};
    for (const [k, v] of Object.entries(model.weights)) weights[k] = { shape: [...v.shape], data: (await v.data()) as Float32Array };
    const ids = [1, 5, 12, 0, 7, 7, 3];
    const expected = referenceLogits(config, weights, ids);
    const got = tf.tidy(() => model.logits(tf.tensor2d([ids], [1, ids.length], "int32")).dataSync());
    assertClose(got, expected.flat(), { atol: 1e-4, rtol: 1e-4 });
    model.dispose();
  });
}
