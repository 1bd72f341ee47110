/**
 * The α-SPIN loop (the paper's Algorithm 2): the run config, the iterate store, loser generation,
 * the reference pre-compute, resume, and `runSelfPlay`, which runs it all (training itself is
 * train/'s `trainIteration`).
 *
 * @example
 * ```ts
 * import { runSelfPlay, type SelfPlayEvent } from "./mod.ts";
 * await runSelfPlay({
 *   config: { name: "demo", model: "./tiny-gpt2", data: { train: "ultrachat.jsonl" }, iterations: 3, h: 2, alpha: 0.9 },
 *   onEvent: (e: SelfPlayEvent) => { if (e.type === "metrics") console.log(e.row["rewards/margins"]); },
 * });
 * ```
 *
 * @module
 */
export * from "./config.ts";
export { runIteration, runSelfPlay, type RunSelfPlayOptions, type SelfPlayResult } from "./loop.ts";
export type { IterationStart, LoserPair, Losers, Opponents, References, RunContext, Trained } from "./phases/state.ts";
export { finetuneSpec, prepareRun, type PrepareRunOptions, type PreparedRun } from "./setup.ts";
export { DecodedRun } from "./decoded-run.ts";
export type { Phase, SelfPlayEvent, SelfPlayEventHandler, WindowMember } from "./events.ts";
export {
  differingPaths,
  type IterationMarker,
  iterationMarkerName,
  IterateStore,
  type RunFingerprints,
  type RunManifest,
  RunStoreError,
} from "./store.ts";
export { emaId, iterateId, iterateParamsDir, RunIterates } from "./iterates.ts";
export {
  checkTokenizerFits,
  examplesFingerprint,
  type PreparedExample,
  type PreparedExamples,
  prepareExamples,
  type PrepareOptions,
  truncateLoser,
} from "./examples.ts";
export {
  type GenerateLosersOptions,
  generateLosers,
  type GenerationRow,
  type LoadedPolicy,
  samplerKey,
} from "./generation.ts";
export {
  computeReferences,
  type ComputeReferencesOptions,
  type PairToScore,
  type ReferenceCache,
  referenceFingerprint,
  type ReferenceLogProbs,
  type ScoringModel,
} from "./reference.ts";
export { folderFingerprint, modelFingerprint } from "./fingerprint.ts";
export {
  type GenerationSamplerConfig,
  type GFlowNetConfig,
  gflownetDefaults,
  type LoserSampler,
  loserSamplers,
} from "./sampler-config.ts";
export {
  exactTarget,
  type GFlowNetFitRecord,
  type GFlowNetLoserSampler,
  gflownetSamplerKey,
  prepareGFlowNetSampler,
} from "./gflownet-sampler.ts";
export { runSppoIteration } from "./sppo-loop.ts";
export { type BtOracleConfig, type OracleSetting, type SppoConfig, sppoBeta } from "./sppo-config.ts";
export { askOracle, exactPreference, loadOracle, type OracleAnswer, type PreferenceOracle, type PreferenceQuery } from "./oracle.ts";
export { type SampledPair, samplePairs, sppoPairs, upperIndex, winRates } from "./win-rates.ts";
export { listsByPrompt } from "./listwise.ts";
