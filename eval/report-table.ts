/**
 * Text forms of a self-play run's results: the per-iteration table printed by `alpha-spin spin`,
 * the summary of an iteration's training steps that fills its reward columns, and number
 * formatting shared with the HTML report.
 *
 * @example
 * ```ts
 * import { formatIterationTable, summarizeTraining } from "./report-table.ts";
 * import type { IterationMetrics, TrainingStep } from "./report-types.ts";
 * declare const stepsOfIteration1: TrainingStep[];
 * declare const rows: IterationMetrics[];
 * const { rewardMargin, rewardAccuracy } = summarizeTraining(stepsOfIteration1);
 * console.log(formatIterationTable(rows));
 * ```
 *
 * @module
 */
import type { IterationMetrics, TrainingStep } from "./report-types.ts";

/**
 * A metric as a short string: 4 significant digits, "—" for null, undefined or NaN.
 *
 * @example
 * ```ts
 * formatMetric(0.123456); // "0.1235"
 * formatMetric(null);     // "—"
 * ```
 */
export const formatMetric = (x: number | null | undefined): string => {
  if (x === null || x === undefined || Number.isNaN(x)) return "—";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e4 || a < 1e-3) return x.toExponential(2);
  return x.toFixed(Math.max(0, 3 - Math.floor(Math.log10(a))));
};

/** Reward summary of one iteration's training. */
export interface TrainingSummary {
  /** Mean `rewards/margins` over the steps of the last epoch (null without such steps). */
  readonly rewardMargin: number | null;
  /** Mean `rewards/accuracies` over the steps of the last epoch. */
  readonly rewardAccuracy: number | null;
  /** Mean `loss` over the steps of the last epoch. */
  readonly loss: number | null;
  readonly steps: number;
}

/**
 * Summarize one iteration's step metrics by their means over its last epoch (the steps whose
 * `epoch` value, a fractional epoch count ending at E, is above E − 1; every step when no step has
 * an `epoch`).
 *
 * @example
 * ```ts
 * summarizeTraining([{ epoch: 0.5, "rewards/margins": 0 }, { epoch: 1.5, "rewards/margins": 2 }, { epoch: 2, "rewards/margins": 4 }]).rewardMargin; // 3
 * ```
 */
export const summarizeTraining = (steps: readonly TrainingStep[]): TrainingSummary => {
  const epochs = steps.map((s) => s.epoch).filter((e) => Number.isFinite(e));
  const last = epochs.length === 0 ? -Infinity : Math.max(...epochs);
  const kept = epochs.length === 0 ? steps : steps.filter((s) => s.epoch > last - 1 + 1e-9);
  const mean = (key: string): number | null => {
    const xs = kept.map((s) => s[key]).filter((x) => Number.isFinite(x));
    return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  return {
    rewardMargin: mean("rewards/margins"),
    rewardAccuracy: mean("rewards/accuracies"),
    loss: mean("loss"),
    steps: steps.length,
  };
};

/**
 * The per-iteration table as aligned text (iteration 0 is the base model).
 *
 * @example
 * ```ts
 * console.log(formatIterationTable([{ iteration: 0, exactMatch: 0.7, kl: 0.4, heldOutNll: 0.5, rewardMargin: null, rewardAccuracy: null }]));
 * // iteration  exact match  KL(p_data‖π)  held-out NLL  reward margin  reward acc
 * // 0 (base)   0.7000       0.4000        0.5000        —              —
 * ```
 */
export const formatIterationTable = (rows: readonly IterationMetrics[]): string => {
  const header = ["iteration", "exact match", "KL(p_data‖π)", "held-out NLL", "reward margin", "reward acc"];
  const body = rows.map((r) => {
    const s = r.spread ?? {};
    const v = (x: number | null, sp?: number): string =>
      formatMetric(x) + (sp === undefined || !Number.isFinite(sp) ? "" : ` ±${formatMetric(sp)}`);
    return [
      r.iteration === 0 ? "0 (base)" : String(r.iteration),
      v(r.exactMatch, s.exactMatch),
      v(r.kl, s.kl),
      v(r.heldOutNll, s.heldOutNll),
      v(r.rewardMargin, s.rewardMargin),
      v(r.rewardAccuracy, s.rewardAccuracy),
    ];
  });
  const widths = header.map((title, j) => Math.max(title.length, ...body.map((row) => row[j].length)));
  const line = (cells: readonly string[]): string => cells.map((c, j) => c.padEnd(widths[j])).join("  ").trimEnd();
  return [line(header), ...body.map(line)].join("\n");
};
