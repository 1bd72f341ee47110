/**
 * The variants of the saturation experiment (scripts/saturation-experiments.ts) as run-config
 * overrides, the continued-SFT baseline with the same steps, and the per-iteration bookkeeping that
 * shows the equality of optimizer steps and generated losers.
 *
 * Equality is kept this way. Every self-play variant trains on `pairs` winners (the first train
 * examples), batch 32, `epochs` epochs per iteration, so ⌈pairs/32⌉·epochs optimizer steps per
 * iteration, as long as every iteration has `pairs` pairs. For h = 1 it has (one window member
 * answers every prompt). For h = 2 and h = all the window holds min(h, t) iterates, and
 * `equalShare.pairsPerMember: "split"` gives each ⌊pairs/|W|⌋ prompts, disjoint: with `pairs`
 * divisible by 6 that is exactly `pairs` pairs at every t ≤ 3 (|W| ∈ {1, 2, 3}). Generations are
 * not reused across iterations (`reuseGenerations: false`), so every iteration samples exactly
 * `pairs` losers from its window: the same number of sampled answers for every variant. (The
 * resampled sampler draws K candidates per loser and keeps one: K× the sampled tokens, reported as
 * such.) The continued-SFT baseline takes the same ⌈pairs/32⌉·epochs steps per iteration on the
 * same winners and generates nothing.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { forkRng, rngFromSeed, shuffleArray } from "../core/rng.ts";
import type { SyntheticExample, WeightedPrompt } from "../data/synthetic.ts";
import { encodePair } from "../eval/evaluate.ts";
import { evaluateSynthetic, type SyntheticEvaluation } from "../eval/evaluate-synthetic.ts";
import { createLoraAdapter } from "../models/lora.ts";
import { TransformerPolicy } from "../models/policy.ts";
import type { Tokenizer } from "../models/tokenizer.ts";
import type { Transformer } from "../models/transformer.ts";
import { AdamW } from "../train/optim.ts";
import { learningRateAt, makeSchedule } from "../train/schedule.ts";

/** One self-play variant: the (α, β') it stands for, h, and the run-config keys it sets. */
export interface SaturationVariant {
  readonly name: string;
  readonly alpha: number;
  /** The loss temperature β' (= β + λ with klWeights). */
  readonly betaPrime: number;
  readonly h: number | "all";
  readonly sampler: "window" | "token-level" | "resampled" | "gflownet";
  /** Keys merged into the run config. */
  readonly overrides: Readonly<Record<string, unknown>>;
}

const geometric = (k: number): Record<string, unknown> => ({ geometricSampling: { enabled: true, candidates: k, resample: "systematic" } });

/**
 * The catalogue, at loss temperature β' = `beta`. α < 1 appears with each sampler of the geometric
 * mixture π_{t−1}^α·π_base^(1−α): "window" (losers from π_{t−1} itself, the default), "token-level"
 * (one candidate from the token-level mixture, K = 1), "resampled" (K = 4 candidates, importance
 * resampling), "gflownet" (when `withGflownet`); and as the klWeights pair (β_KL, λ) = (α·β', (1 − α)·β').
 */
export const saturationVariants = (beta: number, withGflownet: boolean): SaturationVariant[] => {
  const v = (name: string, alpha: number, h: number | "all", sampler: SaturationVariant["sampler"], o: Record<string, unknown>): SaturationVariant => ({
    name,
    alpha,
    betaPrime: beta,
    h,
    sampler,
    overrides: { h, ...o },
  });
  const ab = (alpha: number) => ({ alpha, beta });
  const list = [
    v("spin h=1", 1, 1, "window", ab(1)),
    v("spin h=2", 1, 2, "window", ab(1)),
    v("spin h=all", 1, "all", "window", ab(1)),
  ];
  for (const alpha of [0.9, 0.5]) {
    list.push(v(`alpha=${alpha} window`, alpha, 1, "window", ab(alpha)));
    list.push(v(`alpha=${alpha} klWeights`, alpha, 1, "window", { klWeights: { beta: alpha * beta, lambda: (1 - alpha) * beta } }));
    list.push(v(`alpha=${alpha} token-level`, alpha, 1, "token-level", { ...ab(alpha), ...geometric(1) }));
    list.push(v(`alpha=${alpha} resampled K=4`, alpha, 1, "resampled", { ...ab(alpha), ...geometric(4) }));
    if (withGflownet) list.push(v(`alpha=${alpha} gflownet`, alpha, 1, "gflownet", { ...ab(alpha), generation: { sampler: "gflownet" } }));
  }
  return list;
};

/** Optimizer steps of one iteration: ⌈pairs/batch⌉ per epoch. */
export const stepsPerIteration = (pairs: number, batchSize: number, epochs: number): number => Math.ceil(pairs / batchSize) * epochs;

/** Pairs of iteration t with the "split" share: |W| = min(h, t) members of ⌊n/|W|⌋ prompts. */
export const splitPairs = (n: number, h: number | "all", t: number): number => {
  const size = h === "all" ? t : Math.min(h, t);
  return size * Math.floor(n / size);
};

/** What one iteration of a finished run did, read from its folder. */
export interface IterationBook {
  readonly iteration: number;
  readonly pairs: number;
  readonly steps: number;
  readonly generated: number;
}

const countLines = async (path: string): Promise<number> => {
  try {
    return (await readFile(path, "utf8")).split("\n").filter((l) => l.trim() !== "").length;
  } catch {
    return NaN;
  }
};

const windowPairs = async (path: string): Promise<number> => {
  try {
    const w = JSON.parse(await readFile(path, "utf8")) as { pairs?: unknown[] };
    return Array.isArray(w.pairs) ? w.pairs.length : NaN;
  } catch {
    return NaN;
  }
};

/**
 * Pairs, optimizer steps and newly generated losers per iteration of a run folder: pairs from
 * `iter-<t>/window.json` (the opponent assignment), losers from `iter-<t>/generations.jsonl`, steps from the metrics rows.
 */
export const runBookkeeping = async (runDir: string, iterations: number, metrics: readonly Readonly<Record<string, number>>[]): Promise<IterationBook[]> => {
  const books: IterationBook[] = [];
  for (let t = 1; t <= iterations; t++) {
    const dir = join(runDir, `iter-${t}`);
    books.push({
      iteration: t,
      pairs: await windowPairs(join(dir, "window.json")),
      steps: metrics.filter((m) => m.iteration === t).length,
      generated: await countLines(join(dir, "generations.jsonl")),
    });
  }
  return books;
};

/** What the continued-SFT baseline needs. */
export interface ContinuedSftOptions {
  readonly base: Transformer;
  readonly tokenizer: Tokenizer;
  readonly train: readonly SyntheticExample[];
  readonly heldOut: readonly SyntheticExample[];
  readonly prompts: readonly WeightedPrompt[] | undefined;
  readonly iterations: number;
  readonly epochs: number;
  readonly lr: number;
  readonly seed: number;
}

/**
 * Continued SFT: cross-entropy on the winners with the self-play runs' LoRA adapter (r 8, all
 * linear), batch 32, AdamW and per-iteration linear schedule with 10 % warm-up, ⌈n/32⌉·epochs
 * steps per "iteration" (the self-play step count), evaluated after each.
 */
export const continuedSft = async (o: ContinuedSftOptions): Promise<{ evaluations: SyntheticEvaluation[]; steps: number[] }> => {
  const adapter = createLoraAdapter(o.base, { r: 8, alpha: 16, targetModules: "all-linear", seed: o.seed });
  const policy = new TransformerPolicy(o.base, adapter);
  const variables = policy.trainableVariables();
  const optimizer = new AdamW(variables, { weightDecay: 0, maxGradNorm: 1 });
  const encoded = o.train.map((ex) => encodePair(o.tokenizer, ex));
  const batchSize = 32, perEpoch = Math.ceil(encoded.length / batchSize);
  const evaluations: SyntheticEvaluation[] = [], steps: number[] = [];
  try {
    for (let t = 1; t <= o.iterations; t++) {
      const schedule = makeSchedule({ kind: "linear", peakLr: o.lr, totalSteps: perEpoch * o.epochs, warmupRatio: 0.1 });
      let step = 0;
      for (let e = 0; e < o.epochs; e++) {
        const [order] = shuffleArray(forkRng(rngFromSeed(o.seed), `sft-${t}-${e}`), encoded.map((_, i) => i));
        for (let b = 0; b < perEpoch; b++) {
          const batch = order.slice(b * batchSize, (b + 1) * batchSize).map((i) => encoded[i]);
          const { value, grads } = tf.variableGrads(() => {
            const s = policy.sequenceLogProbsTensor(batch.map((x) => x.promptIds), batch.map((x) => x.completionIds), { training: true });
            return tf.div(tf.neg(tf.sum(s.logProbs)), tf.sum(s.tokenCounts)) as tf.Scalar;
          }, variables);
          const norm = optimizer.step(variables.map((v) => grads[v.name]), learningRateAt(schedule, step++));
          tf.dispose([value, norm, ...Object.values(grads)]);
        }
      }
      steps.push(step);
      evaluations.push(await evaluateSynthetic({ policy, tokenizer: o.tokenizer }, {
        heldOut: o.heldOut,
        ...(o.prompts === undefined ? {} : { prompts: o.prompts }),
      }));
    }
  } finally {
    optimizer.dispose();
    adapter.dispose();
  }
  return { evaluations, steps };
};
