/**
 * The shape of a resolved α-SPIN run config (every key present, defaults applied), derived from the
 * codecs of config-codecs.ts with `t.TypeOf`: a key's type is written once, in its codec. The
 * meaning of every key is in docs/config.md.
 *
 * Deriving these types needs the codecs' inferred types, which JSR's fast check ("no slow types")
 * refuses in a public API; deno.json excludes that lint rule, and explains the cost.
 *
 * @module
 */
import type * as t from "io-ts";
import type {
  dataCodec,
  equalShareCodec,
  exportsCodec,
  generationCodec,
  geometricSamplingCodec,
  klWeightsCodec,
  lossCodec,
  loraCodec,
  resolvedRunConfigCodec,
  trainingCodec,
} from "./config-codecs.ts";

/**
 * A decoded value made read-only all the way down (lists are already read-only), so that a config
 * cannot be changed after it is decoded.
 */
export type Decoded<T> = T extends readonly unknown[] ? T
  : T extends object ? { readonly [K in keyof T]: Decoded<T[K]> }
  : T;

/** Where the SFT data comes from and how to read it. */
export type DataConfig = Decoded<t.TypeOf<typeof dataCodec>>;
/** β·KL(π‖π_{t−1}) + λ·KL(π‖π_base), the alternative to giving α and β. */
export type KlWeightsConfig = Decoded<t.TypeOf<typeof klWeightsCodec>>;
/** Losers from the geometric mixture itself, by K-candidate resampling. */
export type GeometricSamplingConfig = Decoded<t.TypeOf<typeof geometricSamplingCodec>>;
/** How `equal-share` splits the examples among the window (samplers/history's EqualShareOptions). */
export type EqualShareConfig = Decoded<t.TypeOf<typeof equalShareCodec>>;
/** The loss by registry name, its own parameters (β comes from the run config), and the opt-in. */
export type LossConfig = Decoded<t.TypeOf<typeof lossCodec>>;
/** Optimizer, schedule and batching of one iteration's training. */
export type TrainingConfig = Decoded<t.TypeOf<typeof trainingCodec>>;
/** The LoRA adapter trained at each iteration (PEFT's names). */
export type LoraConfig = Decoded<t.TypeOf<typeof loraCodec>>;
/** How losers are sampled. */
export type GenerationConfig = Decoded<t.TypeOf<typeof generationCodec>>;
/** Which exports of each iteration's pairs are written. */
export type ExportsConfig = Decoded<t.TypeOf<typeof exportsCodec>>;

export type { TrainingCommandConfig, TrainingEngineConfig } from "./config-training-engine.ts";

/** A fully resolved run config: every key present, defaults applied. */
export type RunConfig = Decoded<t.TypeOf<typeof resolvedRunConfigCodec>>;
