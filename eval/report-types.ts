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

/** The per-iteration metrics a chart can show (keys of {@link IterationMetrics}). */
export type IterationMetricKey = "exactMatch" | "kl" | "heldOutNll" | "rewardMargin" | "rewardAccuracy";

/** One prompt of a sample table: what the data says, what the opponent said, what π_t says now. */
export interface SampleRow {
  readonly exampleId: string;
  readonly prompt: string;
  /** The data's answer (the winner). */
  readonly data: string;
  /** The opponent π_{t−1}'s sampled answer to the same prompt (the loser iteration t trained against). */
  readonly opponent: string;
  /** The new model π_t's greedy answer. */
  readonly model: string;
  /** Whether π_t's answer is correct, when the task can tell. */
  readonly correct?: boolean;
}

/** The sample table of one iteration t. */
export interface IterationSamples {
  readonly iteration: number;
  readonly rows: readonly SampleRow[];
}

/** One run (or one variant of a comparison). */
export interface ReportVariant {
  /** Short name shown in legends (e.g. "h=1", "alpha=0.9"). */
  readonly name: string;
  /** The settings that define the variant, shown in the report. */
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
  readonly iterations: readonly IterationMetrics[];
  readonly steps: readonly TrainingStep[];
  /** Sample completions per iteration (1 … T), when collected. */
  readonly samples?: readonly IterationSamples[];
}

/**
 * A reference drawn on the per-iteration charts next to the run's own lines, e.g. SPIN α = 1 or
 * continued SFT from stored figures (docs/results.md) when the run did not include them.
 */
export interface ReportBaseline {
  /** Legend text, saying where the figures come from. */
  readonly name: string;
  /** (t, value) points per metric; a metric without points is not drawn. */
  readonly points: Readonly<Partial<Record<IterationMetricKey, readonly (readonly [number, number])[]>>>;
}

/** Everything a report shows. */
export interface ReportData {
  readonly title: string;
  /** One paragraph under the title. */
  readonly subtitle?: string;
  /** ISO time stamp of the run. */
  readonly createdAt?: string;
  readonly variants: readonly ReportVariant[];
  /** Baselines drawn dashed on the per-iteration charts (the base model is always drawn, from t = 0). */
  readonly baselines?: readonly ReportBaseline[];
  /** One sentence under the per-iteration charts about the baselines (where they come from, caveats). */
  readonly baselineNote?: string;
  /** Extra lines shown at the end (commands, machine, timings). */
  readonly notes?: readonly string[];
}

/** One line of a chart: a name and (x, y) points (a non-finite y leaves a gap). */
export interface PlotSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
  /** Dashed, with markers: a baseline rather than one of the run's own lines. */
  readonly baseline?: boolean;
}

/** A horizontal reference line across a chart (e.g. the base model's value). */
export interface PlotReference {
  readonly name: string;
  readonly y: number;
}

/** A chart the inline script draws. */
export interface PlotSpec {
  readonly title: string;
  readonly xLabel: string;
  /** The y axis: quantity and unit, e.g. "nats per token". */
  readonly yLabel: string;
  readonly series: readonly PlotSeries[];
  readonly references?: readonly PlotReference[];
  /** Point markers with hover titles (per-iteration plots). */
  readonly markers?: boolean;
  /** x positions of dashed vertical separators (iteration boundaries). */
  readonly separators?: readonly number[];
  /** Labels of the stretches the separators make (one more than separators), drawn above the plot area. */
  readonly segmentLabels?: readonly string[];
  /** Start the x axis at this value at the latest (iteration charts start at t = 0). */
  readonly xMin?: number;
  /** Keep this value inside the y range (e.g. 0 for KL, 1 for accuracies). */
  readonly yMin?: number;
  readonly yMax?: number;
}
