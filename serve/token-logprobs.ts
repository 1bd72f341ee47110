/**
 * Per-token log-probabilities of a token sequence under a policy, for `echo` + `logprobs` and vLLM's
 * `prompt_logprobs`: entry i is log p(ids[i] | ids[<i]) (null for i = 0, which has no context) and
 * the k most likely tokens at that position with their log-probs.
 *
 * The last hidden states go through the head in chunks of positions, so a long prompt with a large
 * vocabulary does not need a [T, V] logits tensor at once. Log-softmax is float32, as in
 * core/logprob.ts, so the summed entries equal `alpha-spin score` to float32 rounding.
 *
 * @example
 * ```ts
 * import { tokenLogProbs } from "./token-logprobs.ts";
 * import type { TransformerPolicy } from "../models/policy.ts";
 * declare const policy: TransformerPolicy;
 * const { logprobs, top } = await tokenLogProbs(policy, [258, 72, 105], 2);
 * logprobs; // [null, -5.1, -5.6]
 * top[1];   // [{ id: 33, logprob: -4.2 }, { id: 72, logprob: -5.1 }]
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { TransformerPolicy } from "../models/policy.ts";

/** One candidate token and its log-probability. */
export interface TokenLogProb {
  readonly id: number;
  readonly logprob: number;
}

/** What {@link tokenLogProbs} returns, one entry per input token. */
export interface SequenceTokenLogProbs {
  /** log p(ids[i] | ids[<i]); null for the first token. */
  readonly logprobs: (number | null)[];
  /** The `k` most likely tokens at each position, most likely first; null for the first token. */
  readonly top: (TokenLogProb[] | null)[];
  /** 1 + the number of tokens more likely than ids[i] (vLLM's rank); null for the first token. */
  readonly ranks: (number | null)[];
}

/** Positions per head call: bounds the logits tensor to chunk × vocab floats. */
const chunk = 256;

/**
 * The log-probs of every token of `ids` after the first, and the top `k` at each position (k = 0:
 * none).
 *
 * @example
 * ```ts
 * import type { TransformerPolicy } from "../models/policy.ts";
 * declare const policy: TransformerPolicy;
 * declare const promptIds: number[];
 * declare const completionIds: number[];
 * const { logprobs } = await tokenLogProbs(policy, promptIds.concat(completionIds), 0);
 * const sum = logprobs.slice(promptIds.length).reduce((a, b) => a! + b!, 0);
 * ```
 */
export const tokenLogProbs = async (
  policy: TransformerPolicy,
  ids: readonly number[],
  k: number,
): Promise<SequenceTokenLogProbs> => {
  const t = ids.length;
  const logprobs: (number | null)[] = [null],
    top: (TokenLogProb[] | null)[] = [null],
    ranks: (number | null)[] = [null];
  if (t < 2) return { logprobs, top, ranks };
  const vocab = policy.config.vocabSize, hiddenSize = policy.config.hiddenSize, kk = Math.min(k, vocab);
  const hidden = tf.tidy(() =>
    policy.model.forward(tf.tensor2d([...ids], [1, t], "int32"), tf.ones([1, t]), {
      adapter: policy.adapter,
      training: false,
    })
  );
  try {
    // Column j's logits predict token j + 1: score columns 0 … t − 2.
    for (let start = 0; start < t - 1; start += chunk) {
      const width = Math.min(chunk, t - 1 - start);
      const [chosen, rank, topValues, topIds] = tf.tidy(() => {
        const logits = policy.model.head(tf.slice(hidden, [0, start, 0], [1, width, hiddenSize])).reshape([
          width,
          vocab,
        ]);
        const logp = tf.logSoftmax(logits);
        const targets = tf.tensor1d(ids.slice(start + 1, start + 1 + width), "int32");
        const picked = tf.gather(logp, targets.reshape([width, 1]), 1, 1).reshape([width]);
        const above = tf.sum(tf.cast(tf.greater(logp, picked.reshape([width, 1])), "int32"), -1);
        const best = tf.topk(logp, kk === 0 ? 1 : kk); // k = 0: computed but not read
        return [picked, above, best.values, best.indices];
      });
      const [c, above, v, i] = await Promise.all([
        chosen.data(),
        rank.data(),
        topValues.data(),
        topIds.data(),
      ]);
      tf.dispose([chosen, rank, topValues, topIds]);
      for (let j = 0; j < width; j++) {
        logprobs.push(c[j]);
        ranks.push(above[j] + 1);
        top.push(Array.from({ length: kk }, (_, r) => ({ id: i[j * kk + r], logprob: v[j * kk + r] })));
      }
    }
  } finally {
    hidden.dispose();
  }
  return { logprobs, top, ranks };
};
