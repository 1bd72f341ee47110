/**
 * The exact tabular testbed of SPIN and α-SPIN: finite prompts and answers, policies as softmax
 * tables, every expectation summed exactly, and each iteration's population objective minimized to
 * convergence.
 *
 * Iteration t (t = 1, 2, …) with π_0 = π_base:
 *   reference  m_t ∝ π_{t−1}^α · π_base^(1−α)               (geometric mixture, normalized)
 *   opponent   q_t = mean of the last h iterates π_{t−h} … π_{t−1}   (h = "all": fictitious play)
 *   π_t = argmin_π E_x E_{y_w∼p_data} E_{y_l∼q_t} −log σ(β'·[log π(y_w)/m_t(y_w) − log π(y_l)/m_t(y_l)])
 * solved per prompt by Newton's method ({@link minimizeLogisticRow}); the closed form
 * π_t ∝ m_t·(p_data/q_t)^(1/β') is computed alongside and the gap recorded.
 *
 * For h = 1 the closed form is a linear recursion on log-probabilities (up to per-prompt constants):
 *   log π_t = (α − 1/β')·log π_{t−1} + (1 − α)·log π_base + (1/β')·log p_data + const,
 * with the fixed point π* ∝ p_data^w · π_base^(1−w), w = 1/(1 + β'(1 − α)) ({@link spinFixedPoint}),
 * and the deviation from it multiplied by a = α − 1/β' each iteration: the iteration converges for
 * every start iff |a| < 1 ({@link contractionFactor}). With α = 1, p_data is a fixed point (w = 1).
 *
 * @example
 * ```ts
 * import { makeTabularProblem } from "./tabular-tables.ts";
 * import { runTabularSpin } from "./tabular.ts";
 * const problem = makeTabularProblem({ seed: 1, prompts: 4, answers: 5 });
 * const run = runTabularSpin(problem, { alpha: 0.9, betaPrime: 2, windowSize: 1 }, { iterations: 10 });
 * run.records.map((r) => r.klToData); // E_x KL(p_data ‖ π_t), t = 1 … 10
 * ```
 *
 * @module
 */
import { type HistoryLength, opponentWindow } from "../samplers/history.ts";
import { closedFormLogisticRow, minimizeLogisticRow, type NewtonOptions } from "./tabular-solver.ts";
import {
  arithmeticMixtureTable,
  geometricMixtureTable,
  type LogTable,
  maxCentredLogGap,
  normalizeLogRow,
  tableKl,
  tableTv,
  type TabularProblem,
} from "./tabular-tables.ts";

/** One α-SPIN variant of the testbed. */
export interface TabularVariant {
  /** Weight of the previous iterate in the geometric-mixture reference (1 = SPIN). */
  readonly alpha: number;
  /** The loss temperature β' (= β + λ). */
  readonly betaPrime: number;
  /** Opponent window: 1 (SPIN), 2 (official SPIN code), "all" (fictitious play). */
  readonly windowSize: HistoryLength;
}

/** Options of {@link runTabularSpin}. */
export interface TabularRunOptions {
  readonly iterations: number;
  /** `newton` (default): minimize numerically; `closed-form`: use π ∝ m·(p/q)^(1/β') directly. */
  readonly solver?: "newton" | "closed-form";
  readonly newton?: NewtonOptions;
}

/** What one iteration produced. */
export interface TabularIterationRecord {
  readonly t: number;
  /** E_x KL(p_data ‖ π_t). */
  readonly klToData: number;
  /** E_x TV(p_data, π_t). */
  readonly tvToData: number;
  /** Largest |log π_t − closed form| over the table, rows centred (0 for the closed-form solver). */
  readonly closedFormGap: number;
  /** Every prompt's Newton solve met its tolerances (true for the closed-form solver). */
  readonly converged: boolean;
  /** Largest final gradient max-norm over the prompts (0 for the closed-form solver). */
  readonly gradNorm: number;
  /** Most Newton iterations any prompt took. */
  readonly newtonIterations: number;
}

/** A run: the iterates π_0 = π_base, π_1, … and a record per iteration. */
export interface TabularRun {
  readonly variant: TabularVariant;
  readonly iterates: readonly LogTable[];
  readonly records: readonly TabularIterationRecord[];
}

/**
 * The factor a = α − 1/β' of the h = 1 log-linear recursion; the iteration converges iff |a| < 1.
 *
 * @example
 * ```ts
 * contractionFactor(1, 0.1); // −9: SPIN with β' = 0.1 diverges under exact minimization
 * contractionFactor(0.9, 2); // 0.4
 * ```
 */
export const contractionFactor = (alpha: number, betaPrime: number): number => alpha - 1 / betaPrime;

/**
 * Whether the h = 1 iteration converges from every start: |α − 1/β'| < 1.
 *
 * @example
 * ```ts
 * spinConverges(1, 1);   // true  (a = 0: one step to p_data)
 * spinConverges(0.5, 0.5); // false (a = −1.5)
 * ```
 */
export const spinConverges = (alpha: number, betaPrime: number): boolean =>
  Math.abs(contractionFactor(alpha, betaPrime)) < 1;

/**
 * The weight w = 1/(1 + β'(1 − α)) of p_data in the h = 1 fixed point.
 *
 * @example
 * ```ts
 * fixedPointWeight(1, 0.1);   // 1 (SPIN: p_data itself)
 * fixedPointWeight(0.5, 2);   // 0.5
 * ```
 */
export const fixedPointWeight = (alpha: number, betaPrime: number): number =>
  1 / (1 + betaPrime * (1 - alpha));

/**
 * The h = 1 fixed point π* ∝ p_data^w · π_base^(1−w), row by row.
 *
 * @example
 * ```ts
 * import { makeTabularProblem } from "./tabular-tables.ts";
 * const problem = makeTabularProblem({ seed: 1, prompts: 4, answers: 5 });
 * spinFixedPoint(problem, 0.9, 2); // w = 1/1.2
 * ```
 */
export const spinFixedPoint = (problem: TabularProblem, alpha: number, betaPrime: number): Float64Array[] => {
  const w = fixedPointWeight(alpha, betaPrime);
  return problem.logData.map((row, x) =>
    normalizeLogRow(row.map((lp, y) => w * lp + (1 - w) * problem.logBase[x][y]))
  );
};

/**
 * One iteration: the reference, the opponent over the window, and the per-prompt minimizer.
 * `past` are π_0 … π_{t−1}.
 *
 * @example
 * ```ts
 * import { makeTabularProblem } from "./tabular-tables.ts";
 * const problem = makeTabularProblem({ seed: 1, prompts: 4, answers: 5 });
 * const variant: TabularVariant = { alpha: 0.9, betaPrime: 2, windowSize: 1 };
 * const { next, record } = tabularSpinStep(problem, variant, [problem.logBase], {});
 * ```
 */
export const tabularSpinStep = (
  problem: TabularProblem,
  variant: TabularVariant,
  past: readonly LogTable[],
  options: Omit<TabularRunOptions, "iterations"> = {},
): { next: Float64Array[]; record: TabularIterationRecord } => {
  const t = past.length;
  if (t < 1) throw new RangeError("tabularSpinStep: need at least π_base among the past iterates");
  const ref = geometricMixtureTable(past[t - 1], problem.logBase, variant.alpha);
  const window = opponentWindow(past.map((_, index) => ({ index, id: `pi-${index}` })), variant.windowSize);
  const opponent = arithmeticMixtureTable(window.members.map((m) => past[m.index]), window.weights);
  const closed = problem.logData.map((lp, x) =>
    closedFormLogisticRow(lp, opponent[x], ref[x], variant.betaPrime)
  );
  let next = closed, converged = true, gradNorm = 0, newtonIterations = 0;
  if ((options.solver ?? "newton") === "newton") {
    next = problem.logData.map((lp, x) => {
      const sol = minimizeLogisticRow(lp, opponent[x], ref[x], variant.betaPrime, options.newton);
      converged &&= sol.converged;
      gradNorm = Math.max(gradNorm, sol.gradNorm);
      newtonIterations = Math.max(newtonIterations, sol.iterations);
      return sol.logPolicy;
    });
  }
  return {
    next,
    record: {
      t,
      klToData: tableKl(problem, next),
      tvToData: tableTv(problem, next),
      closedFormGap: maxCentredLogGap(next, closed),
      converged,
      gradNorm,
      newtonIterations,
    },
  };
};

/**
 * Run `iterations` iterations of a variant from π_0 = π_base.
 *
 * @example
 * ```ts
 * import { makeTabularProblem } from "./tabular-tables.ts";
 * const problem = makeTabularProblem({ seed: 1, prompts: 4, answers: 5 });
 * const run = runTabularSpin(problem, { alpha: 1, betaPrime: 1, windowSize: "all" }, { iterations: 20 });
 * ```
 */
export const runTabularSpin = (
  problem: TabularProblem,
  variant: TabularVariant,
  options: TabularRunOptions,
): TabularRun => {
  if (!Number.isInteger(options.iterations) || options.iterations < 0) {
    throw new RangeError(`runTabularSpin: iterations must be an integer >= 0, got ${options.iterations}`);
  }
  const iterates: LogTable[] = [problem.logBase];
  const records: TabularIterationRecord[] = [];
  for (let t = 1; t <= options.iterations; t++) {
    const { next, record } = tabularSpinStep(problem, variant, iterates, options);
    iterates.push(next);
    records.push(record);
  }
  return { variant, iterates, records };
};
