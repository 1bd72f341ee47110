/**
 * One iteration of SPPO (Wu et al. 2024, Self-Play Preference Optimization, arXiv:2405.00675,
 * Algorithm 1) as the loop's phases, for `method: "sppo"`:
 *
 * 1. opponents: the window {π_{t−1}} (h = 1), recorded as SPIN's;
 * 2. samples: y_1..y_K ∼ π_{t−1}(·|x) for every prompt (phases/samples.ts);
 * 3. preferences: the oracle's P(y_i ≻ y_j | x) and the win rates
 *    P̂(y_i ≻ π_{t−1} | x) = mean_{j≠i} P(y_i ≻ y_j | x) (phases/preferences.ts, win-rates.ts);
 * 4. pairs: the samples ranked by win rate, paired as `sppo.pairs` says (win-rates.ts);
 * 5. references: lp_ref = α·lp_{t−1} + (1 − α)·lp_base of every paired sample (α = 1: SPPO's π_{t−1});
 * 6. train: π_t from π_{t−1} minimizing the `sppo` loss
 *    (a(y_w) − η(P̂_w − ½))² + (a_l − η(P̂_l − ½))², a(y) = lp_θ(y) − lp_ref(y), η = 1/β_t;
 * 7. commit: as SPIN's, plus `preferences.jsonl`.
 *
 * Each phase is resumable (phases/resumable.ts) and every random stream is derived from
 * (seed, t, phase), so a killed run resumes to the same result.
 *
 * @example
 * ```ts
 * import type { RunContext } from "./phases/state.ts";
 * declare const context: RunContext;
 * const metrics = await runSppoIteration(context, 1);
 * ```
 *
 * @module
 */
import type { PreferenceRecord } from "../data/export.ts";
import type { MetricsRow } from "../train/checkpoint.ts";
import type { TrainingPair } from "../train/step.ts";
import { commitPhase } from "./phases/commit.ts";
import { opponentsPhase } from "./phases/opponents.ts";
import { preferencesFileName, preferencesPhase, type PreferenceRow } from "./phases/preferences.ts";
import { scoredReferences } from "./phases/references.ts";
import { sppoOracle } from "./phases/reward-model.ts";
import { type Samples, samplesPhase } from "./phases/samples.ts";
import { startIteration } from "./phases/start.ts";
import type { RunContext } from "./phases/state.ts";
import { trainOnPairs } from "./phases/train.ts";
import type { PreparedExample } from "./examples.ts";
import { sppoPairs } from "./win-rates.ts";

/** One SPPO training pair before its references: two samples of one example and their win rates. */
interface SampledTrainingPair {
  readonly example: PreparedExample;
  readonly chosen: { readonly ids: number[]; readonly text: string; readonly winRate: number };
  readonly rejected: { readonly ids: number[]; readonly text: string; readonly winRate: number };
}

/** The pairs of every example, ranked by win rate (win-rates.ts's `sppoPairs`). */
const pairsOf = (ctx: RunContext, samples: Samples, preferences: readonly PreferenceRow[]): SampledTrainingPair[] => {
  const { examples, config } = ctx.iterates.ready;
  return examples.flatMap((example, i) => {
    const rates = preferences[i].winRates, drawn = samples.byExample[i];
    const side = (k: number) => ({ ids: drawn[k].ids, text: drawn[k].row.text, winRate: rates[k] });
    return sppoPairs(rates, config.sppo.pairs).map((p) => ({ example, chosen: side(p.chosen), rejected: side(p.rejected) }));
  });
};

/**
 * Iteration t of SPPO (see the module doc); resolves to its metrics.
 *
 * @example
 * ```ts
 * import type { RunContext } from "./phases/state.ts";
 * declare const context: RunContext;
 * await runSppoIteration(context, 2);
 * ```
 */
export const runSppoIteration = async (ctx: RunContext, t: number): Promise<MetricsRow[]> => {
  const it = await startIteration(ctx, t); //                                   α_t, β_t = 1/η_t, lr_t, E_t
  const opponents = await opponentsPhase(ctx, it); //                           W_t = {π_{t−1}}
  const samples = await samplesPhase(ctx, it); //                               y_1..y_K ∼ π_{t−1}(·|x)
  const oracle = await sppoOracle(ctx, it, samples); //                         P(y ≻ y' | x)
  const preferences = await preferencesPhase(ctx, it, samples, oracle); //      P̂(y_i ≻ π_{t−1} | x)
  const pairs = pairsOf(ctx, samples, preferences); //                          (y_w, y_l) by win rate
  const references = await scoredReferences(ctx, it, opponents, pairs.map((p, g) => ({
    exampleIndex: g, // every pair's chosen is its own sample: never shared between pairs
    promptIds: p.example.promptIds,
    chosenIds: p.chosen.ids,
    rejectedIds: p.rejected.ids,
  })));
  const training: TrainingPair[] = pairs.map((p, g) => ({
    promptIds: p.example.promptIds,
    chosenIds: p.chosen.ids,
    rejectedIds: p.rejected.ids,
    ...references.lpRef[g],
    winRateChosen: p.chosen.winRate,
    winRateRejected: p.rejected.winRate,
  }));
  const trained = await trainOnPairs(ctx, it, training); //                      π_t ← argmin_θ Σ (a − η(P̂ − ½))²
  const records: PreferenceRecord[] = pairs.map((p, g) => ({
    id: p.example.id,
    prompt: p.example.prompt,
    promptMessages: p.example.promptMessages,
    chosen: p.chosen.text,
    rejected: p.rejected.text,
    refChosenLogp: references.lpRef[g].lpRefChosen,
    refRejectedLogp: references.lpRef[g].lpRefRejected,
  }));
  await commitPhase(ctx, it, { records, references, trained, files: [preferencesFileName, ...oracle.files] });
  return [...trained.metrics];
};
