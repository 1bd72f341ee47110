/**
 * One preference-optimization gradient: policy log-probs of the chosen and rejected responses
 * (one forward over both, through core/logprob), the reference log-probs (pre-computed numbers, or a
 * no-gradient forward of a reference policy on the same sequences), a loss from the registry, and
 * the gradient of its batch mean with respect to the policy's trainable variables.
 *
 * This is the computation that the benchmark times and that every data-parallel worker runs on
 * its shard. It makes no host round trip: the loss and the gradients stay on the backend.
 *
 * @example
 * ```ts
 * import { lossRegistry } from "../losses/registry.ts";
 * import { preferenceGradients } from "./preference-step.ts";
 * const out = preferenceGradients(policy, reference, batch, { loss: lossRegistry.get("sigmoid"), lossParams: { beta: 0.1 } });
 * optimizer.step(out.grads);
 * console.log(await out.loss.data());
 * disposePreferenceGradients(out);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { tfjsOps } from "../backends/tfjs.ts";
import type { AnyLoss } from "../losses/types.ts";
import type { Policy } from "../models/policy.ts";

/** A batch of preference pairs as token ids; row i is (prompts[i], chosen[i], rejected[i]). */
export interface PreferenceBatch {
  /** Prompt token ids of each pair (at least one token each). */
  readonly prompts: readonly (readonly number[])[];
  /** Chosen (winner) completion token ids. */
  readonly chosen: readonly (readonly number[])[];
  /** Rejected (loser) completion token ids. */
  readonly rejected: readonly (readonly number[])[];
  /** Pre-computed reference Σ log p of each chosen completion (α-SPIN's mixed reference). */
  readonly refChosen?: readonly number[];
  /** Pre-computed reference Σ log p of each rejected completion. */
  readonly refRejected?: readonly number[];
}

/** Which loss to use and with what parameters. */
export interface PreferenceLossOptions {
  /** A loss from the registry, e.g. `lossRegistry.get("sigmoid")`. */
  readonly loss: AnyLoss;
  /** Its parameters (defaults where absent), e.g. `{ beta: 0.1 }`. */
  readonly lossParams?: Readonly<Record<string, unknown>>;
  /**
   * Pairs per forward/backward pass (default: the whole batch). Smaller passes need less memory
   * (tfjs keeps every intermediate of a pass until its gradient is done); their gradients, scaled
   * by each pass's share of the pairs, add up to the gradient of the whole batch's mean loss.
   */
  readonly microBatch?: number;
}

/** The result of {@link preferenceGradients}; every tensor belongs to the caller. */
export interface PreferenceGradients {
  /** The batch-mean loss, a scalar. */
  readonly loss: tf.Scalar;
  /** Gradients, one per trainable variable of the policy, in `policy.trainableVariables()` order. */
  readonly grads: tf.Tensor[];
  /** Policy Σ log p of the chosen and rejected completions, [n] each (cut from the gradient). */
  readonly policyChosen: tf.Tensor1D;
  readonly policyRejected: tf.Tensor1D;
  /** Reference Σ log p used, [n] each. */
  readonly refChosen: tf.Tensor1D;
  readonly refRejected: tf.Tensor1D;
  /** Completion token counts, [n] each (for length-normalized losses). */
  readonly chosenTokens: tf.Tensor1D;
  readonly rejectedTokens: tf.Tensor1D;
}

const checkBatch = (batch: PreferenceBatch): number => {
  const n = batch.prompts.length;
  if (n === 0) throw new RangeError("preference batch: no pairs");
  if (batch.chosen.length !== n || batch.rejected.length !== n) {
    throw new RangeError(
      `preference batch: ${n} prompts, ${batch.chosen.length} chosen and ${batch.rejected.length} rejected responses`,
    );
  }
  for (
    const [name, values] of [["refChosen", batch.refChosen], ["refRejected", batch.refRejected]] as const
  ) {
    if (values !== undefined && values.length !== n) {
      throw new RangeError(`preference batch: ${name} has ${values.length} values for ${n} pairs`);
    }
  }
  if ((batch.refChosen === undefined) !== (batch.refRejected === undefined)) {
    throw new RangeError("preference batch: give both refChosen and refRejected, or neither");
  }
  return n;
};

/**
 * Reference Σ log p of the chosen and rejected completions ([n] each), without a gradient: the
 * batch's pre-computed values when it has them, else one forward of `reference` over both.
 *
 * @example
 * ```ts
 * const { refChosen, refRejected } = referenceLogProbs(reference, batch);
 * ```
 */
export const referenceLogProbs = (
  reference: Policy | null,
  batch: PreferenceBatch,
): { refChosen: tf.Tensor1D; refRejected: tf.Tensor1D } => {
  const n = checkBatch(batch);
  if (batch.refChosen !== undefined && batch.refRejected !== undefined) {
    return { refChosen: tf.tensor1d([...batch.refChosen]), refRejected: tf.tensor1d([...batch.refRejected]) };
  }
  if (reference === null) {
    throw new RangeError("preference batch: no pre-computed reference log-probs and no reference policy");
  }
  return tf.tidy(() => {
    const { logProbs } = reference.sequenceLogProbsTensor(
      [...batch.prompts, ...batch.prompts],
      [...batch.chosen, ...batch.rejected],
    );
    return {
      refChosen: tf.slice(logProbs, [0], [n]) as tf.Tensor1D,
      refRejected: tf.slice(logProbs, [n], [n]) as tf.Tensor1D,
    };
  });
};

/** One forward/backward pass over the whole of `batch`. */
const singlePass = (
  policy: Policy,
  reference: Policy | null,
  batch: PreferenceBatch,
  options: PreferenceLossOptions,
  variables: tf.Variable[],
): PreferenceGradients => {
  const n = batch.prompts.length;
  const { refChosen, refRejected } = referenceLogProbs(reference, batch);
  const compute = options.loss.compute(tfjsOps);
  const kept: tf.Tensor1D[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const { logProbs, tokenCounts } = policy.sequenceLogProbsTensor(
      [...batch.prompts, ...batch.prompts],
      [...batch.chosen, ...batch.rejected],
      { training: true },
    );
    const half = (t: tf.Tensor1D, start: number) => tf.slice(t, [start], [n]) as tf.Tensor1D;
    const pair = {
      policyChosen: half(logProbs, 0),
      policyRejected: half(logProbs, n),
      refChosen,
      refRejected,
      chosenTokens: half(tokenCounts, 0),
      rejectedTokens: half(tokenCounts, n),
    };
    for (const t of [pair.policyChosen, pair.policyRejected, pair.chosenTokens, pair.rejectedTokens]) {
      kept.push(tf.keep(tf.clone(t)));
    }
    return tf.mean(compute(pair, options.lossParams as never).loss) as tf.Scalar;
  }, variables);
  const [policyChosen, policyRejected, chosenTokens, rejectedTokens] = kept;
  return {
    loss: value,
    grads: variables.map((v) => grads[v.name]),
    policyChosen,
    policyRejected,
    refChosen,
    refRejected,
    chosenTokens,
    rejectedTokens,
  };
};

const sliceBatch = (batch: PreferenceBatch, s: number, e: number): PreferenceBatch => ({
  prompts: batch.prompts.slice(s, e),
  chosen: batch.chosen.slice(s, e),
  rejected: batch.rejected.slice(s, e),
  ...(batch.refChosen !== undefined ? { refChosen: batch.refChosen.slice(s, e) } : {}),
  ...(batch.refRejected !== undefined ? { refRejected: batch.refRejected.slice(s, e) } : {}),
});

/**
 * Loss and gradients of one preference batch for `policy` (see the module doc), in passes of
 * `options.microBatch` pairs. `reference` is used only when the batch carries no pre-computed
 * reference log-probs.
 *
 * @example
 * ```ts
 * const out = preferenceGradients(policy, null, batchWithRefs, { loss: lossRegistry.get("ipo"), microBatch: 2 });
 * ```
 */
export const preferenceGradients = (
  policy: Policy,
  reference: Policy | null,
  batch: PreferenceBatch,
  options: PreferenceLossOptions,
): PreferenceGradients => {
  const n = checkBatch(batch);
  const variables = policy.trainableVariables();
  if (variables.length === 0) {
    throw new RangeError("preferenceGradients: the policy has no trainable variables");
  }
  const micro = options.microBatch ?? n;
  if (!Number.isInteger(micro) || micro < 1) {
    throw new RangeError(`preferenceGradients: microBatch must be a positive integer, got ${micro}`);
  }
  if (micro >= n) return singlePass(policy, reference, batch, options, variables);
  const parts: PreferenceGradients[] = [];
  let grads: tf.Tensor[] | null = null, loss: tf.Scalar | null = null;
  for (let s = 0; s < n; s += micro) {
    const e = Math.min(n, s + micro), share = (e - s) / n;
    const part = singlePass(policy, reference, sliceBatch(batch, s, e), options, variables);
    const previous: tf.Tensor[] | null = grads, previousLoss: tf.Scalar | null = loss;
    const summed: tf.Tensor[] = tf.tidy((): tf.Tensor[] => [
      ...part.grads.map((
        g,
        i,
      ) => (previous === null ? tf.mul(g, share) : tf.add(previous[i], tf.mul(g, share)))),
      previousLoss === null ? tf.mul(part.loss, share) : tf.add(previousLoss, tf.mul(part.loss, share)),
    ]);
    grads = summed.slice(0, -1);
    loss = summed[summed.length - 1] as tf.Scalar;
    tf.dispose([
      ...(previous ?? []),
      ...(previousLoss === null ? [] : [previousLoss]),
      ...part.grads,
      part.loss,
    ]);
    parts.push(part);
  }
  const joined = (pick: (p: PreferenceGradients) => tf.Tensor1D): tf.Tensor1D => {
    const out = tf.concat(parts.map(pick)) as tf.Tensor1D;
    tf.dispose(parts.map(pick));
    return out;
  };
  return {
    loss: loss!,
    grads: grads!,
    policyChosen: joined((p) => p.policyChosen),
    policyRejected: joined((p) => p.policyRejected),
    refChosen: joined((p) => p.refChosen),
    refRejected: joined((p) => p.refRejected),
    chosenTokens: joined((p) => p.chosenTokens),
    rejectedTokens: joined((p) => p.rejectedTokens),
  };
};

/**
 * Free every tensor of a {@link preferenceGradients} result.
 *
 * @example
 * ```ts
 * disposePreferenceGradients(out);
 * ```
 */
export const disposePreferenceGradients = (out: PreferenceGradients): void => {
  tf.dispose([
    out.loss,
    ...out.grads,
    out.policyChosen,
    out.policyRejected,
    out.refChosen,
    out.refRejected,
    out.chosenTokens,
    out.rejectedTokens,
  ]);
};

/**
 * TRL-named batch metrics of a step (means over the pairs) from the loss's own metrics, read back
 * to the host: `loss`, `rewards/chosen`, `rewards/rejected`, `rewards/margins`,
 * `rewards/accuracies`, `logps/chosen`, `logps/rejected`, and any loss-specific ones.
 *
 * @example
 * ```ts
 * const metrics = await preferenceStepMetrics(out, { loss: lossRegistry.get("sigmoid") }); // { loss: 0.69, ... }
 * ```
 */
export const preferenceStepMetrics = async (
  out: PreferenceGradients,
  options: PreferenceLossOptions,
): Promise<Record<string, number>> => {
  const names: string[] = [];
  const means = tf.tidy(() => {
    const pair = {
      policyChosen: out.policyChosen,
      policyRejected: out.policyRejected,
      refChosen: out.refChosen,
      refRejected: out.refRejected,
      chosenTokens: out.chosenTokens,
      rejectedTokens: out.rejectedTokens,
    };
    const { metrics } = options.loss.compute(tfjsOps)(pair, options.lossParams as never);
    const values: tf.Tensor[] = [];
    for (const [name, t] of Object.entries(metrics)) {
      names.push(name);
      values.push(tf.mean(t));
    }
    return tf.stack([out.loss, ...values]);
  });
  const data = await means.data();
  means.dispose();
  const result: Record<string, number> = { loss: data[0] };
  names.forEach((name, i) => (result[name] = data[i + 1]));
  return result;
};
