/**
 * Batched, KV-cached generation from a {@link Policy}, sampling through samplers/token.ts
 * (temperature, top-k, top-p, min-p, greedy), optionally from the token-level geometric mixture of
 * two policies (samplers/geometric.ts), each with its own cache.
 *
 * The loop, per batch of prompts: pad the prompts (left by default; right works too, since positions
 * come from the mask), run them once through the model (prefill) keeping only each row's last
 * position's logits, then repeat: sample one token per row on the host (samplers/token.ts), each
 * row from its own stream forked from the seed (so the samples do not depend on batching or
 * padding), append it, and run the [B, 1] new column through the cache. A row stops at its first EOS (kept in its
 * completion); finished rows are fed a masked pad token until every row has stopped or
 * `maxNewTokens` is reached. One logits read-back per step (two with a mixture).
 *
 * Mixture decoding: with `mixture: { base, alpha }`, the generating policy plays π_prev and `base`
 * plays π_base; each token is drawn from q_t ∝ p_prev^α · p_base^(1−α) (after the sampling filters)
 * and the per-sequence Σ_t log Z_t is returned, the log-weight that turns the token-level mixture
 * into the sequence-level one (see samplers/geometric.ts, `resampleGeometric`).
 *
 * @example
 * ```ts
 * import type { Policy } from "./policy.ts";
 * declare const policy: Policy; // e.g. a TransformerPolicy
 * import { generate } from "./generate.ts";
 * const out = await generate(policy, [[1, 2, 3], [4]], { maxNewTokens: 16, temperature: 0.7, topP: 0.9, seed: 1 });
 * out.completions; // number[][]: new tokens per prompt (the EOS included when reached)
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { tfjsOps } from "../backends/tfjs.ts";
import { forkRng, type Rng, rngFromSeed, splitRng } from "../core/rng.ts";
import { resolveSamplingOptions, type SamplingOptions } from "../samplers/filters.ts";
import { geometricMixtureLogits } from "../samplers/geometric.ts";
import { sampleLogitRows } from "../samplers/token.ts";
import { chunkRanges, padBatch, type PaddingSide } from "./batch.ts";
import type { KvCache } from "./kv-cache.ts";
import type { Policy } from "./policy.ts";

/** Options of {@link generate}. */
export interface GenerateOptions extends SamplingOptions {
  /** Most new tokens per prompt. */
  readonly maxNewTokens: number;
  /** Stop tokens (default: the model config's EOS ids; none = always `maxNewTokens`). */
  readonly eosTokenIds?: number | readonly number[];
  /** Token fed in pad columns (masked, so its value does not matter). Default: config pad, EOS, or 0. */
  readonly padTokenId?: number;
  /** Seed of the sampling rng (ignored when `rng` is given). Default 0. */
  readonly seed?: number;
  /** The sampling rng state; the advanced state is returned. */
  readonly rng?: Rng;
  /**
   * One seed per prompt: row i samples from the stream that a call with `prompts[i]` alone and
   * `seed: rowSeeds[i]` gives its row, whatever the batch (so a batch reproduces one seeded
   * request per prompt, e.g. to a server). Absent: row i samples from a fork of `rng`/`seed`.
   */
  readonly rowSeeds?: readonly number[];
  /** Padding side of the prompt batch (the result does not depend on it). Default "left". */
  readonly paddingSide?: PaddingSide;
  /** Prompts per batch. Default: all at once. */
  readonly batchSize?: number;
  /** Decode from the token-level geometric mixture with `base` (weight 1 − α; this policy weight α). */
  readonly mixture?: { readonly base: Policy; readonly alpha: number };
  /**
   * Called with each sampled token (row = index of the prompt); returning true stops that row there
   * (the token is kept, `finished` is true), e.g. when its text reached a stop string. Lets a server
   * stream tokens as they come.
   */
  readonly onToken?: (row: number, id: number) => boolean | void;
}

/** What {@link generate} returns, one entry per prompt. */
export interface Generation {
  /** The generated tokens, the EOS included when one was reached. */
  readonly completions: number[][];
  /** Whether the row stopped at an EOS or by `onToken` (false: it hit `maxNewTokens`). */
  readonly finished: boolean[];
  /** Σ log-prob of the generated tokens under the sampling distribution (after filters; 0 if greedy). */
  readonly samplingLogProbs: number[];
  /** Σ log-prob of the generated tokens under the unfiltered model (the token-level mixture q with `mixture`). */
  readonly modelLogProbs: number[];
  /** Σ_t log Z_t of the token-level geometric mixture (all 0 without `mixture`). */
  readonly logZ: number[];
  /** The advanced rng (continue from it for the next call). */
  readonly rng: Rng;
}

/** tf.tidy for any result shape (tfjs types its result as a TensorContainer). */
const tidy = <R>(fn: () => R): R => tf.tidy(fn as () => tf.TensorContainer) as R;

const eosList = (policy: Policy, options: GenerateOptions): number[] => {
  const e = options.eosTokenIds ?? policy.config.eosTokenIds;
  return typeof e === "number" ? [e] : [...e];
};

/** Next-token logits of one step for every row: one policy's, or the mixture's log-probs with log Z. */
interface StepLogits {
  readonly logits: tf.Tensor2D;
  readonly logZ: tf.Tensor1D | null;
}

const step = (
  policy: Policy,
  options: GenerateOptions,
  caches: readonly KvCache[],
  ids: tf.Tensor2D,
  mask: tf.Tensor2D,
  lastIndex?: readonly number[],
): StepLogits => {
  const own = policy.decode(ids, mask, caches[0], lastIndex);
  if (options.mixture === undefined) return { logits: own, logZ: null };
  const other = options.mixture.base.decode(ids, mask, caches[1], lastIndex);
  const mixed = geometricMixtureLogits(tfjsOps)(options.mixture.alpha, own, other);
  own.dispose(), other.dispose();
  return { logits: mixed.logProbs as tf.Tensor2D, logZ: mixed.logZ as tf.Tensor1D };
};

/** Per-row results of one batch (the rng is handled by {@link generate}). */
type BatchGeneration = Omit<Generation, "rng">;

const generateBatch = async (
  policy: Policy,
  prompts: readonly (readonly number[])[],
  options: GenerateOptions,
  rowRngs: Rng[],
  firstRow: number,
): Promise<BatchGeneration> => {
  const config = policy.config, eos = eosList(policy, options), vocab = config.vocabSize;
  const padId = options.padTokenId ?? config.padTokenId ?? eos[0] ?? 0;
  const side = options.paddingSide ?? "left";
  const batch = padBatch(prompts, { side, padId, vocabSize: vocab });
  const b = batch.rows;
  if (config.family === "gpt2" && batch.width + options.maxNewTokens - 1 > config.maxPositions) {
    throw new RangeError(
      `generate: ${batch.width} prompt columns + ${options.maxNewTokens} new tokens exceed gpt2's ${config.maxPositions} positions`,
    );
  }
  const completions: number[][] = prompts.map(() => []);
  const finished = new Array<boolean>(b).fill(false);
  const samplingLogProbs = new Array<number>(b).fill(0), modelLogProbs = new Array<number>(b).fill(0);
  const logZ = new Array<number>(b).fill(0);
  const policies = options.mixture === undefined ? [policy] : [policy, options.mixture.base];
  const caches = policies.map((p) => p.newCache());
  try {
    const lastIndex = side === "left" ? undefined : batch.lengths.map((n) => n - 1);
    let current = tidy(() =>
      step(
        policy,
        options,
        caches,
        tf.tensor2d(batch.ids, [b, batch.width], "int32"),
        tf.tensor2d(batch.mask, [b, batch.width]),
        lastIndex,
      )
    );
    for (let t = 0; t < options.maxNewTokens; t++) {
      const [values, z] = await Promise.all([
        current.logits.data(),
        current.logZ === null ? Promise.resolve(null) : current.logZ.data(),
      ]);
      tf.dispose([current.logits, ...(current.logZ === null ? [] : [current.logZ])]);
      const fed = new Int32Array(b).fill(padId), feedMask = new Float32Array(b);
      for (let i = 0; i < b; i++) {
        if (finished[i]) continue;
        // Each row draws from its own stream: the samples do not depend on batching or padding.
        const sampled = sampleLogitRows(
          values.subarray(i * vocab, (i + 1) * vocab),
          1,
          vocab,
          rowRngs[i],
          options,
        );
        rowRngs[i] = sampled.rng;
        const id = sampled.ids[0];
        completions[i].push(id);
        samplingLogProbs[i] += sampled.logProbs[0];
        modelLogProbs[i] += sampled.modelLogProbs[0];
        if (z !== null) logZ[i] += z[i];
        const stopped = options.onToken?.(firstRow + i, id) === true;
        if (eos.includes(id) || stopped) finished[i] = true;
        else (fed[i] = id), (feedMask[i] = 1);
      }
      if (finished.every(Boolean) || t === options.maxNewTokens - 1) break;
      current = tidy(() =>
        step(policy, options, caches, tf.tensor2d(fed, [b, 1], "int32"), tf.tensor2d(feedMask, [b, 1]))
      );
    }
  } finally {
    for (const c of caches) c.dispose();
  }
  return { completions, finished, samplingLogProbs, modelLogProbs, logZ };
};

/**
 * Generate up to `maxNewTokens` tokens after each prompt (each prompt at least one token), batched
 * and KV-cached; see the module doc. Deterministic for a given seed (or rng), backend aside.
 *
 * @example
 * ```ts
 * import type { Policy } from "./policy.ts";
 * declare const policy: Policy, prev: Policy, base: Policy; // e.g. TransformerPolicy values
 * const prompts = [[1, 2, 3], [4]]; // token ids
 * const { completions, finished } = await generate(policy, prompts, { maxNewTokens: 64, greedy: true, eosTokenIds: 2 });
 * const mixed = await generate(prev, prompts, { maxNewTokens: 64, seed: 7, mixture: { base, alpha: 0.5 } });
 * mixed.logZ; // Σ_t log Z_t per sequence, for resampleGeometric
 * ```
 */
export const generate = async (
  policy: Policy,
  prompts: readonly (readonly number[])[],
  options: GenerateOptions,
): Promise<Generation> => {
  if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 1) {
    throw new RangeError(`generate: maxNewTokens must be a positive integer, got ${options.maxNewTokens}`);
  }
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new RangeError(`generate: prompt ${i} is empty (start it with a BOS token)`);
  });
  if (options.mixture !== undefined) {
    const { base, alpha } = options.mixture;
    if (!(alpha >= 0 && alpha <= 1)) {
      throw new RangeError(`generate: mixture alpha must be in [0, 1], got ${alpha}`);
    }
    if (base.config.vocabSize !== policy.config.vocabSize) {
      throw new RangeError(
        `generate: mixture of vocabularies ${policy.config.vocabSize} and ${base.config.vocabSize}`,
      );
    }
  }
  resolveSamplingOptions(options); // fail on a bad option before any model work
  if (options.rowSeeds !== undefined && options.rowSeeds.length !== prompts.length) {
    throw new RangeError(`generate: ${options.rowSeeds.length} rowSeeds for ${prompts.length} prompts`);
  }
  // Row i samples from forkRng(root, i); the caller continues from `next`.
  const [root, next] = splitRng(options.rng ?? rngFromSeed(options.seed ?? 0));
  const out: BatchGeneration = {
    completions: [],
    finished: [],
    samplingLogProbs: [],
    modelLogProbs: [],
    logZ: [],
  };
  for (const [s, e] of chunkRanges(prompts.length, options.batchSize ?? Math.max(prompts.length, 1))) {
    const rowRngs = Array.from({ length: e - s }, (_, i) =>
      options.rowSeeds === undefined ? forkRng(root, s + i) : forkRng(splitRng(rngFromSeed(options.rowSeeds[s + i]))[0], 0));
    const part = await generateBatch(policy, prompts.slice(s, e), options, rowRngs, s);
    out.completions.push(...part.completions);
    out.finished.push(...part.finished);
    out.samplingLogProbs.push(...part.samplingLogProbs);
    out.modelLogProbs.push(...part.modelLogProbs);
    out.logZ.push(...part.logZ);
  }
  return { ...out, rng: next };
};
