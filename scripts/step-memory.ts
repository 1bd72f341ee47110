/**
 * Where the memory of one LoRA training pass goes: tf.profile's peak bytes of one micro-batch's
 * gradient (`alphaSpinGradients`, one pair) on a benchmark configuration with `layers` layers, so
 * the per-layer cost and the rest (weights, embeddings, head and log-probs) can be told apart.
 *
 *   deno run -A scripts/step-memory.ts [backend] [config] [layers,...]
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

const [backend = "blas", configName = "s135m", layerList = "1,2"] = process.argv.slice(2);
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
  const start = performance.now();
  const profile = await tf.profile(() => {
    const out = alphaSpinGradients(spec, policy, policy.trainableVariables(), pairs);
    tf.dispose([...out.grads, out.pack]);
  });
  const seconds = (performance.now() - start) / 1000;
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
  adapter.dispose();
  model.dispose();
}
process.exit(0);
