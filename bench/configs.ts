/**
 * The benchmark's standard model configurations (tiny, small, medium: GPT-2-style blocks, untied
 * head; s135m: SmolLM2-135M's Llama shape, tied head; random init), the LoRA each one trains, the
 * parameter counts its FLOP formulas use, and the synthetic preference batches it trains on.
 *
 * @example
 * ```ts
 * import { benchConfigs, benchModelConfig, flopParameters } from "./configs.ts";
 * const config = benchModelConfig(benchConfigs.small);
 * flopParameters(config); // N: every parameter except the token and position embeddings
 * ```
 *
 * @module
 */
import { makeConfig, type ModelConfig } from "../models/config.ts";
import { parameterCount, projections } from "../models/weights.ts";
import type { TrainingPair } from "../train/step.ts";

/** One standard configuration: model dimensions and the training batch. */
export interface BenchConfig {
  readonly name: BenchConfigName;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  /** Sequence length of every training sequence (prompt + completion). */
  readonly ctx: number;
  /** Preference pairs per step (2·batch sequences). */
  readonly batch: number;
  /** Block layout (default gpt2). */
  readonly family?: "gpt2" | "llama";
  /** Key/value heads (grouped-query attention; default numHeads). */
  readonly numKeyValueHeads?: number;
  /** MLP width (default: the family's). */
  readonly intermediateSize?: number;
  /** The head reuses the token embeddings (default false). */
  readonly tieWordEmbeddings?: boolean;
}

/** The names of the standard configurations. */
export type BenchConfigName = "tiny" | "small" | "medium" | "s135m";

/** The standard configurations of issue 8, so figures compare with outside measurements. */
export const benchConfigs: Readonly<Record<BenchConfigName, BenchConfig>> = {
  tiny: { name: "tiny", vocabSize: 256, hiddenSize: 128, numLayers: 2, numHeads: 4, ctx: 64, batch: 8 },
  small: { name: "small", vocabSize: 512, hiddenSize: 256, numLayers: 4, numHeads: 4, ctx: 128, batch: 8 },
  medium: { name: "medium", vocabSize: 8192, hiddenSize: 512, numLayers: 6, numHeads: 8, ctx: 256, batch: 4 },
  // SmolLM2-135M (HuggingFaceTB/SmolLM2-135M config.json): Llama blocks, RMSNorm, SwiGLU, RoPE, GQA.
  s135m: {
    name: "s135m",
    family: "llama",
    vocabSize: 49152,
    hiddenSize: 576,
    numLayers: 30,
    numHeads: 9,
    numKeyValueHeads: 3,
    intermediateSize: 1536,
    tieWordEmbeddings: true,
    ctx: 512,
    batch: 4,
  },
};

/** Generation benchmark: batch, prompt length and the shorter number of new tokens L. */
export const generationShape = { batch: 8, prompt: 16, newTokens: 64 } as const;

/** The LoRA of a `dpo_step_lora` benchmark: rank, scale numerator and the adapted modules. */
export interface BenchLora {
  readonly r: number;
  readonly alpha: number;
  readonly targetModules: readonly string[];
}

/** LoRA of the GPT-2 configurations: rank 8 on q, k, v (GPT-2's fused c_attn) and o (attn.c_proj). */
export const benchLora: BenchLora = { r: 8, alpha: 16, targetModules: ["c_attn", "attn.c_proj"] };

/** LoRA of s135m: rank 16 on every attention and MLP projection, as a SmolLM2 fine-tune would use. */
export const llamaBenchLora: BenchLora = {
  r: 16,
  alpha: 32,
  targetModules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
};

/**
 * The LoRA a configuration's `dpo_step_lora` trains.
 *
 * @example
 * ```ts
 * benchLoraOf(benchConfigs.s135m).r; // 16
 * ```
 */
export const benchLoraOf = (c: BenchConfig): BenchLora => (c.family === "llama" ? llamaBenchLora : benchLora);

/** New tokens L of the generation benchmark per configuration (s135m: 128, as the issue asks). */
export const generationNewTokens = (c: BenchConfig): number =>
  c.name === "s135m" ? 128 : generationShape.newTokens;

/**
 * The model of a configuration, with enough positions for the training sequences and for
 * generating 2L tokens after the prompt. s135m takes SmolLM2-135M's ε (1e-5) and RoPE θ (100000).
 *
 * @example
 * ```ts
 * benchModelConfig(benchConfigs.tiny).maxPositions; // 144 = 16 + 2·64
 * ```
 */
export const benchModelConfig = (c: BenchConfig): ModelConfig =>
  makeConfig({
    family: c.family ?? "gpt2",
    vocabSize: c.vocabSize,
    hiddenSize: c.hiddenSize,
    numLayers: c.numLayers,
    numHeads: c.numHeads,
    numKeyValueHeads: c.numKeyValueHeads,
    intermediateSize: c.intermediateSize,
    maxPositions: Math.max(c.ctx, generationShape.prompt + 2 * generationNewTokens(c)),
    tieWordEmbeddings: c.tieWordEmbeddings ?? false,
    ...(c.family === "llama" ? { normEps: 1e-5, ropeTheta: 100000 } : {}),
  });

/**
 * N of the FLOP formulas: all parameters minus the token and position embeddings, plus the head
 * (a tied head shares the embedding matrix, yet costs V·d multiply-adds per token like an untied
 * one). A forward pass costs about 2N FLOPs per token, a backward pass 4N.
 *
 * @example
 * ```ts
 * flopParameters(benchModelConfig(benchConfigs.tiny)); // 429568
 * ```
 */
export const flopParameters = (config: ModelConfig): number =>
  parameterCount(config) - config.vocabSize * config.hiddenSize -
  (config.family === "gpt2" ? config.maxPositions * config.hiddenSize : 0) +
  (config.tieWordEmbeddings ? config.vocabSize * config.hiddenSize : 0);

/**
 * Σ (in + out) over the LoRA-adapted projections; the adapters cost 6·r·Σ(in + out) FLOPs per
 * token in a training step (forward 2·r·(in + out), backward twice that).
 *
 * @example
 * ```ts
 * loraWidthSum(config, ["c_attn", "attn.c_proj"]); // Σ over layers of (d + 3d) + (d + d)
 * ```
 */
export const loraWidthSum = (config: ModelConfig, targets: readonly string[]): number =>
  projections(config)
    .filter((p) => targets.some((t) => p.module === t || p.module.endsWith(`.${t}`)))
    .reduce((s, p) => s + p.inFeatures + p.outFeatures, 0);

/** A tiny deterministic generator of token ids (32-bit LCG), so every run trains on the same data. */
const tokenStream = (seed: number, vocab: number): () => number => {
  let state = (seed * 2654435761 + 12345) >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % vocab;
  };
};

/** A batch of preference pairs as token ids; row i is (prompts[i], chosen[i], rejected[i]). */
export interface PreferenceBatch {
  readonly prompts: readonly (readonly number[])[];
  readonly chosen: readonly (readonly number[])[];
  readonly rejected: readonly (readonly number[])[];
}

/**
 * The batch as α-SPIN training pairs, with reference log-probs lp_ref `lpChosen[i]` and `lpRejected[i]`.
 *
 * @example
 * ```ts
 * const pairs = trainingPairs(preferenceBatch(benchConfigs.tiny, 1), [-500, ...], [-500, ...]);
 * ```
 */
export const trainingPairs = (
  batch: PreferenceBatch,
  lpChosen: readonly number[],
  lpRejected: readonly number[],
): TrainingPair[] =>
  batch.prompts.map((promptIds, i) => ({
    promptIds,
    chosenIds: batch.chosen[i],
    rejectedIds: batch.rejected[i],
    lpRefChosen: lpChosen[i],
    lpRefRejected: lpRejected[i],
  }));

/**
 * A synthetic batch of `c.batch` preference pairs: each sequence has `c.ctx` tokens, the first
 * ctx/4 of them the prompt shared by the chosen and the rejected response.
 *
 * @example
 * ```ts
 * const batch = preferenceBatch(benchConfigs.small, 1); // 8 pairs of 32 + 96 tokens
 * ```
 */
export const preferenceBatch = (c: BenchConfig, seed: number): PreferenceBatch => {
  const next = tokenStream(seed, c.vocabSize);
  const promptLength = c.ctx / 4, completionLength = c.ctx - promptLength;
  const row = (n: number): number[] => Array.from({ length: n }, next);
  const prompts = Array.from({ length: c.batch }, () => row(promptLength));
  return {
    prompts,
    chosen: prompts.map(() => row(completionLength)),
    rejected: prompts.map(() => row(completionLength)),
  };
};

/**
 * Prompts for the generation benchmark: `generationShape.batch` rows of `generationShape.prompt` tokens.
 *
 * @example
 * ```ts
 * generationPrompts(256, 3).length; // 8
 * ```
 */
export const generationPrompts = (vocab: number, seed: number): number[][] => {
  const next = tokenStream(seed, vocab);
  return Array.from(
    { length: generationShape.batch },
    () => Array.from({ length: generationShape.prompt }, next),
  );
};

/**
 * The tensor-growth check's model for a configuration: the same code path (family, attention
 * layout, tied head, LoRA targets, the plan's micro-batching) with every dimension shrunk (vocab 64,
 * 4-wide heads, 2 layers, ctx 16, 2 pairs), so 100 real steps take seconds. Tensor leaks depend on
 * which operations run, not on their sizes.
 *
 * @example
 * ```ts
 * growthShape(benchConfigs.s135m).numKeyValueHeads; // 3, as s135m
 * ```
 */
export const growthShape = (c: BenchConfig): BenchConfig => ({
  ...c,
  vocabSize: 64,
  hiddenSize: 4 * c.numHeads,
  numLayers: 2,
  ...(c.intermediateSize === undefined ? {} : { intermediateSize: 8 * c.numHeads }),
  ctx: 16,
  batch: 2,
});
