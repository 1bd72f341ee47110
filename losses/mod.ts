/**
 * Preference losses: one file per family, each a value carrying its name, a strict io-ts codec for
 * its parameters with TRL defaults, its invariance flags and `compute(ops)(pair, params)`; the
 * registry; and the α-SPIN objective. The property kit that checks any loss in one line is the
 * `alpha-spin/testing` entry point (testing.ts), so the runtime needs no fast-check.
 *
 * @example
 * ```ts
 * import { referenceOps as ops } from "../backends/reference.ts";
 * import { alphaSpin, lossRegistry } from "./mod.ts";
 * import { checkLossProperties } from "../testing.ts";
 * lossRegistry.names();                                   // ["apo_down", "apo_zero", ...]
 * await checkLossProperties(ops, lossRegistry.get("ipo"));
 * ```
 *
 * @module
 */
export type {
  AnyLoss,
  InputName,
  Loss,
  LossKernel,
  LossOutput,
  ListLoss,
  LossSpec,
  PairExtras,
  PreferencePair,
  ResponseList,
} from "./types.ts";
export { decodeParams, formatParamErrors, paramsCodec, type ParamsProps } from "./params.ts";
export {
  checkPairShapes,
  defineLoss,
  type LogRatios,
  logRatios,
  negLogSigmoid,
  pairInput,
  preferenceMetrics,
  requireInput,
  rewardMetrics,
  mulScalar,
} from "./define.ts";
export { robustLoss, sigmoidLoss, type SigmoidParams } from "./sigmoid.ts";
export { hingeLoss, type HingeParams, slicLoss, type SlicParams } from "./hinge.ts";
export { ipoLoss, type IpoParams, ipoUnnormalizedLoss } from "./ipo.ts";
export { type ExoPairParams, exoPairLoss } from "./exo.ts";
export { ncaPairLoss, type NcaPairParams } from "./nca.ts";
export { bcoPairLoss, type BcoPairParams, type RunningMean, updateRunningMean } from "./bco.ts";
export { sppoHardLoss, sppoLoss, type SppoParams } from "./sppo.ts";
export { apoDownLoss, type ApoParams, apoZeroLoss } from "./apo.ts";
export { discopopLoss, type DiscopopParams } from "./discopop.ts";
export { spacLoss, type SpacParams } from "./spac.ts";
export { type BtRewardParams, btRewardLoss } from "./bt-reward.ts";
export { simpoLoss, type SimpoParams } from "./simpo.ts";
export {
  plackettLuceList,
  plackettLuceListLoss,
  plackettLuceLoss,
  type PlackettLuceParams,
} from "./plackett-luce.ts";
export { builtinLosses, createLossRegistry, lossRegistry, type LossRegistry } from "./registry.ts";
export {
  alphaSpin,
  type AlphaSpinInputs,
  type AlphaSpinOptions,
  type AlphaSpinOutput,
  alphaSpinRefusal,
} from "./alpha-spin.ts";
