/**
 * One benchmark cell, run in its own process by bench/run.ts (so each cell's peak memory and tensor
 * counts are its own). Prints one line `@@bench {json}` with the result.
 *
 *   deno run -A bench/case.ts matmul  <backend>
 *   deno run -A bench/case.ts config  <backend> <config> '<plan json>'
 *   deno run -A bench/case.ts growth  <backend> <config> '<plan json>'
 *   deno run -A bench/case.ts workers <n> <config> <steps> [<warm-up steps>]
 *   deno run -A bench/case.ts trainer <threads> <config> <steps> [<warm-up steps>]
 *   deno run -A bench/case.ts losers <threads> <config>
 *
 * Add `--stock-kernels` to measure wasm without the fast matrix-product kernels, and `--threads=N` to
 * pass `threads: N` to `loadBackend` (the BLAS thread count of backends that have one).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { readFileSync } from "node:fs";
import process from "node:process";
import { loadBackend, type LoadBackendOptions } from "../backends/load.ts";
import type { TfjsBackendName } from "../backends/types.ts";
import { createDataParallelTrainer } from "../parallel/data-parallel.ts";
import {
  type BenchConfigName,
  benchConfigs,
  benchModelConfig,
  generationPrompts,
  generationShape,
  growthShape,
  preferenceBatch,
} from "./configs.ts";
import { matmulRates, measureConfig, type MeasurePlan } from "./measure.ts";
import { lossRegistry } from "../losses/registry.ts";
import { createTransformer } from "../models/transformer.ts";
import { createGradientPool } from "../selfplay/grad-pool.ts";
import { createGenerationPool } from "../selfplay/gen-pool.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { forkRng, rngFromSeed } from "../core/rng.ts";
import { AdamW } from "../selfplay/optim.ts";
import { buildTrainable, modelSnapshot } from "../selfplay/params.ts";
import { alphaSpinGradients } from "../selfplay/step.ts";

/** Peak resident memory of this process in MiB (VmHWM on Linux; current RSS elsewhere). */
const peakRssMb = (): number => {
  try {
    const m = readFileSync("/proc/self/status", "utf8").match(/VmHWM:\s+(\d+)\s+kB/);
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage().rss / 2 ** 20;
};

const emit = (result: unknown): void => console.log(`@@bench ${JSON.stringify(result)}`);

const stock = process.argv.includes("--stock-kernels");
const threadsArg = process.argv.find((a) => a.startsWith("--threads="));
const threads = threadsArg === undefined ? 1 : Number(threadsArg.slice("--threads=".length));

const start = async (name: string, stock: boolean): Promise<string> => {
  // `threads` reaches backends that run a threaded library (blas); the others ignore it.
  const options: LoadBackendOptions & { readonly threads?: number } = { fastKernels: !stock, threads };
  const loaded = await loadBackend(name as TfjsBackendName, options);
  return loaded.details;
};

const [mode, ...rest] = process.argv.slice(2).filter((a) => a !== "--stock-kernels" && a !== threadsArg);

if (mode === "matmul") {
  const details = await start(rest[0], stock);
  const reps = rest[0] === "cpu" ? 2 : rest[0] === "webgpu" ? 3 : 10;
  const { gflops, cpuGflops } = await matmulRates(1024, reps);
  emit({ details, tfjs: tf.version.tfjs, matmul1024_gflops: gflops, matmul1024_cpu_gflops: cpuGflops });
} else if (mode === "config") {
  const [backend, configName, planJson] = rest;
  await start(backend, stock);
  const plan = JSON.parse(planJson) as MeasurePlan;
  const figures = await measureConfig(benchConfigs[configName as BenchConfigName], plan);
  emit({ ...figures, peak_rss_mb: peakRssMb() });
} else if (mode === "growth") {
  // 100 real training steps (full where the plan has them, and LoRA) on the configuration's code
  // path with shrunk dimensions (configs.ts growthShape): the tensor-growth check of every config.
  const [backend, configName, planJson] = rest;
  await start(backend, stock);
  const plan = JSON.parse(planJson) as MeasurePlan;
  const skip = new Set([...(plan.skip ?? []), "logprob" as const, "generate" as const]);
  const figures = await measureConfig(growthShape(benchConfigs[configName as BenchConfigName]), {
    ...plan,
    steps: 100,
    loraSteps: 100,
    skip: [...skip],
  });
  emit({
    steps: 100,
    ...(skip.has("dpo_step") ? {} : { dpo_step: figures.tensors_growth }),
    dpo_step_lora: figures.tensors_growth_lora,
  });
} else if (mode === "workers") {
  const [workers, configName, steps, warmup = "1"] = rest;
  const c = benchConfigs[configName as BenchConfigName];
  const trainer = await createDataParallelTrainer({
    workers: Number(workers),
    modelConfig: benchModelConfig(c),
    seed: 1,
    reference: "initial",
    loss: "sigmoid",
    lossParams: { beta: 0.1 },
    optimizer: { weightDecay: 0.01, maxGradNorm: 1 },
    learningRate: 1e-5,
    fastKernels: !stock,
  });
  const batch = preferenceBatch(c, 1);
  for (let i = 0; i < Number(warmup); i++) await trainer.step(batch);
  const begin = performance.now();
  const profile = { gradients: 0, apply: 0 };
  for (let i = 0; i < Number(steps); i++) {
    const { workerSeconds } = await trainer.step(batch);
    profile.gradients += Math.max(...workerSeconds.gradients) / Number(steps);
    profile.apply += Math.max(...workerSeconds.apply) / Number(steps);
  }
  const seconds = (performance.now() - begin) / 1000 / Number(steps);
  // Generation split over the workers: the generate benchmark's batch, L new tokens.
  const prompts = generationPrompts(c.vocabSize, 2);
  const options = { maxNewTokens: generationShape.newTokens, eosTokenIds: [], seed: 3 };
  await trainer.generate(prompts, { ...options, maxNewTokens: 4 });
  const genStart = performance.now();
  await trainer.generate(prompts, options);
  const genSeconds = (performance.now() - genStart) / 1000;
  await trainer.close();
  emit({
    tokens_per_s: (2 * c.batch * c.ctx) / seconds,
    seconds_per_step: seconds,
    steps: Number(steps),
    generate_tokens_per_s: (prompts.length * generationShape.newTokens) / genSeconds,
    slowest_worker_seconds: profile,
  });
} else if (mode === "trainer") {
  // The self-play trainer's step (selfplay/train.ts): full fine-tuning, reference log-probs
  // pre-computed (no reference forward), the micro-batch split over `threads` threads by the
  // gradient pool, AdamW on the training thread, the new weights shared after each step.
  const [threads, configName, steps, warmup = "1"] = rest;
  await start("wasm", stock);
  const c = benchConfigs[configName as BenchConfigName];
  const base = createTransformer(benchModelConfig(c), { seed: 1, trainable: false });
  const spec = { finetune: "full" as const, lora: { r: 8, alpha: 16, dropout: 0 } };
  const trainable = buildTrainable(base, spec, await modelSnapshot(base), 1);
  const step = { loss: lossRegistry.get("sigmoid"), lossParams: { beta: 0.1 }, alpha: 1 };
  const batch = preferenceBatch(c, 1);
  const pairs = batch.prompts.map((p, i) => ({
    promptIds: p,
    chosenIds: batch.chosen[i],
    rejectedIds: batch.rejected[i],
    lpPrevChosen: -500,
    lpPrevRejected: -500,
    lpBaseChosen: -500,
    lpBaseRejected: -500,
  }));
  const optimizer = new AdamW(trainable.variables, {
    weightDecay: 0.01,
    maxGradNorm: 1,
    decay: trainable.decay,
  });
  const pool = Number(threads) > 1
    ? await createGradientPool({ threads: Number(threads), base, spec, step, workerImports: [] })
    : null;
  await pool?.startSegment(trainable, 1);
  const once = async (): Promise<void> => {
    const out = pool === null
      ? alphaSpinGradients(step, trainable.policy, trainable.variables, pairs)
      : await pool.gradients(pairs, trainable);
    const norm = optimizer.step(out.grads, 1e-5);
    await norm.data();
    tf.dispose([...out.grads, out.pack, norm]);
    pool?.weightsChanged();
  };
  for (let i = 0; i < Number(warmup); i++) await once();
  const begin = performance.now();
  for (let i = 0; i < Number(steps); i++) await once();
  const seconds = (performance.now() - begin) / 1000 / Number(steps);
  await pool?.close();
  emit({ tokens_per_s: (2 * c.batch * c.ctx) / seconds, seconds_per_step: seconds, steps: Number(steps) });
} else if (mode === "losers") {
  // The self-play loop's loser generation (selfplay/generation.ts): 4 batches of 8 prompts, 64 new
  // tokens each, every batch from its own stream; with 2 threads a generation worker takes every
  // other batch (selfplay/gen-pool.ts).
  const [threads, configName] = rest;
  await start("wasm", stock);
  const c = benchConfigs[configName as BenchConfigName];
  const base = createTransformer(benchModelConfig(c), { seed: 1, trainable: false });
  const policy = new TransformerPolicy(base);
  const batches = [2, 3, 4, 5].map((seed) => generationPrompts(c.vocabSize, seed));
  const options = (i: number) => ({
    maxNewTokens: generationShape.newTokens,
    eosTokenIds: [],
    rng: forkRng(rngFromSeed(1), i),
  });
  const pool = Number(threads) > 1
    ? await createGenerationPool({
      threads: 2,
      base,
      spec: { finetune: "full", lora: { r: 8, alpha: 16, dropout: 0 } },
    })
    : null;
  await pool?.load(1, null);
  const all = async (): Promise<void> => {
    const pending = [0, 1, 2, 3];
    const here = async () => {
      for (let i = pending.shift(); i !== undefined; i = pending.shift()) {
        await policy.generate(batches[i], options(i));
      }
    };
    const there = async () => {
      for (let i = pending.shift(); i !== undefined; i = pending.shift()) {
        await pool!.generate(1, batches[i], options(i));
      }
    };
    await Promise.all(pool === null ? [here()] : [here(), there()]);
  };
  await all(); // warm-up
  const begin = performance.now();
  await all();
  const seconds = (performance.now() - begin) / 1000;
  await pool?.close();
  emit({ tokens_per_s: (4 * generationShape.batch * generationShape.newTokens) / seconds, seconds });
} else {
  console.error(`bench/case.ts: unknown mode ${mode}`);
  process.exit(2);
}
process.exit(0);
