/**
 * Where the memory of one LoRA training pass goes: tf.profile's peak bytes of one micro-batch's
 * gradient (`alphaSpinGradients`, one pair) on a benchmark configuration with `layers` layers, so
 * the per-layer cost and the rest (weights, embeddings, head and log-probs) can be told apart.
 *
 *   deno run -A scripts/step-memory.ts [backend] [config] [layers,...] [new tokens]
 *
 * With a fourth argument G it also times, by this process's CPU seconds (robust to other load on a
 * shared machine), one no-gradient log-prob pass over the same two sequences and greedy generation
 * of G new tokens for 8 prompts of 16 tokens (the bench's generation shape), and prints the rates
 * and what one α-SPIN iteration over 1 000 prompts would take at them (bench/estimate.ts).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import { loadBackend } from "../backends/load.ts";
import type { TfjsBackendName } from "../backends/types.ts";
import {
  type BenchConfigName,
  benchConfigs,
  benchLoraOf,
  benchModelConfig,
  preferenceBatch,
  trainingPairs,
} from "../bench/configs.ts";
import { lossRegistry } from "../losses/registry.ts";
import { createLoraAdapter } from "../models/lora.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { createTransformer } from "../models/transformer.ts";
import { alphaSpinGradients } from "../train/step.ts";
import { generationPrompts } from "../bench/configs.ts";
import { iterationEstimate } from "../bench/estimate.ts";
import { generate } from "../models/generate.ts";

/** CPU seconds of this process (all threads). */
const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const [backend = "blas", configName = "s135m", layerList = "1,2", newTokens] = process.argv.slice(2);
await loadBackend(backend as TfjsBackendName, { threads: 1 });
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
/** The WebAssembly heap's size: it only grows, so after a pass it is that pass's high-water mark. */
const heapBytes = (): number => {
  const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm;
  return wasm === undefined ? NaN : wasm.HEAPU8.byteLength;
};
for (const layers of layerList.split(",").map(Number)) {
  const c = { ...benchConfigs[configName as BenchConfigName], numLayers: layers };
  const model = createTransformer(benchModelConfig(c), { seed: 1, trainable: false });
  const lora = benchLoraOf(c);
  const adapter = createLoraAdapter(model, { ...lora, targetModules: [...lora.targetModules], seed: 1 });
  const policy = new TransformerPolicy(model, adapter);
  const batch = preferenceBatch({ ...c, batch: 1 }, 1);
  const pairs = trainingPairs(batch, [-500], [-500]);
  const spec = { loss: lossRegistry.get("sigmoid"), lossParams: { beta: 0.1 } };
  const before = tf.memory().numBytes;
  const start = performance.now(), cpuStart = cpuNow();
  const profile = await tf.profile(() => {
    const out = alphaSpinGradients(spec, policy, policy.trainableVariables(), pairs);
    tf.dispose([...out.grads, out.pack]);
  });
  const seconds = (performance.now() - start) / 1000, cpuSeconds = cpuNow() - cpuStart;
  // The largest kernels by bytes added (the tensors that dominate the peak).
  const top = [...profile.kernels].sort((a, b) => b.bytesAdded - a.bytesAdded).slice(0, 8)
    .map((k) => `${k.name}${JSON.stringify(k.outputShapes)} +${mb(k.bytesAdded)}`);
  if (process.env.TRACE) {
    for (const k of profile.kernels) {
      if (Math.abs(k.bytesAdded) > 8 * 2 ** 20) {
        console.log(
          `    ${k.name}${JSON.stringify(k.outputShapes)} ${mb(k.bytesAdded)} -> ${mb(k.totalBytesSnapshot)}`,
        );
      }
    }
  }
  console.log(
    `${configName} layers=${layers}: resident ${mb(before)} MiB, peak ${mb(profile.peakBytes)} MiB ` +
      `(+${
        mb(profile.peakBytes - before)
      } over resident; tfjs counts shared buffers once per tensor), wasm heap ${mb(heapBytes())} MiB, ${
        seconds.toFixed(1)
      } s\n  ${top.join("\n  ")}`,
  );
  if (newTokens !== undefined) {
    const tokens = 2 * c.ctx; // the pair's two sequences, prompt included, as the bench counts
    const rows = [batch.prompts[0], batch.prompts[0]], completions = [batch.chosen[0], batch.rejected[0]];
    let t0 = cpuNow();
    await policy.sequenceLogProbs(rows, completions, { batchSize: 2 });
    const logprob = tokens / (cpuNow() - t0);
    const prompts = generationPrompts(c.vocabSize, 2), g = Number(newTokens);
    t0 = cpuNow();
    await generate(policy, prompts, { maxNewTokens: g, eosTokenIds: [], greedy: true });
    const gen = (prompts.length * g) / (cpuNow() - t0);
    // A LoRA step of the bench's batch is its pairs' passes plus an AdamW update of the adapters (small).
    const lora = tokens / cpuSeconds;
    const it = iterationEstimate(c.ctx, { generate: gen, logprob, lora });
    const h = (x: number) => (x / 3600).toFixed(1);
    console.log(
      `  per CPU second: LoRA pass ${lora.toFixed(1)} tokens, log-probs ${logprob.toFixed(1)}, ` +
        `generation (${g} new) ${gen.toFixed(2)}; one α-SPIN iteration over 1000 prompts: generation ` +
        `${h(it.generation_s)} h + reference ${h(it.reference_s)} h + training ${h(it.training_s)} h = ` +
        `${h(it.total_s)} h; wasm heap now ${mb(heapBytes())} MiB`,
    );
  }
  adapter.dispose();
  model.dispose();
}
process.exit(0);
