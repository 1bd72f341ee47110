/**
 * The listwise form of the training step: a batch whose pairs carry `moreRejected` (further losers
 * of the same prompt, e.g. one per window member) is scored as lists [y_w, y_l, y_l2, …] and trained
 * with the list form of its loss (losses/plackett-luce.ts's `plackettLuceList`), a [B, 1 + K] tensor
 * of log-probs with a mask for prompts with fewer losers. step.ts's `alphaSpinGradients` calls it
 * when its pairs carry `moreRejected`, so the training loop, the pool's workers and
 * gradient accumulation carry lists unchanged (one list is one item of the batch).
 *
 * @example
 * ```ts
 * import type { TrainingPair } from "./step.ts";
 * declare const batch: TrainingPair[];
 * isListBatch(batch); // true when the pairs carry moreRejected
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { tfjsOps } from "../backends/tfjs.ts";
import { plackettLuceListLoss, type PlackettLuceParams } from "../losses/plackett-luce.ts";
import type { AnyLoss, ListLoss, LossOutput } from "../losses/types.ts";
import type { TransformerPolicy } from "../models/policy.ts";
import type { TrainingPair } from "./step.ts";

/** The list form of each loss that has one, by the pairwise loss's registry name. */
const listForms: Readonly<Record<string, ListLoss<PlackettLuceParams>>> = { plackett_luce: plackettLuceListLoss };

/**
 * Whether a batch must be trained as lists: some pair carries `moreRejected` (a list-trained run
 * sets it, empty for a prompt with one loser, on every pair, so all its batches take this path and
 * report the same metrics).
 *
 * @example
 * ```ts
 * isListBatch([]); // false
 * ```
 */
export const isListBatch = (batch: readonly TrainingPair[]): boolean => batch.some((p) => p.moreRejected !== undefined);

/**
 * The list form of `loss`, or a clear error when it has none.
 *
 * @example
 * ```ts
 * import { lossRegistry } from "../losses/registry.ts";
 * listFormOf(lossRegistry.get("plackett_luce")).name; // "plackett_luce"
 * ```
 */
export const listFormOf = (loss: AnyLoss): ListLoss<PlackettLuceParams> => {
  const form = listForms[loss.name];
  if (form === undefined) {
    throw new RangeError(`loss "${loss.name}" has no list form for several losers per prompt (losses with one: ${Object.keys(listForms).join(", ")})`);
  }
  return form;
};

/**
 * The list loss of a batch inside a gradient tape: every response of every list scored in one
 * forward, arranged as [B, 1 + K] (K the longest list's losers; shorter lists padded and masked).
 *
 * @example
 * ```ts
 * import type { TransformerPolicy } from "../models/policy.ts";
 * import { lossRegistry } from "../losses/registry.ts";
 * import type { TrainingPair } from "./step.ts";
 * declare const policy: TransformerPolicy;
 * declare const batch: TrainingPair[];
 * const out = listLossOutput(lossRegistry.get("plackett_luce"), { beta: 0.1 }, policy, batch);
 * ```
 */
export const listLossOutput = (
  loss: AnyLoss,
  lossParams: Readonly<Record<string, unknown>>,
  policy: TransformerPolicy,
  batch: readonly TrainingPair[],
): LossOutput<tf.Tensor> => {
  const lists = batch.map((p) => [
    { ids: p.chosenIds, lpRef: p.lpRefChosen },
    { ids: p.rejectedIds, lpRef: p.lpRefRejected },
    ...(p.moreRejected ?? []),
  ]);
  const width = Math.max(...lists.map((l) => l.length));
  const prompts: (readonly number[])[] = [], completions: (readonly number[])[] = [];
  const index: number[] = [], ref: number[] = [], mask: number[] = [];
  lists.forEach((list, b) => {
    for (let j = 0; j < width; j++) {
      const item = list[j];
      if (item !== undefined) {
        index.push(prompts.length);
        prompts.push(batch[b].promptIds);
        completions.push(item.ids);
      } else index.push(0); // padding: any scored row, masked out by the loss
      ref.push(item?.lpRef ?? 0);
      mask.push(item === undefined ? 0 : 1);
    }
  });
  const scores = policy.sequenceLogProbsTensor(prompts, completions, { training: true });
  const shape: [number, number] = [batch.length, width];
  return listFormOf(loss).compute(tfjsOps)({
    policy: tf.reshape(tf.gather(scores.logProbs, tf.tensor1d(index, "int32")), shape),
    ref: tfjsOps.stopGradient(tf.tensor2d(ref, shape)),
    mask: tf.tensor2d(mask, shape),
  }, lossParams as never);
};
