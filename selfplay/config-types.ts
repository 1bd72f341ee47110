/**
 * The shape of a resolved α-SPIN run config (every key present, defaults applied). The codec that
 * produces it, and the meaning of every key, are in config.ts and docs/config.md.
 *
 * @module
 */
import type { PerIteration } from "../core/config.ts";
import type { BackendRequest } from "../backends/types.ts";
import type { AssignmentMode } from "../samplers/history.ts";
import type { ResampleMethod } from "../samplers/geometric.ts";

/** Where the SFT data comes from and how to read it. */
export interface DataConfig {
  readonly train: string;
  readonly format: "auto" | "jsonl" | "parquet";
  readonly schema: "messages" | "prompt-completion";
  readonly turns: "first" | "multi";
  readonly eval: string | null;
  readonly maxExamples: number | null;
}
/** β·KL(π‖π_{t−1}) + λ·KL(π‖π_base), the alternative to giving α and β. */
export interface KlWeightsConfig {
  readonly beta: PerIteration<number>;
  readonly lambda: PerIteration<number>;
}
/** Losers from the geometric mixture itself, by K-candidate resampling. */
export interface GeometricSamplingConfig {
  readonly enabled: boolean;
  readonly candidates: number;
  readonly resample: ResampleMethod;
}
/** How `equal-share` splits the examples among the window (samplers/history's EqualShareOptions). */
export interface EqualShareConfig {
  /** "all": every member gets every example (|W|·N pairs); a number: that many examples per member. */
  readonly pairsPerMember: number | "all" | "split";
  /** No example goes to two members (needs a number pairsPerMember with |W|·pairsPerMember ≤ N). */
  readonly disjoint: boolean;
}
/** The loss by registry name, and its own parameters (β comes from the run config). */
export interface LossConfig {
  readonly name: string;
  readonly params: Readonly<Record<string, unknown>>;
  /**
   * `"per-prompt-normalizer-ignored"`: train a loss that is not margin-only with 0 < α < 1 against
   * the unnormalized geometric reference (losses/alpha-spin.ts explains what that means). Absent:
   * such a run is refused when the config is decoded.
   */
  readonly allowNonInvariant?: "per-prompt-normalizer-ignored";
}
/** Optimizer, schedule and batching of one iteration's training. */
export interface TrainingConfig {
  readonly epochs: PerIteration<number>;
  readonly lr: PerIteration<number>;
  readonly batchSize: number;
  readonly gradientAccumulation: number;
  readonly warmupRatio: number;
  readonly schedule: "linear" | "cosine" | "constant";
  readonly weightDecay: number;
  readonly maxGradNorm: number;
  readonly adamBeta1: number;
  readonly adamBeta2: number;
  readonly adamEps: number;
}
/** The LoRA adapter trained at each iteration (PEFT's names). */
export interface LoraConfig {
  readonly r: number;
  readonly alpha: number;
  readonly dropout: number;
  readonly targetModules: "auto" | "all-linear" | readonly string[];
}
/** How losers are sampled. */
export interface GenerationConfig {
  readonly maxNewTokens: number;
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly minP: number;
  readonly batchSize: number;
}
/** Which exports of each iteration's pairs are written. */
export interface ExportsConfig {
  readonly trlDpo: boolean;
  readonly spin: boolean;
}

/** A fully resolved run config: every key present, defaults applied. */
export interface RunConfig {
  readonly name: string;
  readonly outputDir: string;
  readonly model: string;
  readonly tokenizer: string | null;
  readonly backend: BackendRequest;
  /** Threads computing each micro-batch's gradient (≥ 1; > 1 needs the wasm, blas or cpu backend). */
  readonly workers: number;
  /** Modules imported before the loss is resolved, and by every gradient worker (imports.ts). */
  readonly imports: readonly string[];
  /** BLAS threads of the blas backend (process-wide; null: the backend's default, 1). */
  readonly threads: number | null;
  readonly seed: number;
  readonly data: DataConfig;
  readonly iterations: number;
  /** Set (α, β), or klWeights; the unused side is null. */
  readonly alpha: PerIteration<number> | null;
  readonly beta: PerIteration<number> | null;
  readonly klWeights: KlWeightsConfig | null;
  readonly h: number | "all";
  readonly assignment: AssignmentMode;
  readonly equalShare: EqualShareConfig;
  readonly opponent: "window" | "ema";
  readonly reuseGenerations: boolean;
  readonly geometricSampling: GeometricSamplingConfig;
  readonly reference: "geometric" | "arithmetic" | "ema";
  readonly ema: { readonly decay: number };
  readonly loss: LossConfig;
  readonly finetune: "lora" | "full";
  readonly lora: LoraConfig;
  readonly training: TrainingConfig;
  readonly maxLength: number;
  readonly maxPromptLength: number | null;
  readonly generation: GenerationConfig;
  readonly exports: ExportsConfig;
}
