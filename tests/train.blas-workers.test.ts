// Workers follow the main thread onto the blas backend: workerBackend() names blas while the BLAS
// kernels are in (wasm again after loadBackend("wasm")), a gradient worker started from a blas
// thread opens the system BLAS itself (FFI in a worker thread, both runtimes) and its half of a
// micro-batch gives the one-thread gradient to float32 rounding, and it keeps the main thread's
// BLAS thread count. (The pool's 2-thread = 1-thread steps on cpu are in train.pool.test.ts.)
import * as tf from "@tensorflow/tfjs";
import { assert, assertClose, test } from "./harness.ts";
import { blasSkip } from "./backends.support.ts";
import { loadBackend } from "../backends/load.ts";
import { openBlas } from "../backends/blas-library.ts";
import { workerBackend } from "../train/channel.ts";
import { createWorkerPool } from "../train/pool.ts";
import { alphaSpinGradients, type StepSpec, type TrainingPair } from "../train/step.ts";
import { buildTrainable, modelSnapshot } from "../train/params.ts";
import { sigmoidLoss } from "../losses/sigmoid.ts";
import { createTransformer } from "../models/transformer.ts";
import { makeConfig } from "../models/config.ts";

const skip = await blasSkip();

test("workerBackend() is blas while the main thread runs blas, wasm after wasm", async () => {
  await loadBackend("blas");
  assert.equal(workerBackend(), "blas");
  await loadBackend("wasm");
  assert.equal(workerBackend(), "wasm");
  await loadBackend("cpu");
  assert.equal(workerBackend(), "cpu");
}, { skip });

test(
  "a gradient worker on blas computes its shard: two threads = one thread; BLAS threads kept",
  async () => {
    await loadBackend("blas", { threads: 2 });
    const blas = await openBlas();
    const base = createTransformer(
      makeConfig({
        family: "llama",
        vocabSize: 16,
        hiddenSize: 16,
        numLayers: 1,
        numHeads: 2,
        numKeyValueHeads: 1,
      }),
      { seed: 4, trainable: false },
    );
    const spec = { finetune: "full" as const, lora: { r: 2, alpha: 4, dropout: 0 } };
    const step: StepSpec = { loss: sigmoidLoss, lossParams: { beta: 0.5 } };
    const trainable = buildTrainable(base, spec, await modelSnapshot(base), 1);
    const pool = await createWorkerPool({ threads: 2, base, spec, workerImports: [] });
    try {
      // the worker opened the same (process-wide) library and left the main thread's count alone
      if (blas.kind === "openblas" || blas.kind === "mkl") assert.equal(blas.threads(), 2);
      await pool.startSegment(trainable, 3, step);
      const pairs: TrainingPair[] = Array.from({ length: 4 }, (_, i) => ({
        promptIds: [1 + i, 2],
        chosenIds: [3, 4 + (i % 3), 5],
        rejectedIds: [6 + i, 7],
        lpRefChosen: 0.7 * (-3 - 0.1 * i) + 0.3 * -3.2,
        lpRefRejected: 0.7 * -2.5 + 0.3 * -2.4,
      }));
      const one = alphaSpinGradients(step, trainable.policy, trainable.variables, pairs);
      const two = await pool.gradients(pairs, trainable);
      assert.deepEqual(two.names, one.names);
      one.grads.forEach((g, i) =>
        assertClose(two.grads[i].dataSync(), g.dataSync(), {
          atol: 1e-6,
          rtol: 1e-4,
          message: trainable.names[i],
        })
      );
      tf.dispose([...one.grads, one.pack, ...two.grads, two.pack]);
    } finally {
      assert.deepEqual(await pool.close(), [0], "the worker frees every tensor");
      trainable.dispose();
      base.dispose();
      await loadBackend("blas", { threads: 1 });
    }
  },
  { skip },
);
