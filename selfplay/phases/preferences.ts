/**
 * SPPO's preference phase: for every prompt, the oracle's P(y_i ≻ y_j | x) for each unordered
 * pair of its K samples (oracle.ts), and each sample's win rate P̂(y_i ≻ π_{t−1} | x), the mean
 * preference against the other K − 1 samples (win-rates.ts). Kept in `iter-<t>/preferences.jsonl`
 * (one row per example), which a resumed iteration reads back instead of asking the oracle again.
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart } from "./state.ts";
 * import type { Samples } from "./samples.ts";
 * import type { PreferenceOracle } from "../oracle.ts";
 * declare const context: RunContext;
 * declare const start: IterationStart;
 * declare const samples: Samples;
 * declare const oracle: PreferenceOracle;
 * const rows = await preferencesPhase(context, start, samples, { oracle, name: "exact" });
 * rows[0].winRates; // K numbers in [0, 1]
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { askOracle, type OracleAnswer, type PreferenceOracle } from "../oracle.ts";
import { samplePairs, winRates } from "../win-rates.ts";
import { jsonLines, resumable } from "./resumable.ts";
import type { Samples } from "./samples.ts";
import type { IterationStart, RunContext } from "./state.ts";

/** One example's row of `preferences.jsonl`. */
export interface PreferenceRow {
  readonly exampleIndex: number;
  readonly exampleId: string;
  /** P(y_i ≻ y_j | x) for i < j, row by row (win-rates.ts's upper triangle). */
  readonly preferences: readonly number[];
  /** P̂(y_i ≻ π_{t−1} | x) of each sample. */
  readonly winRates: readonly number[];
}

/** The file the preferences are kept in, under iter-<t>/. */
export const preferencesFileName = "preferences.jsonl";

/** Ask the oracle about every pair of every example's samples. */
const ask = async (
  ctx: RunContext,
  it: IterationStart,
  samples: Samples,
  oracle: { readonly oracle: PreferenceOracle; readonly name: string },
): Promise<PreferenceRow[]> => {
  const { examples } = ctx.iterates.ready;
  await ctx.emit({ type: "phase-start", iteration: it.t, phase: "preferences", total: examples.length });
  const rows: PreferenceRow[] = [];
  for (const [i, example] of examples.entries()) {
    if (ctx.signal?.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error("aborted");
    const answers: OracleAnswer[] = samples.byExample[i].map((s) => ({ text: s.row.text, finished: s.row.finished }));
    const preferences: number[] = [];
    for (const [a, b] of samplePairs(answers.length)) {
      preferences.push(await askOracle(oracle.oracle, oracle.name, { prompt: example.prompt, exampleId: example.id, a: answers[a], b: answers[b] }));
    }
    rows.push({ exampleIndex: example.index, exampleId: example.id, preferences, winRates: winRates(answers.length, preferences) });
    await ctx.emit({ type: "progress", iteration: it.t, phase: "preferences", done: i + 1, total: examples.length });
  }
  return rows;
};

/**
 * The preferences and win rates of iteration t (see the module doc).
 *
 * @example
 * ```ts
 * import type { RunContext, IterationStart } from "./state.ts";
 * import type { Samples } from "./samples.ts";
 * import { exactPreference } from "../oracle.ts";
 * declare const context: RunContext;
 * declare const start: IterationStart;
 * declare const samples: Samples;
 * await preferencesPhase(context, start, samples, { oracle: exactPreference, name: "exact" });
 * ```
 */
export const preferencesPhase = async (
  ctx: RunContext,
  it: IterationStart,
  samples: Samples,
  oracle: { readonly oracle: PreferenceOracle; readonly name: string },
): Promise<PreferenceRow[]> => {
  const path = join(it.dir, preferencesFileName);
  const { value, resumed } = await resumable(ctx.store, path, jsonLines<PreferenceRow>(), () => ask(ctx, it, samples, oracle));
  await ctx.emit({ type: "phase-end", iteration: it.t, phase: "preferences", ...(resumed ? { note: "preferences already on disk" } : {}) });
  return value;
};
