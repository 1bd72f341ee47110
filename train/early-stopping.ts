/**
 * Early stopping with patience on a held-out loss: training counts as converged once the held-out
 * value has not improved on its best by more than `minDelta` for `patience` evaluations in a row
 * (Keras' `EarlyStopping(patience, min_delta)` rule). The caller keeps the weights of the best
 * evaluation and restores them at the end; this file only keeps the bookkeeping, so it is pure.
 *
 * @example
 * ```ts
 * import { observeEarlyStopping, startEarlyStopping } from "./early-stopping.ts";
 * let s = startEarlyStopping({ patience: 2, minDelta: 0 });
 * for (const [step, nll] of [[100, 0.5], [200, 0.4], [300, 0.41], [400, 0.42]] as const) {
 *   s = observeEarlyStopping(s, step, nll);
 * }
 * console.log(s.stop, s.bestStep); // true 200
 * ```
 *
 * @module
 */

/** The rule: how many evaluations without an improvement end training, and what counts as one. */
export interface EarlyStoppingOptions {
  /** Evaluations in a row without an improvement after which training stops (≥ 1). */
  readonly patience: number;
  /** An evaluation improves only when it is below the best so far by more than this (≥ 0). */
  readonly minDelta: number;
}

/** One held-out evaluation on the curve. */
export interface CurvePoint {
  readonly step: number;
  readonly value: number;
}

/** The state after some evaluations; `improved` says whether the latest one set a new best. */
export interface EarlyStoppingState {
  readonly options: EarlyStoppingOptions;
  readonly curve: readonly CurvePoint[];
  readonly best: number;
  readonly bestStep: number;
  /** Evaluations since the best one. */
  readonly sinceBest: number;
  readonly improved: boolean;
  readonly stop: boolean;
}

/**
 * A fresh state (no evaluation yet). Throws on a patience below 1 or a negative or non-finite delta.
 *
 * @example
 * ```ts
 * const s = startEarlyStopping({ patience: 5, minDelta: 1e-3 });
 * ```
 */
export const startEarlyStopping = (options: EarlyStoppingOptions): EarlyStoppingState => {
  if (!Number.isInteger(options.patience) || options.patience < 1) {
    throw new Error(`early stopping: patience must be an integer ≥ 1, got ${options.patience}`);
  }
  if (!Number.isFinite(options.minDelta) || options.minDelta < 0) {
    throw new Error(`early stopping: minDelta must be a finite number ≥ 0, got ${options.minDelta}`);
  }
  return { options, curve: [], best: Infinity, bestStep: -1, sinceBest: 0, improved: false, stop: false };
};

/**
 * Records the held-out value measured after `step` optimizer steps. A non-finite value never
 * improves (a diverged run stops after `patience` evaluations).
 *
 * @example
 * ```ts
 * const s = observeEarlyStopping(startEarlyStopping({ patience: 1, minDelta: 0 }), 10, 0.7);
 * console.log(s.improved, s.best); // true 0.7
 * ```
 */
export const observeEarlyStopping = (state: EarlyStoppingState, step: number, value: number): EarlyStoppingState => {
  const curve = [...state.curve, { step, value }];
  const improved = Number.isFinite(value) && value < state.best - state.options.minDelta;
  const sinceBest = improved ? 0 : state.sinceBest + 1;
  return {
    options: state.options,
    curve,
    best: improved ? value : state.best,
    bestStep: improved ? step : state.bestStep,
    sinceBest,
    improved,
    stop: sinceBest >= state.options.patience,
  };
};
