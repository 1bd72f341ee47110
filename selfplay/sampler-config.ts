/**
 * The run config's choice of loser sampler, `generation.sampler`, and the settings of the GFlowNet
 * sampler, `generation.gflownet` (joined into the run config codec in config.ts by one spread).
 *
 * | `generation.sampler` | losers drawn from                                                          |
 * | -------------------- | -------------------------------------------------------------------------- |
 * | `"plain"`            | the assigned window member π_j itself (SPIN's sampler)                      |
 * | `"resample"`         | π_j^α·π_base^(1−α) by K-candidate importance resampling (`geometricSampling`) |
 * | `"gflownet"`         | a LoRA sampler q_θ fitted to π_j^α·π_base^(1−α) by sub-trajectory balance  |
 *
 * Absent, the sampler follows the older switch: `"resample"` when `geometricSampling.enabled` is true,
 * else `"plain"`; `geometricSampling.candidates` and `.resample` are the `"resample"` sampler's
 * settings either way. `geometricSampling.enabled: true` next to another sampler is refused.
 *
 * Defaults of `generation.gflownet` and where they come from: λ = 1 (Hu et al., ICLR 2024, weight
 * sub-trajectories alike or nearly, λ ≈ 1), exploration by tempered sampling at 1.5 with half of each
 * batch replayed from a per-prompt buffer of the 32 highest-reward answers (Hu et al. explore by
 * tempering and replay high-reward sequences; the exact mix is this project's, as in
 * train/gflownet.ts), 200 steps of 16 trajectories (docs/samplers.md: on the enumerable task TV to
 * the exact mixture stops improving much between 200 and 400 steps), learning rate 1e-3 (lr 1e-2
 * diverged on one seed of five at α = 0.9 in docs/samplers.md), a rank-8 LoRA with α = 16 (a common
 * LoRA size; the α-SPIN appendix fits a LoRA sampler but its rank is not given).
 *
 * @example
 * ```ts
 * import { strictObject } from "../core/config.ts";
 * const generation = strictObject({ ...generationSamplerProps }, "generation");
 * generation.decode({ sampler: "gflownet", gflownet: { steps: 50 } }); // Right({ sampler: "gflownet", gflownet: { steps: 50, … } })
 * ```
 *
 * @module
 */
import * as t from "io-ts";
import type { Decoded } from "./config-types.ts";
import {
  type CheckIssue,
  oneOf,
  positive,
  positiveInt,
  strictObject,
  unitInterval,
  withDefault,
} from "../core/config.ts";

/** Where losers come from (see the module doc). */
export type LoserSampler = "plain" | "resample" | "gflownet";

/** Every loser sampler, in the order the docs list them. */
export const loserSamplers: readonly LoserSampler[] = ["plain", "resample", "gflownet"];

/** The resolved sampler keys of `generation`. */
export interface GenerationSamplerConfig {
  readonly sampler: LoserSampler;
  readonly gflownet: GFlowNetConfig;
}

/** The defaults of `generation.gflownet` (the module doc says where each comes from). */
export const gflownetDefaults = {
  steps: 200,
  batchSize: 16,
  lr: 1e-3,
  lambda: 1,
  explorationTemperature: 1.5,
  replayFraction: 0.5,
  replayPerPrompt: 32,
  lora: { r: 8, alpha: 16 },
};

const gflownetCodec = strictObject({
  steps: withDefault(positiveInt, gflownetDefaults.steps),
  batchSize: withDefault(positiveInt, gflownetDefaults.batchSize),
  lr: withDefault(positive, gflownetDefaults.lr),
  lambda: withDefault(positive, gflownetDefaults.lambda),
  explorationTemperature: withDefault(positive, gflownetDefaults.explorationTemperature),
  replayFraction: withDefault(unitInterval, gflownetDefaults.replayFraction),
  replayPerPrompt: withDefault(positiveInt, gflownetDefaults.replayPerPrompt),
  lora: withDefault(
    strictObject({
      r: withDefault(positiveInt, gflownetDefaults.lora.r),
      alpha: withDefault(positive, gflownetDefaults.lora.alpha),
    }, "lora"),
    {},
  ),
}, "gflownet");

/**
 * Settings of the GFlowNet sampler's fit (train/gflownet.ts's options): Adam `steps` of `batchSize`
 * trajectories at `lr`; sub-trajectory weight `lambda` (a sub-trajectory of k steps weighs λ^k);
 * fresh trajectories at `explorationTemperature`, a `replayFraction` of each batch replayed from a
 * buffer of each prompt's `replayPerPrompt` highest-reward answers; the sampler's LoRA adapter on
 * π_base (`lora.r`, `lora.alpha`; its targets are the run's `lora.targetModules`).
 */
export type GFlowNetConfig = Decoded<t.TypeOf<typeof gflownetCodec>>;

/** `codec`, or absent (undefined); a bad value gets `codec`'s message, not the union's. */
const optional = <A>(codec: t.Type<A, A, unknown>): t.Type<A | undefined, A | undefined, unknown> =>
  new t.Type<A | undefined, A | undefined, unknown>(
    `optional(${codec.name})`,
    (u): u is A | undefined => u === undefined || codec.is(u),
    (u, c) => (u === undefined ? t.success(undefined) : codec.validate(u, c)),
    t.identity,
  );

/** The keys `generation` gains, resolved: `sampler` and `gflownet`. */
export const generationSamplerProps = {
  sampler: oneOf(loserSamplers),
  gflownet: withDefault(gflownetCodec, {}),
};

/** `generation.sampler` as written: absent, it is resolved from `geometricSampling.enabled` ({@link resolveLoserSampler}). */
export const rawLoserSampler: t.Type<LoserSampler | undefined, LoserSampler | undefined, unknown> = optional(oneOf(loserSamplers));

/**
 * The sampler a config asks for: `generation.sampler` when given, else "resample" with
 * `geometricSampling.enabled` and "plain" without.
 *
 * @example
 * ```ts
 * resolveLoserSampler(undefined, { enabled: true }); // "resample"
 * resolveLoserSampler("gflownet", { enabled: false }); // "gflownet"
 * ```
 */
export const resolveLoserSampler = (sampler: LoserSampler | undefined, geometric: { readonly enabled: boolean }): LoserSampler =>
  sampler ?? (geometric.enabled ? "resample" : "plain");

/**
 * The cross-field rules of the sampler keys: `geometricSampling.enabled` agrees with
 * `generation.sampler`, and the samplers of the geometric mixture need `reference: "geometric"`.
 *
 * @example
 * ```ts
 * samplerIssues({ sampler: "gflownet" }, { enabled: true }, "geometric");
 * // [{ path: ["geometricSampling", "enabled"], message: 'is true, which selects the "resample" sampler, but generation.sampler is "gflownet"' }]
 * ```
 */
export const samplerIssues = (
  generation: { readonly sampler?: LoserSampler; readonly engine?: string; readonly seeding?: string | null },
  geometric: { readonly enabled: boolean },
  reference: string,
  method = "spin",
): CheckIssue[] => {
  const sampler = resolveLoserSampler(generation.sampler, geometric);
  // (geometricSampling.enabled with method "sppo" is sppo-config.ts's rule)
  if (method === "sppo" && sampler !== "plain" && !geometric.enabled) {
    return [{ path: ["generation", "sampler"], message: 'must be "plain" with method "sppo" (it samples from π_{t−1} alone)' }];
  }
  // (geometricSampling.enabled with the openai engine is config-engines.ts's rule)
  if (generation.engine === "openai" && sampler !== "plain" && !geometric.enabled) {
    return [{
      path: ["generation", "sampler"],
      message: `"${sampler}" needs generation.engine "local": ` +
        (sampler === "gflownet" ? "the fitted sampler is an adapter of this run, not an iterate the server serves" : "it needs two models' logits at every step"),
    }];
  }
  if (geometric.enabled && sampler !== "resample") {
    return [{
      path: ["geometricSampling", "enabled"],
      message: `is true, which selects the "resample" sampler, but generation.sampler is "${sampler}"`,
    }];
  }
  // (with geometricSampling.enabled config-engines.ts says the same)
  if (generation.seeding === "example" && sampler === "resample" && !geometric.enabled) {
    return [{ path: ["generation", "seeding"], message: '"example" cannot be combined with the "resample" sampler (it draws K candidates per prompt)' }];
  }
  // (geometricSampling.enabled without a geometric reference is config.ts's own rule)
  if (!geometric.enabled && sampler !== "plain" && reference !== "geometric") {
    return [{
      path: ["generation", "sampler"],
      message: `"${sampler}" samples the geometric mixture and needs reference "geometric" (got reference "${reference}")`,
    }];
  }
  return [];
};


/**
 * The config as its fingerprint sees it: `generation.sampler` left out when `geometricSampling`
 * implies it, and `generation.gflownet` when the sampler is not "gflownet" — keys that change
 * nothing a run computes, so a run folder started before these keys existed still resumes, and a
 * plain run's fingerprint does not depend on GFlowNet settings it never uses.
 *
 * @example
 * ```ts
 * import { resolveRunConfig } from "./config.ts";
 * const c = resolveRunConfig({ name: "x", data: { train: "a.jsonl" } });
 * (samplerFingerprintView(c).generation as Record<string, unknown>).sampler; // undefined: "plain" is implied
 * ```
 */
export const samplerFingerprintView = (config: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const { sampler, gflownet, ...rest } = config.generation as GenerationSamplerConfig;
  const generation: Record<string, unknown> = { ...rest };
  if (sampler !== resolveLoserSampler(undefined, config.geometricSampling as { enabled: boolean })) generation.sampler = sampler;
  if (sampler === "gflownet") generation.gflownet = gflownet;
  return { ...config, generation };
};
