/**
 * The data a self-play report is made from: per variant, one row of evaluation metrics per
 * iteration (0 = the base model) and the training metrics of every optimizer step.
 *
 * @module
 */

/** Evaluation of one iterate (iteration 0 is the base model), with its training summary. */
export interface IterationMetrics {
  /** 0 for the base model π_0, then 1 … T. */
  readonly iteration: number;
  /** Exact-match accuracy of greedy answers. */
  readonly exactMatch: number;
  /** KL(p_data ‖ π_t), nats, exact over the support. */
  readonly kl: number;
  /** Held-out NLL per token, nats. */
  readonly heldOutNll: number;
  /** The model's mass on the support of p_data. */
  readonly massOnSupport?: number;
  /** Mean rewards/margins over the last epoch of the iteration's training (null for the base). */
  readonly rewardMargin: number | null;
  /** Mean rewards/accuracies over the last epoch (null for the base). */
  readonly rewardAccuracy: number | null;
  /** Spread (e.g. standard deviation over seeds) of each metric, when the row is a mean. */
  readonly spread?: Readonly<Partial<Record<"exactMatch" | "kl" | "heldOutNll" | "rewardMargin" | "rewardAccuracy", number>>>;
}

/** One optimizer step's TRL-named metrics (`iteration`, `step`, `loss`, `rewards/margins`, …). */
export type TrainingStep = Readonly<Record<string, number>>;

/** One run (or one variant of a comparison). */
export interface ReportVariant {
  /** Short name shown in legends (e.g. "h=1", "alpha=0.9"). */
  readonly name: string;
  /** The settings that define the variant, shown in the report. */
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
  readonly iterations: readonly IterationMetrics[];
  readonly steps: readonly TrainingStep[];
}

/** Everything a report shows. */
export interface ReportData {
  readonly title: string;
  /** One paragraph under the title. */
  readonly subtitle?: string;
  /** ISO time stamp of the run. */
  readonly createdAt?: string;
  readonly variants: readonly ReportVariant[];
  /** Extra lines shown at the end (commands, machine, timings). */
  readonly notes?: readonly string[];
}

/** One line of a chart: a name and (x, y) points (a non-finite y leaves a gap). */
export interface PlotSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

/** A chart the inline script draws. */
export interface PlotSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly series: readonly PlotSeries[];
  /** Point markers with hover titles (per-iteration plots). */
  readonly markers?: boolean;
  /** x positions of dashed vertical separators (iteration boundaries). */
  readonly separators?: readonly number[];
  /** Start the x axis at this value at the latest (iteration charts start at t = 0). */
  readonly xMin?: number;
  /** Keep this value inside the y range (e.g. 0 for KL, 1 for accuracies). */
  readonly yMin?: number;
  readonly yMax?: number;
  /** Show a legend even for one series. */
  readonly legend?: boolean;
}
