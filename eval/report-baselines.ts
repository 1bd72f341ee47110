/**
 * Baselines for the report's per-iteration charts when the run itself does not include them: the
 * stored figures of vanilla SPIN (α = 1, h = 1) and of continued SFT on the same winners, from the
 * synthetic sequence task's table in docs/results.md (the embedded model, 384 winners, β = 1,
 * 2 epochs, all 366 prompts and 400 held-out examples, mean of 3 seeds). The table gives KL for every t
 * and the other metrics at t = 3 only, so those baselines are single points at t = 3.
 * tests/report.baselines.test.ts checks these numbers against the table, so the two cannot drift.
 *
 * @module
 */
import type { IterationMetricKey, ReportBaseline, ReportVariant } from "./report-types.ts";

/** Where the stored figures come from, for captions. */
export const storedBaselineSource =
  "docs/results.md, synthetic sequence task: 384 pairs, β = 1, 2 epochs, all 366 prompts, mean of 3 seeds";

/** The rows of docs/results.md's table used here: KL at t = 0 … 3, the other metrics at t = 3. */
export const storedSequenceResults = {
  spin: {
    row: "h=1:alpha=1",
    kl: [1.098, 0.8174, 0.7697, 0.7710],
    exactMatch: 0.7935,
    heldOutNll: 0.2517,
    rewardAccuracy: 0.5191 as number | null,
  },
  sft: {
    row: "SFT baseline",
    kl: [1.098, 0.7301, 0.6681, 0.6405],
    exactMatch: 0.8375,
    heldOutNll: 0.2320,
    rewardAccuracy: null as number | null,
  },
} as const;

const asBaseline = (name: string, r: (typeof storedSequenceResults)["spin" | "sft"]): ReportBaseline => {
  const points: Partial<Record<IterationMetricKey, [number, number][]>> = {
    kl: r.kl.map((y, t): [number, number] => [t, y]),
    exactMatch: [[3, r.exactMatch]],
    heldOutNll: [[3, r.heldOutNll]],
  };
  if (r.rewardAccuracy !== null) points.rewardAccuracy = [[3, r.rewardAccuracy]];
  return { name, points };
};

/** Is this variant vanilla SPIN (α = 1, window 1, β = 1)? */
const isVanillaSpin = (v: ReportVariant): boolean =>
  v.settings?.alpha === 1 && (v.settings?.h ?? 1) === 1 && (v.settings?.beta ?? 1) === 1;

/**
 * The stored baselines a report of the synthetic task should draw: SPIN α = 1 unless a variant is
 * vanilla SPIN, continued SFT unless a variant is named as one ("SFT …").
 *
 * @example
 * ```ts
 * import type { ReportVariant } from "./report-types.ts";
 * declare const run: ReportVariant; // a finished run's metrics
 * const { iterations, steps } = run;
 * storedBaselinesFor([{ name: "default", settings: { alpha: 0.9, h: 1 }, iterations, steps }]).map((b) => b.name);
 * // ["SPIN α = 1 (stored, docs/results.md)", "continued SFT (stored, docs/results.md)"]
 * ```
 */
export const storedBaselinesFor = (variants: readonly ReportVariant[]): ReportBaseline[] => {
  const out: ReportBaseline[] = [];
  if (!variants.some(isVanillaSpin)) out.push(asBaseline("SPIN α = 1 (stored, docs/results.md)", storedSequenceResults.spin));
  if (!variants.some((v) => /^SFT\b|continued SFT/i.test(v.name))) {
    out.push(asBaseline("continued SFT (stored, docs/results.md)", storedSequenceResults.sft));
  }
  return out;
};
