/**
 * The reference pre-compute of one iteration: the sequence log-probs lp_prev and lp_base of every
 * winner and loser, computed once before training (no reference model is held while training, and
 * the reference cannot change while the policy does). Winners are scored once per example, losers
 * once per pair, and each distinct model once (at iteration 1 π_prev is π_base: one pass).
 *
 * "prev" may be several models with weights (the arithmetic-mixture reference over the opponent
 * window): then lp_prev = log Σ_i w_i·π_i(y|x), computed in float64 by core/mixture's
 * `arithmeticReference` on the exact reference backend; the per-model values are kept in the cache.
 *
 * The reference the loss sees, lp_ref = α·lp_prev + (1 − α)·lp_base, is then formed once per
 * iteration by {@link geometricReferences} (core/mixture's `geometricReference`, in float32 on the
 * run's backend, as the training step computes); training and the exports read those numbers.
 *
 * The result is cached in `iter-<t>/reference/<fingerprint>.json`, where the fingerprint covers the
 * scored token ids and both models, so a re-run with the same data and models skips the pre-compute.
 * Work in progress is kept per chunk in the work folder, so a killed pre-compute resumes where it
 * stopped.
 *
 * @example
 * ```ts
 * import { computeReferences, type ComputeReferencesOptions } from "./reference.ts";
 * declare const options: ComputeReferencesOptions; // pairs, the previous iterates, π_base, batch size, cache
 * const { rows } = await computeReferences(options);
 * rows[0]; // { lpPrevChosen, lpPrevRejected, lpBaseChosen, lpBaseRejected }
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { referenceOps, refToArraySync } from "../backends/reference.ts";
import { tfjsOps } from "../backends/tfjs.ts";
import { sha256Hex } from "../core/hash.ts";
import { arithmeticReference, geometricReference } from "../core/mixture.ts";
import type { Policy } from "../models/policy.ts";

/** A pair to score: the example (winner shared by its pairs) and the loser ids. */
export interface PairToScore {
  readonly exampleIndex: number;
  readonly promptIds: readonly number[];
  readonly chosenIds: readonly number[];
  readonly rejectedIds: readonly number[];
}

/** The reference log-probs of one pair. */
export interface ReferenceLogProbs {
  /** lp_prev(y_w): π_{t−1}'s (or the EMA's, or the window mixture's). */
  readonly lpPrevChosen: number;
  readonly lpPrevRejected: number;
  readonly lpBaseChosen: number;
  readonly lpBaseRejected: number;
  /** With several prev models: each one's log-prob of y_w and y_l, in `prevModels` order. */
  readonly prevParts?: { readonly chosen: readonly number[]; readonly rejected: readonly number[] };
}

/** The cache file's content. */
export interface ReferenceCache {
  readonly fingerprint: string;
  /** The prev models' fingerprints and mixture weights. */
  readonly prevModels: readonly { readonly id: string; readonly weight: number }[];
  readonly baseModel: string;
  readonly rows: readonly ReferenceLogProbs[];
}

/** A model to score with: its policy (loaded lazily) and its fingerprint. */
export interface ScoringModel {
  /** Fingerprint of the model (the cache key includes it). */
  readonly id: string;
  readonly load: () => Promise<{ readonly policy: Policy; dispose(): void }>;
  /**
   * Score on a server instead of loading the policy (`reference.engine: "openai"`): Σ log p of
   * each completion after its prompt, in order.
   */
  readonly score?: (prompts: readonly (readonly number[])[], completions: readonly (readonly number[])[]) => Promise<number[]>;
}

/** Options of {@link computeReferences}. */
export interface ComputeReferencesOptions {
  readonly pairs: readonly PairToScore[];
  /** π_{t−1} (or the EMA policy, or the window's members); an `id` equal to `base.id` is the same model. */
  readonly prev: readonly ScoringModel[];
  /** Mixture weights of `prev` (default: 1 for a single model). */
  readonly prevWeights?: readonly number[];
  readonly base: ScoringModel;
  /** Sequences per forward pass. */
  readonly batchSize: number;
  /** iter-<t>/reference: where the cache file goes. */
  readonly cacheDir: string;
  /** Work folder for chunks of a running pre-compute. */
  readonly workDir: string;
  readonly readJson: (path: string) => Promise<unknown>;
  readonly writeJson: (path: string, value: unknown) => Promise<void>;
  readonly onProgress?: (done: number, total: number) => void | Promise<void>;
  /** Called instead of computing when the cache already holds the result. */
  readonly onCached?: (path: string) => void | Promise<void>;
  readonly signal?: AbortSignal;
}

/**
 * The cache key of a pre-compute: SHA-256 over both models' ids and every scored id sequence.
 *
 * @example
 * ```ts
 * const pairs = [{ exampleIndex: 0, promptIds: [1, 2], chosenIds: [3], rejectedIds: [4] }];
 * referenceFingerprint(pairs, [{ id: "iter-1", weight: 1 }], "base"); // 64 hex digits
 * ```
 */
export const referenceFingerprint = (
  pairs: readonly PairToScore[],
  prev: readonly { readonly id: string; readonly weight: number }[],
  baseId: string,
): string =>
  sha256Hex(
    [
      ...prev.map((p) => `prev:${p.id}:${p.weight}`),
      `base:${baseId}`,
      ...pairs.map((p) => `${p.promptIds.join(",")}|${p.chosenIds.join(",")}|${p.rejectedIds.join(",")}`),
    ].join("\n"),
  );

const CHUNK_SEQUENCES = 64;

/** The sequences to score, in order: one winner per example, then one loser per pair; each pair's indices. */
const sequencesToScore = (pairs: ComputeReferencesOptions["pairs"]) => {
  const winnerOf = new Map<number, number>();
  const prompts: (readonly number[])[] = [], completions: (readonly number[])[] = [];
  const chosenIndex: number[] = [], rejectedIndex: number[] = [];
  for (const p of pairs) {
    let w = winnerOf.get(p.exampleIndex);
    if (w === undefined) {
      w = prompts.length;
      winnerOf.set(p.exampleIndex, w);
      prompts.push(p.promptIds);
      completions.push(p.chosenIds);
    }
    chosenIndex.push(w);
  }
  for (const p of pairs) {
    rejectedIndex.push(prompts.length);
    prompts.push(p.promptIds);
    completions.push(p.rejectedIds);
  }
  return { prompts, completions, chosenIndex, rejectedIndex };
};

/**
 * Compute (or read from the cache) the reference log-probs of every pair, in pair order.
 *
 * @example
 * ```ts
 * declare const options: ComputeReferencesOptions;
 * const { rows, cached } = await computeReferences(options); // cached: read from the cache file
 * ```
 */
export const computeReferences = async (options: ComputeReferencesOptions): Promise<{ rows: ReferenceLogProbs[]; path: string; cached: boolean }> => {
  const weights = options.prevWeights ?? options.prev.map(() => 1 / options.prev.length);
  if (options.prev.length === 0 || weights.length !== options.prev.length) throw new RangeError("computeReferences: need prev models with one weight each");
  const prevModels = options.prev.map((m, i) => ({ id: m.id, weight: weights[i] }));
  const fingerprint = referenceFingerprint(options.pairs, prevModels, options.base.id);
  const path = join(options.cacheDir, `${fingerprint.slice(0, 32)}.json`);
  const cached = await options.readJson(path) as ReferenceCache | null;
  if (cached !== null && cached.fingerprint === fingerprint && cached.rows.length === options.pairs.length) {
    await options.onCached?.(path);
    return { rows: [...cached.rows], path, cached: true };
  }
  const { prompts, completions, chosenIndex, rejectedIndex } = sequencesToScore(options.pairs);
  // Each distinct model once: the base first, then the prev models it is not.
  const models = [options.base, ...options.prev.filter((m, i) => m.id !== options.base.id && options.prev.findIndex((n) => n.id === m.id) === i)];
  const total = prompts.length * models.length;
  const scores = new Map<string, number[]>();
  let done = 0;
  for (const [m, model] of models.entries()) {
    const values: number[] = [];
    let loaded: { readonly policy: Policy; dispose(): void } | null = null;
    try {
      for (let start = 0; start < prompts.length; start += CHUNK_SEQUENCES) {
        if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new Error("aborted");
        const end = Math.min(prompts.length, start + CHUNK_SEQUENCES);
        const chunkPath = join(options.workDir, `model${m}-${start}.json`);
        const stored = await options.readJson(chunkPath) as { fingerprint: string; model: string; values: number[] } | null;
        let part: number[];
        if (stored !== null && stored.fingerprint === fingerprint && stored.model === model.id && stored.values.length === end - start) {
          part = stored.values;
        } else if (model.score !== undefined) {
          part = await model.score(prompts.slice(start, end), completions.slice(start, end));
          await options.writeJson(chunkPath, { fingerprint, model: model.id, values: part });
        } else {
          loaded ??= await model.load();
          part = (await loaded.policy.sequenceLogProbs(prompts.slice(start, end), completions.slice(start, end), {
            batchSize: options.batchSize,
          })).logProbs;
          await options.writeJson(chunkPath, { fingerprint, model: model.id, values: part });
        }
        values.push(...part);
        done += end - start;
        await options.onProgress?.(done, total);
      }
    } finally {
      loaded?.dispose();
    }
    scores.set(model.id, values);
  }
  const baseScores = scores.get(options.base.id)!;
  const parts = options.prev.map((m) => scores.get(m.id)!);
  const prevScores = parts.length === 1 ? parts[0] : mixture(parts, weights);
  const rows = options.pairs.map((_, i): ReferenceLogProbs => ({
    lpPrevChosen: prevScores[chosenIndex[i]],
    lpPrevRejected: prevScores[rejectedIndex[i]],
    lpBaseChosen: baseScores[chosenIndex[i]],
    lpBaseRejected: baseScores[rejectedIndex[i]],
    ...(parts.length === 1 ? {} : {
      prevParts: { chosen: parts.map((p) => p[chosenIndex[i]]), rejected: parts.map((p) => p[rejectedIndex[i]]) },
    }),
  }));
  const content: ReferenceCache = { fingerprint, prevModels, baseModel: options.base.id, rows };
  await options.writeJson(path, content);
  return { rows, path, cached: false };
};

/** log Σ_i w_i·exp(parts[i][j]) for every j, in float64 (core/mixture on the exact reference backend). */
const mixture = (parts: readonly number[][], weights: readonly number[]): number[] => {
  const n = parts[0].length;
  const mixed = arithmeticReference(referenceOps)(parts.map((p) => referenceOps.fromArray(p, [n])), weights);
  return Array.from(refToArraySync(mixed));
};

/** The reference log-probs the loss uses for one pair: lp_ref of the winner and of the loser. */
export interface PairReference {
  readonly lpRefChosen: number;
  readonly lpRefRejected: number;
}

/**
 * lp_ref = α·lp_prev + (1 − α)·lp_base of every pair, by core/mixture's `geometricReference` on the
 * active tfjs backend (float32: the numbers the loss sees, whatever thread trains). Exact at α = 0
 * and 1.
 *
 * @example
 * ```ts
 * geometricReferences(0.5, [{ lpPrevChosen: -4, lpPrevRejected: -6, lpBaseChosen: -8, lpBaseRejected: -6 }]);
 * // [{ lpRefChosen: -6, lpRefRejected: -6 }]
 * ```
 */
export const geometricReferences = (alpha: number, rows: readonly ReferenceLogProbs[]): PairReference[] => {
  if (rows.length === 0) return [];
  const mixed = tf.tidy(() => {
    const column = (f: (r: ReferenceLogProbs) => number): tf.Tensor1D => tf.tensor1d(rows.map(f));
    const geometric = geometricReference(tfjsOps);
    return tf.stack([
      geometric(alpha, column((r) => r.lpPrevChosen), column((r) => r.lpBaseChosen)),
      geometric(alpha, column((r) => r.lpPrevRejected), column((r) => r.lpBaseRejected)),
    ]);
  });
  const values = mixed.dataSync();
  mixed.dispose();
  return rows.map((_, i) => ({ lpRefChosen: values[i], lpRefRejected: values[rows.length + i] }));
};
