/**
 * Learning-rate schedules of one self-play iteration: linear warm-up from 0 to the peak rate, then
 * linear decay to 0, cosine decay to 0, or a constant rate. The same formulas as Hugging Face's
 * `get_linear_schedule_with_warmup`, `get_cosine_schedule_with_warmup` and
 * `get_constant_schedule_with_warmup`, with the number of warm-up steps ⌈ratio·total⌉ as the
 * Trainer computes it from `warmup_ratio`.
 *
 * With k the 0-based index of the optimizer update, W the warm-up steps and N the total steps:
 *   k < W:          lr_k = peak · k / W
 *   linear:         lr_k = peak · max(0, (N − k) / max(1, N − W))
 *   cosine:         lr_k = peak · max(0, ½·(1 + cos(π·(k − W) / max(1, N − W))))
 *   constant:       lr_k = peak
 * As in Hugging Face's Trainer, the first update of a warm-up (k = 0) uses learning rate 0.
 *
 * @example
 * ```ts
 * import { learningRateAt, makeSchedule } from "./schedule.ts";
 * const s = makeSchedule({ kind: "linear", peakLr: 1e-4, totalSteps: 100, warmupRatio: 0.1 });
 * learningRateAt(s, 5);   // 5e-5 (half-way through the 10 warm-up steps)
 * learningRateAt(s, 55);  // 5e-5 (half-way through the decay)
 * ```
 *
 * @module
 */

/** The shape of the decay after warm-up. */
export type ScheduleKind = "linear" | "cosine" | "constant";

/** A learning-rate schedule over the optimizer updates of one iteration. */
export interface LrSchedule {
  readonly kind: ScheduleKind;
  /** The rate reached at the end of warm-up. */
  readonly peakLr: number;
  /** Warm-up updates W. */
  readonly warmupSteps: number;
  /** All updates N of the iteration. */
  readonly totalSteps: number;
}

/** What {@link makeSchedule} takes: the warm-up as a ratio of the total (Hugging Face's `warmup_ratio`). */
export interface ScheduleSpec {
  readonly kind: ScheduleKind;
  readonly peakLr: number;
  readonly totalSteps: number;
  /** Fraction of the updates spent warming up, in [0, 1]; W = ⌈ratio·N⌉. */
  readonly warmupRatio: number;
}

/**
 * A schedule from a warm-up ratio: W = ⌈warmupRatio·totalSteps⌉. Throws a RangeError for a
 * non-positive or non-finite rate, a negative step count, or a ratio outside [0, 1].
 *
 * @example
 * ```ts
 * makeSchedule({ kind: "cosine", peakLr: 2e-5, totalSteps: 30, warmupRatio: 0.1 }).warmupSteps; // 3
 * ```
 */
export const makeSchedule = (spec: ScheduleSpec): LrSchedule => {
  const { kind, peakLr, totalSteps, warmupRatio } = spec;
  if (kind !== "linear" && kind !== "cosine" && kind !== "constant") {
    throw new RangeError(`schedule: kind must be "linear", "cosine" or "constant", got ${String(kind)}`);
  }
  if (!(peakLr > 0) || !Number.isFinite(peakLr)) throw new RangeError(`schedule: the learning rate must be > 0, got ${peakLr}`);
  if (!Number.isInteger(totalSteps) || totalSteps < 0) {
    throw new RangeError(`schedule: totalSteps must be an integer >= 0, got ${totalSteps}`);
  }
  if (!(warmupRatio >= 0 && warmupRatio <= 1)) throw new RangeError(`schedule: warmupRatio must be in [0, 1], got ${warmupRatio}`);
  return { kind, peakLr, totalSteps, warmupSteps: Math.ceil(warmupRatio * totalSteps) };
};

/**
 * The learning rate of update `step` (0-based): see the module doc for the formulas.
 *
 * @example
 * ```ts
 * learningRateAt({ kind: "constant", peakLr: 1e-3, warmupSteps: 2, totalSteps: 10 }, 1); // 5e-4
 * ```
 */
export const learningRateAt = (schedule: LrSchedule, step: number): number => {
  const { kind, peakLr, warmupSteps: w, totalSteps: n } = schedule;
  if (step < w) return (peakLr * step) / Math.max(1, w);
  if (kind === "constant") return peakLr;
  if (kind === "linear") return peakLr * Math.max(0, (n - step) / Math.max(1, n - w));
  const progress = (step - w) / Math.max(1, n - w);
  return peakLr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
};
