/**
 * The measurements of one (backend, configuration) cell, on the tfjs backend already active in
 * this process: matrix-product throughput, the training step (full and LoRA), no-gradient
 * log-probs, KV-cached generation, tensor growth. The training step is the one training runs:
 * train/step.ts's `optimizerStep` over `alphaSpinGradients` (sigmoid loss, reference log-probs
 * pre-computed as α-SPIN's reference phase does, AdamW), which ends with one read-back of the loss,
 * metrics and gradient norm (the only host round trip, needed to time asynchronous backends).
 *
 * FLOP conventions (N = parameters minus token and position embeddings, head counted):
 * - dpo_step: 6N per token (policy forward 2N + backward 4N; the reference log-probs are
 *   pre-computed, as in training);
 * - dpo_step_lora: 4N + 6·r·Σ(in + out) per token (forward 2N through base and adapters, backward
 *   2N for the activation gradients through the frozen base, no weight gradients; the adapters add
 *   2·r·(in + out) forward and twice that backward per adapted projection);
 * tokens per step = 2·batch·ctx (chosen and rejected sequences, prompt included).
 *
 * @example
 * ```ts
 * const cell = await measureConfig(benchConfigs.tiny, { steps: 5, loraSteps: 5, logprobReps: 3, generateRuns: 1 });
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import { lossRegistry } from "../losses/registry.ts";
import { generate } from "../models/generate.ts";
import { createLoraAdapter } from "../models/lora.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { createTransformer } from "../models/transformer.ts";
import { AdamW, GradientAccumulator } from "../train/optim.ts";
import { localGradients, optimizerStep, type StepSpec, type TrainingPair } from "../train/step.ts";
import {
  type BenchConfig,
  benchLoraOf,
  benchModelConfig,
  flopParameters,
  generationPrompts,
  generationShape,
  loraWidthSum,
  type PreferenceBatch,
  preferenceBatch,
  trainingPairs,
} from "./configs.ts";

/** How many repetitions each measurement takes (after one untimed warm-up). */
export interface MeasurePlan {
  /** Timed full DPO steps; tensor growth is measured over these too. */
  readonly steps: number;
  /** Timed LoRA DPO steps. */
  readonly loraSteps: number;
  /** Timed no-gradient log-prob passes. */
  readonly logprobReps: number;
  /** Generation runs at L and at 2L (the fastest of each is kept). */
  readonly generateRuns: number;
  /**
   * false: no untimed log-prob pass before the timed ones, and generation at L only (no 2L run): for
   * s135m, where one pass is 10¹² FLOPs and warm-up costs nothing measurable. Default true.
   */
  readonly warmup?: boolean;
  /** New tokens L of the shorter generation (2L for the longer). */
  readonly newTokens?: number;
  /** Pairs per forward/backward pass of the training steps (default: the whole batch), for memory. */
  readonly microBatch?: number;
  /** Skip measurements (for slow backends); the reason is reported. */
  readonly skip?: readonly ("dpo_step" | "dpo_step_lora" | "logprob" | "generate")[];
}

/** One timed training measurement. */
export interface StepFigures {
  readonly tokens_per_s: number;
  readonly gflops: number;
  /** Seconds per step (mean of the timed steps). */
  readonly seconds_per_step: number;
  /** CPU seconds of this process per step (all its threads): unlike wall time, not inflated by other load. */
  readonly cpu_seconds_per_step: number;
  /** Number of timed steps. */
  readonly steps: number;
}

/** Everything measured for one configuration. */
export interface ConfigFigures {
  dpo_step?: StepFigures;
  dpo_step_lora?: StepFigures;
  logprob?: { tokens_per_s: number; cpu_tokens_per_s: number; reps: number };
  generate?: {
    tokens_per_s: number;
    /** 8·L / the CPU seconds of the fastest L run. */
    cpu_tokens_per_s: number;
    /** t(2L) / t(L); NaN when 2L was not run (plan.warmup false). */
    time_ratio_2x: number;
    new_tokens: number;
    seconds_l: number;
    seconds_2l: number;
  };
  /** numTensors after the last timed full step − after the first step. */
  tensors_growth?: number;
  /** Steps between the two counts of `tensors_growth` (the 100, or fewer where stated). */
  tensors_growth_steps?: number;
  /** numTensors after the last timed LoRA step − after the first LoRA step. */
  tensors_growth_lora?: number;
}

const now = (): number => performance.now();
/** CPU seconds this process has used (all threads). */
const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** 2n³ FLOPs per n×n product; one warm-up, then `reps` timed products, each read back. */
export const matmulGflops = async (n: number, reps: number): Promise<number> =>
  (await matmulRates(n, reps)).gflops;

/**
 * {@link matmulGflops} by the wall clock and by this process's CPU seconds (all threads).
 *
 * @example
 * ```ts
 * const { gflops, cpuGflops } = await matmulRates(1024, 10);
 * ```
 */
export const matmulRates = async (
  n: number,
  reps: number,
): Promise<{ gflops: number; cpuGflops: number }> => {
  const a = tf.randomNormal([n, n]), b = tf.randomNormal([n, n]);
  try {
    const warm = tf.matMul(a, b);
    await warm.data();
    warm.dispose();
    const start = now(), cpuStart = cpuNow();
    for (let r = 0; r < reps; r++) {
      const c = tf.matMul(a, b);
      await c.data();
      c.dispose();
    }
    const seconds = (now() - start) / 1000, cpuSeconds = cpuNow() - cpuStart;
    return { gflops: (2 * n ** 3 * reps) / seconds / 1e9, cpuGflops: (2 * n ** 3 * reps) / cpuSeconds / 1e9 };
  } finally {
    a.dispose(), b.dispose();
  }
};

const sigmoid: StepSpec = { loss: lossRegistry.get("sigmoid"), lossParams: { beta: 0.1 } };

/** Run `step` once untimed, then `count` times timed; returns mean seconds and tensor counts. */
const timeSteps = async (
  count: number,
  step: () => Promise<void>,
): Promise<{ seconds: number; cpuSeconds: number; tensorsAfterFirst: number; tensorsAfterLast: number }> => {
  await step();
  const tensorsAfterFirst = tf.memory().numTensors;
  const start = now(), cpuStart = cpuNow();
  for (let i = 0; i < count; i++) await step();
  const seconds = (now() - start) / 1000 / count, cpuSeconds = (cpuNow() - cpuStart) / count;
  return { seconds, cpuSeconds, tensorsAfterFirst, tensorsAfterLast: tf.memory().numTensors };
};

/**
 * One training step of `policy` on `pairs` (micro-batches of `microBatch` pairs, accumulated): the
 * step training runs, ending with its one read-back.
 */
const trainStep = (
  policy: TransformerPolicy,
  pairs: readonly TrainingPair[],
  optimizer: AdamW,
  microBatch: number | undefined,
) => {
  const variables = policy.trainableVariables();
  const source = localGradients(sigmoid, { policy, variables });
  const size = microBatch ?? pairs.length;
  const microBatches = Array.from(
    { length: Math.ceil(pairs.length / size) },
    (_, i) => pairs.slice(i * size, (i + 1) * size),
  );
  const accumulator = new GradientAccumulator(variables); // empty again after every step
  return async (): Promise<void> =>
    void await optimizerStep(source, microBatches, accumulator, optimizer, 1e-5);
};

/** The batch with the reference log-probs of `refPolicy` (computed once, untimed: the reference phase). */
const withReferences = async (
  refPolicy: TransformerPolicy,
  batch: PreferenceBatch,
  microBatch: number | undefined,
): Promise<TrainingPair[]> => {
  // In passes of 2·microBatch sequences where the plan has micro-batches: one pass over all of
  // s135m's 8 sequences of 512 tokens holds more than the wasm heap's 4 GiB.
  const batchSize = microBatch === undefined ? 2 * batch.prompts.length : 2 * microBatch;
  const { logProbs } = await refPolicy.sequenceLogProbs([...batch.prompts, ...batch.prompts], [
    ...batch.chosen,
    ...batch.rejected,
  ], {
    batchSize,
  });
  const n = batch.prompts.length;
  return trainingPairs(batch, logProbs.slice(0, n), logProbs.slice(n));
};

/**
 * Measure one configuration on the active backend according to `plan`.
 *
 * @example
 * ```ts
 * await measureConfig(benchConfigs.small, { steps: 2, loraSteps: 2, logprobReps: 2, generateRuns: 1 });
 * ```
 */
export const measureConfig = async (c: BenchConfig, plan: MeasurePlan): Promise<ConfigFigures> => {
  const config = benchModelConfig(c);
  const n = flopParameters(config);
  const tokens = 2 * c.batch * c.ctx;
  const skip = new Set(plan.skip ?? []);
  const batch = preferenceBatch(c, 1);
  const figures: ConfigFigures = {};
  const model = createTransformer(config, { seed: 1 });
  const policy = new TransformerPolicy(model);

  const pairs = await withReferences(policy, batch, plan.microBatch);

  if (!skip.has("dpo_step")) {
    const optimizer = new AdamW(policy.trainableVariables(), { weightDecay: 0.01, maxGradNorm: 1 });
    const t = await timeSteps(plan.steps, trainStep(policy, pairs, optimizer, plan.microBatch));
    figures.dpo_step = {
      tokens_per_s: tokens / t.seconds,
      gflops: (6 * n * tokens) / t.seconds / 1e9,
      seconds_per_step: t.seconds,
      cpu_seconds_per_step: t.cpuSeconds,
      steps: plan.steps,
    };
    figures.tensors_growth = t.tensorsAfterLast - t.tensorsAfterFirst;
    figures.tensors_growth_steps = plan.steps;
    optimizer.dispose();
  }

  if (!skip.has("logprob")) {
    const prompts = [...batch.prompts, ...batch.prompts], completions = [...batch.chosen, ...batch.rejected];
    const batchSize = plan.microBatch === undefined ? prompts.length : 2 * plan.microBatch;
    const pass = () => policy.sequenceLogProbs(prompts, completions, { batchSize });
    if (plan.warmup !== false) await pass();
    const start = now(), cpuStart = cpuNow();
    for (let i = 0; i < plan.logprobReps; i++) await pass();
    const seconds = (now() - start) / 1000 / plan.logprobReps;
    const cpuSeconds = (cpuNow() - cpuStart) / plan.logprobReps;
    figures.logprob = {
      tokens_per_s: tokens / seconds,
      cpu_tokens_per_s: tokens / cpuSeconds,
      reps: plan.logprobReps,
    };
  }

  if (!skip.has("generate")) {
    const prompts = generationPrompts(c.vocabSize, 2);
    const newTokens = plan.newTokens ?? generationShape.newTokens;
    let cpuL = Infinity;
    const run = async (maxNewTokens: number): Promise<number> => {
      const start = now(), cpuStart = cpuNow();
      await generate(policy, prompts, { maxNewTokens, eosTokenIds: [], greedy: true });
      if (maxNewTokens === newTokens) cpuL = Math.min(cpuL, cpuNow() - cpuStart);
      return (now() - start) / 1000;
    };
    await run(4);
    let tL = Infinity, t2L = Infinity;
    for (let i = 0; i < plan.generateRuns; i++) {
      tL = Math.min(tL, await run(newTokens));
      if (plan.warmup !== false) t2L = Math.min(t2L, await run(2 * newTokens));
    }
    figures.generate = {
      tokens_per_s: (generationShape.batch * newTokens) / tL,
      cpu_tokens_per_s: (generationShape.batch * newTokens) / cpuL,
      time_ratio_2x: Number.isFinite(t2L) ? t2L / tL : NaN,
      new_tokens: newTokens,
      seconds_l: tL,
      seconds_2l: t2L,
    };
  }

  if (!skip.has("dpo_step_lora")) {
    const lora = benchLoraOf(c);
    const adapter = createLoraAdapter(model, { ...lora, targetModules: [...lora.targetModules], seed: 1 });
    const loraPolicy = new TransformerPolicy(model, adapter);
    const optimizer = new AdamW(loraPolicy.trainableVariables(), { weightDecay: 0, maxGradNorm: 1 });
    const t = await timeSteps(
      plan.loraSteps,
      trainStep(loraPolicy, pairs, optimizer, plan.microBatch),
    );
    const perToken = 4 * n + 6 * lora.r * loraWidthSum(config, lora.targetModules);
    figures.dpo_step_lora = {
      tokens_per_s: tokens / t.seconds,
      gflops: (perToken * tokens) / t.seconds / 1e9,
      seconds_per_step: t.seconds,
      cpu_seconds_per_step: t.cpuSeconds,
      steps: plan.loraSteps,
    };
    figures.tensors_growth_lora = t.tensorsAfterLast - t.tensorsAfterFirst;
    if (figures.tensors_growth === undefined) {
      figures.tensors_growth = t.tensorsAfterLast - t.tensorsAfterFirst;
      figures.tensors_growth_steps = plan.loraSteps;
    }
    optimizer.dispose();
    adapter.dispose();
  }
  model.dispose();
  return figures;
};
