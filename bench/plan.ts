/**
 * How much each (backend, configuration) case measures: repetitions budgeted so the default run
 * (tiny, small, medium) finishes in under ten minutes on a 2-core machine, the cases that are not
 * measured (with the reason), and each case's time limit.
 *
 * @example
 * ```ts
 * import { planOf } from "./plan.ts";
 * planOf({ slow: false, config: "small", quick: false }); // { steps: 3, loraSteps: 3, ... }
 * ```
 *
 * @module
 */
import { type BenchConfigName, benchConfigs, generationNewTokens } from "./configs.ts";
import type { MeasurePlan } from "./measure.ts";

/**
 * The plan of one case. `slow` backends (the JavaScript cpu backend, a software WebGPU adapter)
 * run tiny only, one timed repetition each. Generation times are the minimum over `generateRuns`
 * runs each of L and 2L (one run of the small config is a third of a second, so a single one can be
 * off by a scheduling hiccup). medium and s135m train one pair per forward/backward pass (gradients
 * accumulated over the batch): a pass over the whole batch needs more than wasm's 4 GiB heap.
 * s135m measures the LoRA step, log-probs and generation only (full fine-tuning of 135M parameters
 * is not what a user of this model runs), once each, with no untimed log-prob pass and no 2L
 * generation run: one LoRA step of 4 096 tokens is about 2·10¹² FLOPs.
 *
 * @example
 * ```ts
 * planOf({ slow: false, config: "s135m", quick: false }).skip; // ["dpo_step"]
 * ```
 */
export const planOf = (options: { slow: boolean; config: BenchConfigName; quick: boolean }): MeasurePlan => {
  if (options.slow) return { steps: 1, loraSteps: 1, logprobReps: 1, generateRuns: 1 };
  const quick = options.quick;
  switch (options.config) {
    case "tiny":
      return quick
        ? { steps: 5, loraSteps: 3, logprobReps: 2, generateRuns: 1 }
        : { steps: 100, loraSteps: 10, logprobReps: 5, generateRuns: 3 };
    case "small":
      return quick
        ? { steps: 1, loraSteps: 1, logprobReps: 1, generateRuns: 1 }
        : { steps: 3, loraSteps: 3, logprobReps: 3, generateRuns: 3 };
    case "medium":
      return quick
        ? { steps: 1, loraSteps: 1, logprobReps: 1, generateRuns: 1, microBatch: 1 }
        : { steps: 2, loraSteps: 2, logprobReps: 2, generateRuns: 2, microBatch: 1 };
    case "s135m":
      return {
        steps: 1,
        loraSteps: 1,
        logprobReps: 1,
        generateRuns: 1,
        newTokens: generationNewTokens(benchConfigs.s135m),
        microBatch: 1,
        warmup: false,
        skip: ["dpo_step"],
      };
  }
};

/**
 * Why a case is not measured, or undefined when it is.
 *
 * @example
 * ```ts
 * skipReason("cpu", "small", false); // "the cpu backend runs plain JavaScript kernels ..."
 * ```
 */
export const skipReason = (
  backend: string,
  config: BenchConfigName,
  software: boolean,
): string | undefined => {
  if (config === "tiny") return undefined;
  if (backend === "cpu") {
    return "the cpu backend runs plain JavaScript kernels (about 1 GFLOP/s): one step of this config takes " +
      "minutes, which does not fit the 10-minute run";
  }
  if (backend === "webgpu" && software) {
    return "the WebGPU adapter is software (lavapipe, about 1 GFLOP/s): only tiny fits the 10-minute run";
  }
  return undefined;
};

/**
 * Seconds after which a case is stopped and recorded as timed out: `override` (--case-timeout)
 * when given, else 480 s, or 1500 s for s135m.
 *
 * @example
 * ```ts
 * caseTimeoutOf("s135m", null); // 1500
 * ```
 */
export const caseTimeoutOf = (config: BenchConfigName | null, override: number | null): number =>
  override ?? (config === "s135m" ? 1500 : 480);
