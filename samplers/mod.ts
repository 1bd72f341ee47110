/**
 * Samplers: the opponent window of self-play (history length h, fictitious play) and the
 * assignment of opponents to SFT examples, batched next-token sampling (temperature, top-k, top-p,
 * min-p, greedy) on the pure seeded rng, and geometric-mixture sampling with the exact
 * sequence-level correction (importance weights Π_t Z_t and resampling).
 *
 * @example
 * ```ts
 * import { assignOpponents, opponentWindow, sampleNextToken } from "./samplers/mod.ts";
 * import { rngFromSeed } from "./core/rng.ts";
 * const window = opponentWindow([{ index: 0, id: "base" }, { index: 1, id: "it1" }], "all");
 * const { pairs, rng } = assignOpponents(rngFromSeed(7), 100, window, "per-example");
 * ```
 *
 * @module
 */
export {
  type AssignmentMode,
  assignOpponents,
  type EqualShareOptions,
  type GenerationPlan,
  type HistoryLength,
  type Iterate,
  type OpponentAssignment,
  type OpponentPair,
  type OpponentWindow,
  opponentWindow,
  planGenerations,
  type StoredGenerations,
} from "./history.ts";
export {
  argmaxLowest,
  filterLogits,
  logSumExpRow,
  type ResolvedSamplingOptions,
  resolveSamplingOptions,
  samplingLogProbs,
  type SamplingOptions,
} from "./filters.ts";
export { type SampledTokens, sampleLogitRows, sampleNextToken } from "./token.ts";
export {
  type GeometricCandidate,
  type GeometricMixture,
  geometricMixtureLogits,
  importanceResample,
  resampleGeometric,
  type ResampleMethod,
  type ResampleResult,
} from "./geometric.ts";
export { geometricTerminalReward, type SubTbInputs, type SubTbOptions, subTrajectoryBalance } from "./subtb.ts";
