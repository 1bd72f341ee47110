/**
 * Where a training step's time goes, per tfjs kernel: a full fine-tuning forward + backward of
 * sequence log-probs (Llama-shaped, 4 layers, hidden 256, batch 8 × 64 tokens) on one backend,
 * timed, then profiled with `tf.profile` (kernel times summed by kernel name; `fusedMatMul__op` is
 * the scope around `_FusedMatMul`, counted twice).
 *
 *   npx tsx scripts/blas-profile.ts [blas|wasm]
 *   deno run -A scripts/blas-profile.ts [blas|wasm]
 */
import process from "node:process";
import * as tf from "@tensorflow/tfjs";
import { loadBackend } from "../backends/load.ts";
import { makeConfig } from "../models/config.ts";
import { createTransformer } from "../models/transformer.ts";
import { TransformerPolicy } from "../models/policy.ts";
const backend = (process.argv[2] ?? "blas") as "blas" | "wasm";
await loadBackend(backend);
const config = makeConfig({
  family: "llama",
  vocabSize: 512,
  hiddenSize: 256,
  numLayers: 4,
  numHeads: 8,
  numKeyValueHeads: 4,
  maxPositions: 128,
});
const model = createTransformer(config, { seed: 1, initStd: 0.05 });
const policy = new TransformerPolicy(model);
const prompts = Array.from(
  { length: 8 },
  (_, i) => Array.from({ length: 24 }, (_, j) => (i * 7 + j * 3) % 500 + 1),
);
const completions = Array.from(
  { length: 8 },
  (_, i) => Array.from({ length: 40 }, (_, j) => (i * 11 + j * 5) % 500 + 1),
);
const step = () => {
  const { value, grads } = tf.variableGrads(() =>
    tf.neg(
      tf.sum(policy.sequenceLogProbsTensor(prompts, completions, { training: true }).logProbs),
    ) as tf.Scalar
  );
  tf.dispose([value, ...Object.values(grads)]);
};
step();
const t = performance.now();
step();
step();
console.log(backend, "step ms", ((performance.now() - t) / 2).toFixed(0));
const info = await tf.profile(step);
const byKernel = new Map<string, number>();
for (const k of info.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
const total = [...byKernel.values()].reduce((a, b) => a + b, 0);
console.log("kernel total ms", total.toFixed(0));
for (const [name, ms] of [...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
  console.log(name.padEnd(22), ms.toFixed(1).padStart(8), (100 * ms / total).toFixed(1) + "%");
}
