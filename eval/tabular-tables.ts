/**
 * Tabular policies for the exact testbed: a policy is one row of normalized log-probabilities per
 * prompt (a softmax table), and every quantity is a finite sum.
 *
 * - {@link geometricMixtureTable}: log m_α ∝ α·log π_prev + (1 − α)·log π_base, normalized per row;
 * - {@link arithmeticMixtureTable}: log Σ_i w_i π_i (logsumexp), the opponent over a window;
 * - {@link tableKl}, {@link tableTv}: E_x KL(p(·|x) ‖ π(·|x)) and E_x TV under the prompt weights;
 * - {@link makeTabularProblem}: a seeded random problem (p_data, an under-trained π_base, weights).
 *
 * @example
 * ```ts
 * import { geometricMixtureTable, makeTabularProblem, tableKl } from "./tabular-tables.ts";
 * const problem = makeTabularProblem({ seed: 1, prompts: 3, answers: 4 });
 * const ref = geometricMixtureTable(problem.logBase, problem.logBase, 0.5); // = π_base
 * tableKl(problem, problem.logBase); // E_x KL(p_data ‖ π_base)
 * ```
 *
 * @module
 */
import { forkRng, nextFloats, rngFromSeed } from "../core/rng.ts";
import { klFromArrays, totalVariation } from "./metrics.ts";

/** A softmax table: one row of normalized log-probabilities per prompt. */
export type LogTable = readonly Float64Array[];

/** A finite problem: prompt weights, the data distribution and the base policy (all full support). */
export interface TabularProblem {
  /** P(x) for each prompt; non-negative, summing to 1. */
  readonly promptWeights: Float64Array;
  /** log p_data(y | x), one row per prompt. */
  readonly logData: LogTable;
  /** log π_base(y | x), one row per prompt. */
  readonly logBase: LogTable;
}

/**
 * log Σ exp(x_i), max-shifted (−Infinity for an empty or all −Infinity row).
 *
 * @example
 * ```ts
 * logSumExpArray([1000, 1000]); // 1000 + log 2
 * ```
 */
export const logSumExpArray = (x: ArrayLike<number>): number => {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > max) max = x[i];
  if (max === -Infinity || !Number.isFinite(max)) return max;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i] - max);
  return max + Math.log(s);
};

/**
 * A row of unnormalized log-weights, normalized to log-probabilities.
 *
 * @example
 * ```ts
 * normalizeLogRow([0, Math.log(3)]); // [log ¼, log ¾]
 * ```
 */
export const normalizeLogRow = (x: ArrayLike<number>): Float64Array => {
  const z = logSumExpArray(x);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] - z;
  return out;
};

const checkSameShape = (a: LogTable, b: LogTable, where: string): void => {
  if (a.length !== b.length || a.some((row, i) => row.length !== b[i].length)) {
    throw new RangeError(`${where}: the tables have different shapes`);
  }
};

/**
 * The normalized geometric mixture m_α(y|x) ∝ π_prev(y|x)^α · π_base(y|x)^(1−α), row by row.
 * Throws a RangeError for α outside [0, 1] or tables of different shapes.
 *
 * @example
 * ```ts
 * geometricMixtureTable([Float64Array.of(Math.log(0.5), Math.log(0.5))], [Float64Array.of(Math.log(0.9), Math.log(0.1))], 1);
 * // [[log ½, log ½]]
 * ```
 */
export const geometricMixtureTable = (
  logPrev: LogTable,
  logBase: LogTable,
  alpha: number,
): Float64Array[] => {
  if (!(alpha >= 0 && alpha <= 1)) {
    throw new RangeError(`geometricMixtureTable: alpha must be in [0, 1], got ${alpha}`);
  }
  checkSameShape(logPrev, logBase, "geometricMixtureTable");
  return logPrev.map((row, x) =>
    normalizeLogRow(
      row.map((
        lp,
        y,
      ) => (alpha === 1 ? lp : alpha === 0 ? logBase[x][y] : alpha * lp + (1 - alpha) * logBase[x][y])),
    )
  );
};

/**
 * The arithmetic mixture log Σ_i w_i π_i(y|x) of several tables (uniform weights by default).
 *
 * @example
 * ```ts
 * const tableA = [Float64Array.of(Math.log(0.5), Math.log(0.5))];
 * const tableB = [Float64Array.of(Math.log(0.9), Math.log(0.1))];
 * arithmeticMixtureTable([tableA, tableB]); // log(½ π_A + ½ π_B)
 * ```
 */
export const arithmeticMixtureTable = (
  tables: readonly LogTable[],
  weights?: readonly number[],
): Float64Array[] => {
  if (tables.length === 0) throw new RangeError("arithmeticMixtureTable: no tables");
  const w = weights ?? tables.map(() => 1 / tables.length);
  if (w.length !== tables.length) {
    throw new RangeError(`arithmeticMixtureTable: ${w.length} weights for ${tables.length} tables`);
  }
  tables.forEach((t) => checkSameShape(t, tables[0], "arithmeticMixtureTable"));
  const logW = w.map((v) => Math.log(v));
  return tables[0].map((row, x) =>
    row.map((_, y) => logSumExpArray(tables.map((t, i) => logW[i] + t[x][y])))
  );
};

/**
 * E_x KL(p_data(·|x) ‖ π(·|x)) under the prompt weights, summed exactly.
 *
 * @example
 * ```ts
 * const problem = makeTabularProblem({ seed: 1, prompts: 3, answers: 4 });
 * tableKl(problem, problem.logData); // 0
 * ```
 */
export const tableKl = (problem: TabularProblem, logPolicy: LogTable): number => {
  checkSameShape(problem.logData, logPolicy, "tableKl");
  let s = 0;
  problem.logData.forEach((row, x) => {
    s += problem.promptWeights[x] * klFromArrays(row.map(Math.exp), logPolicy[x]).kl;
  });
  return s;
};

/**
 * E_x TV(p_data(·|x), π(·|x)) under the prompt weights.
 *
 * @example
 * ```ts
 * const problem = makeTabularProblem({ seed: 1, prompts: 3, answers: 4 });
 * tableTv(problem, problem.logData); // 0
 * ```
 */
export const tableTv = (problem: TabularProblem, logPolicy: LogTable): number => {
  checkSameShape(problem.logData, logPolicy, "tableTv");
  let s = 0;
  problem.logData.forEach((row, x) => {
    s += problem.promptWeights[x] * totalVariation(row.map(Math.exp), logPolicy[x].map(Math.exp));
  });
  return s;
};

/**
 * The largest |a − b| over two tables, after centring each row (log-prob rows are compared up to
 * their per-row constant; for normalized rows this is the plain difference shifted by a constant).
 *
 * @example
 * ```ts
 * maxCentredLogGap([Float64Array.of(0, 1)], [Float64Array.of(5, 6)]); // 0
 * ```
 */
export const maxCentredLogGap = (a: LogTable, b: LogTable): number => {
  checkSameShape(a, b, "maxCentredLogGap");
  let gap = 0;
  a.forEach((row, x) => {
    const d = row.map((v, y) => v - b[x][y]);
    const mean = d.reduce((s, v) => s + v, 0) / d.length;
    for (const v of d) gap = Math.max(gap, Math.abs(v - mean));
  });
  return gap;
};

/** Options of {@link makeTabularProblem}. */
export interface TabularProblemOptions {
  readonly seed: number;
  readonly prompts: number;
  readonly answers: number;
  /** Spread of p_data's logits (uniform on ±spread). Default 1.5. */
  readonly dataSpread?: number;
  /** π_base ∝ p_data^baseFidelity · noise: how much of p_data the base has learned. Default 0.3. */
  readonly baseFidelity?: number;
  /** Spread of the base's noise logits (uniform on ±spread). Default 1. */
  readonly baseNoise?: number;
}

/**
 * A seeded random problem: prompt weights ∝ 1 + u, p_data = softmax of uniform logits, and an
 * under-trained base π_base ∝ p_data^fidelity · exp(noise). Every row has full support.
 *
 * @example
 * ```ts
 * const problem = makeTabularProblem({ seed: 7, prompts: 4, answers: 5 });
 * ```
 */
export const makeTabularProblem = (options: TabularProblemOptions): TabularProblem => {
  const { seed, prompts, answers } = options;
  if (!Number.isInteger(prompts) || prompts < 1 || !Number.isInteger(answers) || answers < 2) {
    throw new RangeError(
      `makeTabularProblem: need prompts >= 1 and answers >= 2, got ${prompts} and ${answers}`,
    );
  }
  const dataSpread = options.dataSpread ?? 1.5,
    fidelity = options.baseFidelity ?? 0.3,
    noise = options.baseNoise ?? 1;
  const root = rngFromSeed(seed);
  const [u] = nextFloats(forkRng(root, "weights"), prompts);
  const wsum = u.reduce((s, v) => s + 1 + v, 0);
  const promptWeights = u.map((v) => (1 + v) / wsum);
  const logData: Float64Array[] = [], logBase: Float64Array[] = [];
  for (let x = 0; x < prompts; x++) {
    const [a] = nextFloats(forkRng(root, `data-${x}`), answers);
    const [b] = nextFloats(forkRng(root, `base-${x}`), answers);
    const data = normalizeLogRow(a.map((v) => dataSpread * (2 * v - 1)));
    logData.push(data);
    logBase.push(normalizeLogRow(data.map((lp, y) => fidelity * lp + noise * (2 * b[y] - 1))));
  }
  return { promptWeights, logData, logBase };
};
