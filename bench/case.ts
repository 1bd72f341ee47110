/**
 * One benchmark cell, run in its own process by bench/run.ts (so each cell's peak memory and tensor
 * counts are its own). Prints one line `@@bench {json}` with the result.
 *
 *   deno run -A bench/case.ts matmul  <backend>
 *   deno run -A bench/case.ts config  <backend> <config> '<plan json>'
 *   deno run -A bench/case.ts growth  <backend> <config> '<plan json>'
 *   deno run -A bench/case.ts workers <n> <config> <steps> [<warm-up steps>]   (trainer + split generation)
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
import {
  type BenchConfig,
  type BenchConfigName,
  benchConfigs,
  benchModelConfig,
  generationPrompts,
  generationShape,
  growthShape,
  preferenceBatch,
  trainingPairs,
} from "./configs.ts";
import { matmulRates, measureConfig, type MeasurePlan } from "./measure.ts";
import { lossRegistry } from "../losses/registry.ts";
import { createTransformer } from "../models/transformer.ts";
import { createWorkerPool, shardRanges, type WorkerPool } from "../train/pool.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { forkRng, rngFromSeed } from "../core/rng.ts";
import { AdamW, GradientAccumulator } from "../train/optim.ts";
import { buildTrainable, modelSnapshot } from "../train/params.ts";
import { type GradientSource, localGradients, optimizerStep, type StepSpec } from "../train/step.ts";
import type { Transformer } from "../models/transformer.ts";

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

const threadsArg = process.argv.find((a) => a.startsWith("--threads="));
const threads = threadsArg === undefined ? 1 : Number(threadsArg.slice("--threads=".length));

const start = async (name: string, stock: boolean): Promise<string> => {
  // `threads` reaches backends that run a threaded library (blas); the others ignore it.
  const options: LoadBackendOptions = { fastKernels: !stock, threads };
  const loaded = await loadBackend(name as TfjsBackendName, options);
  return loaded.details;
};

const fullSpec = { finetune: "full" as const, lora: { r: 8, alpha: 16, dropout: 0 } };

/** Mean seconds of `steps` timed training steps (after `warmup` untimed ones) on 1 + pool threads. */
const timeTrainerSteps = async (
  base: Transformer,
  pool: WorkerPool | null,
  c: BenchConfig,
  steps: number,
  warmup: number,
) => {
  const trainable = buildTrainable(base, fullSpec, await modelSnapshot(base), 1);
  const step: StepSpec = { loss: lossRegistry.get("sigmoid"), lossParams: { beta: 0.1 } };
  const batch = preferenceBatch(c, 1);
  const pairs = trainingPairs(batch, batch.prompts.map(() => -500), batch.prompts.map(() => -500));
  const optimizer = new AdamW(trainable.variables, {
    weightDecay: 0.01,
    maxGradNorm: 1,
    decay: trainable.decay,
  });
  const accumulator = new GradientAccumulator(trainable.variables);
  await pool?.startSegment(trainable, 1, step);
  const source: GradientSource = pool === null
    ? localGradients(step, trainable)
    : { gradients: (p) => pool.gradients(p, trainable), weightsChanged: () => pool.weightsChanged() };
  const once = () => optimizerStep(source, [pairs], accumulator, optimizer, 1e-5);
  for (let i = 0; i < warmup; i++) await once();
  const begin = performance.now();
  for (let i = 0; i < steps; i++) await once();
  const seconds = (performance.now() - begin) / 1000 / steps;
  optimizer.dispose();
  trainable.dispose();
  return seconds;
};

/** Tokens/s of generation (the generate benchmark's batch, L new tokens) split over the threads. */
const splitGeneration = async (
  base: Transformer,
  pool: WorkerPool | null,
  c: BenchConfig,
): Promise<number> => {
  const prompts = generationPrompts(c.vocabSize, 2);
  const threads = pool?.threads ?? 1;
  const ranges = shardRanges(prompts.length, threads);
  const policy = new TransformerPolicy(base);
  for (let w = 1; w < threads; w++) await pool!.load(w, null);
  const all = (maxNewTokens: number) =>
    Promise.all(ranges.map(([s, e], w) => {
      const options = { maxNewTokens, eosTokenIds: [], rng: forkRng(rngFromSeed(3), w) };
      return w === 0
        ? policy.generate(prompts.slice(s, e), options)
        : pool!.generate(w, prompts.slice(s, e), options);
    }));
  await all(4);
  const begin = performance.now();
  await all(generationShape.newTokens);
  return (prompts.length * generationShape.newTokens) / ((performance.now() - begin) / 1000);
};

const [mode, ...rest] = process.argv.slice(2).filter((a) => a !== "--stock-kernels" && a !== threadsArg);
const stock = process.argv.includes("--stock-kernels");

if (mode === "matmul") {
  const details = await start(rest[0], stock);
  const reps = rest[0] === "cpu" ? 2 : rest[0] === "webgpu" ? 3 : 10;
  const { gflops, cpuGflops } = await matmulRates(1024, reps);
  emit({ details, tfjs: tf.version.tfjs, matmul1024_gflops: gflops, matmul1024_cpu_gflops: cpuGflops });
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
} else if (mode === "config") {
  const [backend, configName, planJson] = rest;
  await start(backend, stock);
  const plan = JSON.parse(planJson) as MeasurePlan;
  const figures = await measureConfig(benchConfigs[configName as BenchConfigName], plan);
  emit({ ...figures, peak_rss_mb: peakRssMb() });
} else if (mode === "workers" || mode === "trainer") {
  // The self-play trainer's step (train/step.ts's optimizerStep, as train/train.ts runs it): full
  // fine-tuning, reference log-probs pre-computed (no reference forward), the micro-batch split over
  // `threads` threads by the worker pool, AdamW on the training thread, the new weights shared after
  // each step. "workers" also times generation split over the same threads.
  const [threads, configName, steps, warmup = "1"] = rest;
  await start("wasm", stock);
  const c = benchConfigs[configName as BenchConfigName];
  const base = createTransformer(benchModelConfig(c), { seed: 1, trainable: false });
  const pool = Number(threads) > 1
    ? await createWorkerPool({ threads: Number(threads), base, spec: fullSpec })
    : null;
  const seconds = await timeTrainerSteps(base, pool, c, Number(steps), Number(warmup));
  const generation = mode === "workers"
    ? { generate_tokens_per_s: await splitGeneration(base, pool, c) }
    : {};
  await pool?.close();
  emit({
    tokens_per_s: (2 * c.batch * c.ctx) / seconds,
    seconds_per_step: seconds,
    steps: Number(steps),
    ...generation,
  });
} else if (mode === "losers") {
  // The self-play loop's loser generation (selfplay/generation.ts): 4 batches of 8 prompts, 64 new
  // tokens each, every batch from its own stream; with 2 threads a generation worker takes every
  // other batch (train/pool.ts).
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
  const pool = Number(threads) > 1 ? await createWorkerPool({ threads: 2, base, spec: fullSpec }) : null;
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
