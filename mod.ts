/**
 * alpha-spin: regularized self-play fine-tuning (α-SPIN) of language models, for Deno and Node.
 *
 * The public API, by layer (docs/architecture.md shows the layers and the arrows between them).
 * Everything else stays reachable by its module path in the source tree; the property kit for
 * testing your own losses is the `alpha-spin/testing` entry point.
 *
 * Run α-SPIN (selfplay/):
 *
 * @example
 * ```ts
 * import { runSelfPlay, type SelfPlayEvent } from "alpha-spin";
 * const result = await runSelfPlay({
 *   config: { name: "demo", model: "embedded", data: { train: "train.jsonl", schema: "prompt-completion" }, iterations: 2, alpha: 0.9 },
 *   onEvent: (e: SelfPlayEvent) => { if (e.type === "metrics") console.log(e.row.loss); },
 * });
 * console.log(result.iterateDirs);
 * ```
 *
 * Train one step yourself (train/), on a loss of the registry (losses/):
 *
 * @example
 * ```ts
 * import { AdamW, GradientAccumulator, createTransformer, lossRegistry, makeConfig, localGradients, optimizerStep, TransformerPolicy } from "alpha-spin";
 * const policy = new TransformerPolicy(createTransformer(makeConfig({ family: "gpt2", vocabSize: 32, hiddenSize: 16, numLayers: 1, numHeads: 2 }), { seed: 1 }));
 * const variables = policy.trainableVariables();
 * const step = { loss: lossRegistry.get("sigmoid"), lossParams: { beta: 0.1 } };
 * const pairs = [{ promptIds: [1, 2], chosenIds: [3], rejectedIds: [4], lpRefChosen: -3.4, lpRefRejected: -3.5 }];
 * const out = await optimizerStep(localGradients(step, { policy, variables }), [pairs], new GradientAccumulator(variables), new AdamW(variables, {}), 1e-3);
 * console.log(out.loss, out.gradNorm);
 * ```
 *
 * The mathematics (core/) on the exact reference backend (backends/):
 *
 * @example
 * ```ts
 * import { geometricReference, klWeightsToBetaAlpha, referenceOps } from "alpha-spin";
 * const { beta, alpha } = klWeightsToBetaAlpha(0.1, 0.1); // β' = 0.2, α = 0.5
 * const lpRef = geometricReference(referenceOps)(alpha, referenceOps.fromArray([-3], [1]), referenceOps.fromArray([-5], [1]));
 * console.log(beta, await referenceOps.toArray(lpRef)); // 0.2 [-4]
 * ```
 *
 * Models, tokenizers and generation (models/):
 *
 * @example
 * ```ts
 * import { generate, loadBackend, loadHfModel, loadTokenizer, TransformerPolicy } from "alpha-spin";
 * await loadBackend("wasm");
 * const policy = new TransformerPolicy(await loadHfModel("./SmolLM-135M"));
 * const tokenizer = await loadTokenizer("./SmolLM-135M");
 * const out = await generate(policy, [tokenizer.encode("Hello")], { maxNewTokens: 16, seed: 1 });
 * console.log(tokenizer.decode(out.completions[0]));
 * ```
 *
 * @module
 */

// core/: tensors, log-probs, the mixtures, random streams.
export type { Shape, TensorOps } from "./core/tensor.ts";
export { sequenceLogProbs, tokenLogProbs } from "./core/logprob.ts";
export {
  arithmeticReference,
  betaAlphaToKlWeights,
  geometricLogPartition,
  geometricReference,
  klWeightsToBetaAlpha,
} from "./core/mixture.ts";
export { forkRng, type Rng, rngFromSeed } from "./core/rng.ts";
export { ConfigError } from "./core/config.ts";

// backends/: tfjs backends and the exact reference backend.
export { referenceOps, type RefTensor } from "./backends/reference.ts";
export { tfjsOps } from "./backends/tfjs.ts";
export { type BackendRequest, BackendUnavailableError, type LoadedBackend } from "./backends/types.ts";
export { loadBackend, type LoadBackendOptions } from "./backends/load.ts";
export { listBackends } from "./backends/list.ts";

// losses/: the registry, the α-SPIN objective, and what a new loss is made of.
export type { AnyLoss, Loss, LossOutput, PreferencePair } from "./losses/types.ts";
export { paramsCodec } from "./losses/params.ts";
export { nonNegative, numberIn, positive } from "./core/config.ts"; // the parameter codecs, shared with the run config
export { defineLoss, logRatios, mulScalar, negLogSigmoid, preferenceMetrics } from "./losses/define.ts";
export { createLossRegistry, lossRegistry, type LossRegistry } from "./losses/registry.ts";
export { alphaSpin, type AlphaSpinInputs, alphaSpinRefusal } from "./losses/alpha-spin.ts";

// samplers/: the opponent window, the geometric-mixture sampler.
export {
  assignOpponents,
  type HistoryLength,
  type Iterate,
  type OpponentWindow,
  opponentWindow,
} from "./samplers/history.ts";
export { resampleGeometric } from "./samplers/geometric.ts";
export type { SamplingOptions } from "./samplers/filters.ts";

// data/: SFT data and the preference exports.
export { loadSftExamples, type LoadSftOptions, type SftExample } from "./data/sft.ts";
export {
  type PreferenceRecord,
  readSpinJsonl,
  readTrlDpoJsonl,
  writeSpinJsonl,
  writeTrlDpoJsonl,
} from "./data/export.ts";
export { makeSyntheticTask, type SyntheticTask, type SyntheticTaskOptions } from "./data/synthetic.ts";
export { DataError } from "./data/jsonl.ts";

// models/: the transformer, LoRA, checkpoints, tokenizers, generation.
export { makeConfig, type ModelConfig } from "./models/config.ts";
export { createTransformer, Transformer } from "./models/transformer.ts";
export { type Policy, TransformerPolicy } from "./models/policy.ts";
export { createLoraAdapter, LoraAdapter, type LoraOptions } from "./models/lora.ts";
export { loadHfModel, saveHfModel } from "./models/hf-load.ts";
export { loadTokenizer } from "./models/hf-tokenizer.ts";
export type { Tokenizer } from "./models/tokenizer.ts";
export { generate, type GenerateOptions, type Generation } from "./models/generate.ts";
export { readPeftAdapter, writePeftAdapter } from "./models/peft.ts";
export { embeddedModelDir } from "./models/embedded.ts";

// train/: the one training step, the optimizer, one iteration's training, the worker pool.
export {
  alphaSpinGradients,
  type GradientSource,
  localGradients,
  optimizerStep,
  type OptimizerStepResult,
  type StepSpec,
  type TrainingPair,
} from "./train/step.ts";
export { AdamW, type AdamWOptions, GradientAccumulator } from "./train/optim.ts";
export { learningRateAt, makeSchedule } from "./train/schedule.ts";
export { NonFiniteLossError, trainIteration, type TrainIterationOptions } from "./train/train.ts";
export { createWorkerPool, type WorkerPool } from "./train/pool.ts";
export type { MetricsRow } from "./train/checkpoint.ts";

// selfplay/: the loop and its run config.
export { runSelfPlay, type RunSelfPlayOptions, type SelfPlayResult } from "./selfplay/loop.ts";
export { decodeRunConfig, iterationSettings, resolveRunConfig, type RunConfig } from "./selfplay/config.ts";
export { DecodedRun } from "./selfplay/decoded-run.ts";
export type { SelfPlayEvent, SelfPlayEventHandler } from "./selfplay/events.ts";
export type { OracleAnswer, PreferenceOracle, PreferenceQuery } from "./selfplay/oracle.ts";

// eval/: metrics of trained policies.
export { exactMatchEval, heldOutNll, klToKnownDistribution } from "./eval/evaluate.ts";
