/**
 * The comparison of SPIN variants on the tabular testbed, as rows and as a Markdown table:
 * vanilla SPIN (h = 1), the official code's h = 2 and fictitious play (h = all), for several α and
 * β', measured by E_x KL(p_data ‖ π_t) at chosen iterations, on one main problem and across
 * several random problems.
 *
 * Every run first uses Newton's method for each iteration. When some iteration's solve does not
 * meet its tolerances, or lands farther than `gapTolerance` from the closed form, the run is
 * repeated with the closed-form minimizer (which the Newton solves confirm wherever they converge)
 * and the row says from which iteration Newton failed: this happens only when the opponent puts
 * mass far below Float64's resolution on some answer, where the objective is numerically flat.
 *
 * @example
 * ```ts
 * import { formatTabularComparison, runTabularComparison } from "./tabular-report.ts";
 * const result = runTabularComparison({ iterations: 50, checkpoints: [1, 10, 50] });
 * console.log(formatTabularComparison(result));
 * ```
 *
 * @module
 */
import type { HistoryLength } from "../samplers/history.ts";
import {
  contractionFactor,
  runTabularSpin,
  spinFixedPoint,
  type TabularIterationRecord,
  type TabularRun,
  tabularSpinStep,
  type TabularVariant,
} from "./tabular.ts";
import {
  type LogTable,
  makeTabularProblem,
  maxCentredLogGap,
  tableKl,
  type TabularProblem,
} from "./tabular-tables.ts";

/** What {@link runTabularComparison} compares. */
export interface TabularComparisonOptions {
  /** Random problems; the first is the main one (per-iteration columns). Default [1, 2, 3, 4, 5]. */
  readonly seeds?: readonly number[];
  /** Default 4. */
  readonly prompts?: number;
  /** Default 5. */
  readonly answers?: number;
  /** Default 200. */
  readonly iterations?: number;
  /** Iterations at which the main problem's KL is shown. Default [1, 2, 5, 10, 50, 200]. */
  readonly checkpoints?: readonly number[];
  /** Default [0.1, 0.5, 1, 2]. */
  readonly betaPrimes?: readonly number[];
  /** Default [1, 2, "all"]. */
  readonly hs?: readonly HistoryLength[];
  /** Default [1, 0.9, 0.5]. */
  readonly alphas?: readonly number[];
  /** Largest accepted |Newton − closed form| (log-probs, rows centred). Default 1e-6. */
  readonly gapTolerance?: number;
}

/** One variant's results. */
export interface TabularComparisonRow {
  readonly variant: TabularVariant;
  /** a = α − 1/β' (the h = 1 factor). */
  readonly contraction: number;
  /** Main problem: E_x KL(p_data ‖ π_t) at each checkpoint. */
  readonly klAt: readonly number[];
  /** Main problem: E_x TV(p_data, π_T) at the last iteration. */
  readonly tvFinal: number;
  /** Main problem: E_x KL(p_data ‖ π*) for the h = 1 fixed point π* ∝ p^w·π_base^(1−w). */
  readonly fixedPointKl: number;
  /** Main problem: distance max |log π_T − log π*| (rows centred). */
  readonly fixedPointGap: number;
  /** Which solver produced the main problem's numbers. */
  readonly solver: "newton" | "closed-form";
  /** The first iteration at which Newton failed on the main problem (null when it never did). */
  readonly newtonFailedAt: number | null;
  /** Largest Newton − closed-form gap over the iterations Newton solved (main problem; up to the failure). */
  readonly newtonGap: number;
  /** E_x KL(p_data ‖ π_T) at the last iteration, one per seed. */
  readonly finalKlBySeed: readonly number[];
  /** max |log π_T − log π*| (rows centred), one per seed. */
  readonly fixedPointGapBySeed: readonly number[];
}

/** The comparison: its settings and one row per variant. */
export interface TabularComparison {
  readonly options: Required<TabularComparisonOptions>;
  /** E_x KL(p_data ‖ π_base) of each seed's problem (the starting point). */
  readonly baseKlBySeed: readonly number[];
  readonly rows: readonly TabularComparisonRow[];
}

const defaults: Required<TabularComparisonOptions> = {
  seeds: [1, 2, 3, 4, 5],
  prompts: 4,
  answers: 5,
  iterations: 200,
  checkpoints: [1, 2, 5, 10, 50, 200],
  betaPrimes: [0.1, 0.5, 1, 2],
  hs: [1, 2, "all"],
  alphas: [1, 0.9, 0.5],
  gapTolerance: 1e-6,
};

interface SolvedRun {
  readonly run: TabularRun;
  readonly solver: "newton" | "closed-form";
  readonly newtonFailedAt: number | null;
  readonly newtonGap: number;
}

const solveRun = (
  problem: TabularProblem,
  variant: TabularVariant,
  iterations: number,
  gapTolerance: number,
): SolvedRun => {
  const iterates: LogTable[] = [problem.logBase];
  const records: TabularIterationRecord[] = [];
  let newtonGap = 0;
  for (let t = 1; t <= iterations; t++) {
    const { next, record } = tabularSpinStep(problem, variant, iterates);
    if (!record.converged || !(record.closedFormGap <= gapTolerance)) {
      const closed = runTabularSpin(problem, variant, { iterations, solver: "closed-form" });
      return { run: closed, solver: "closed-form", newtonFailedAt: t, newtonGap };
    }
    newtonGap = Math.max(newtonGap, record.closedFormGap);
    iterates.push(next);
    records.push(record);
  }
  return { run: { variant, iterates, records }, solver: "newton", newtonFailedAt: null, newtonGap };
};

/**
 * Run every variant (β' × h × α) on every seed's problem.
 *
 * @example
 * ```ts
 * const { rows } = runTabularComparison({ seeds: [1], iterations: 20, checkpoints: [1, 20] });
 * ```
 */
export const runTabularComparison = (options: TabularComparisonOptions = {}): TabularComparison => {
  const resolved: Required<TabularComparisonOptions> = { ...defaults, ...options };
  if (resolved.seeds.length === 0) throw new RangeError("runTabularComparison: need at least one seed");
  if (resolved.checkpoints.some((t) => !Number.isInteger(t) || t < 1 || t > resolved.iterations)) {
    throw new RangeError(`runTabularComparison: checkpoints must be integers in [1, ${resolved.iterations}]`);
  }
  const problems = resolved.seeds.map((seed) =>
    makeTabularProblem({ seed, prompts: resolved.prompts, answers: resolved.answers })
  );
  const rows: TabularComparisonRow[] = [];
  for (const betaPrime of resolved.betaPrimes) {
    for (const windowSize of resolved.hs) {
      for (const alpha of resolved.alphas) {
        const variant: TabularVariant = { alpha, betaPrime, windowSize: windowSize };
        const solved = problems.map((p) => solveRun(p, variant, resolved.iterations, resolved.gapTolerance));
        const main = solved[0], problem = problems[0];
        const records = main.run.records;
        const fixedPoints = problems.map((p) => spinFixedPoint(p, alpha, betaPrime));
        const fixedPoint = fixedPoints[0];
        const lastOf = (s: SolvedRun): readonly Float64Array[] => s.run.iterates[s.run.iterates.length - 1];
        rows.push({
          variant,
          contraction: contractionFactor(alpha, betaPrime),
          klAt: resolved.checkpoints.map((t) => records[t - 1].klToData),
          tvFinal: records[records.length - 1].tvToData,
          fixedPointKl: tableKl(problem, fixedPoint),
          fixedPointGap: maxCentredLogGap(lastOf(main), fixedPoint),
          solver: main.solver,
          newtonFailedAt: main.newtonFailedAt,
          newtonGap: main.newtonGap,
          finalKlBySeed: solved.map((s) => s.run.records[s.run.records.length - 1].klToData),
          fixedPointGapBySeed: solved.map((s, i) => maxCentredLogGap(lastOf(s), fixedPoints[i])),
        });
      }
    }
  }
  return { options: resolved, baseKlBySeed: problems.map((p) => tableKl(p, p.logBase)), rows };
};

/**
 * A number for a table: 3 significant digits, exponent form when very small or large.
 *
 * @example
 * ```ts
 * formatNumber(0.012345); // "0.0123"
 * formatNumber(3.1e-9);   // "3.1e-9"
 * ```
 */
export const formatNumber = (v: number): string => {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e4) return String(Number(v.toPrecision(3)));
  return v.toExponential(1).replace("e+", "e");
};

/** KL values at rounding level (|v| < 1e-12, possibly slightly negative) print as "≈ 0". */
const formatKl = (v: number): string => (Math.abs(v) < 1e-12 ? "≈ 0" : formatNumber(v));

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * The comparison as Markdown: the main problem's KL over iterations, and the final KL across
 * seeds (median, min, max).
 *
 * @example
 * ```ts
 * console.log(formatTabularComparison(runTabularComparison()));
 * ```
 */
export const formatTabularComparison = (comparison: TabularComparison): string => {
  const { options, rows } = comparison;
  const T = options.iterations;
  const head = [
    "β'",
    "h",
    "α",
    "a = α − 1/β'",
    ...options.checkpoints.map((t) => `KL t=${t}`),
    `TV t=${T}`,
    "KL(p‖π*)",
    "solver",
  ];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const r of rows) {
    const solver = r.solver === "newton"
      ? `Newton (gap ≤ ${formatNumber(r.newtonGap)})`
      : `closed form (Newton fails at t=${r.newtonFailedAt})`;
    lines.push(`| ${
      [
        r.variant.betaPrime,
        r.variant.windowSize,
        r.variant.alpha,
        formatNumber(r.contraction),
        ...r.klAt.map(formatKl),
        formatNumber(r.tvFinal),
        formatKl(r.fixedPointKl),
        solver,
      ].join(" | ")
    } |`);
  }
  const seedHead = ["β'", "h", "α", `KL t=${T}: median`, "min", "max", `max log-prob gap to π*: median`];
  const seedLines = [`| ${seedHead.join(" | ")} |`, `|${seedHead.map(() => "---").join("|")}|`];
  for (const r of rows) {
    const ks = r.finalKlBySeed;
    seedLines.push(`| ${
      [
        r.variant.betaPrime,
        r.variant.windowSize,
        r.variant.alpha,
        formatKl(median(ks)),
        formatKl(Math.min(...ks)),
        formatKl(Math.max(...ks)),
        formatNumber(median(r.fixedPointGapBySeed)),
      ].join(" | ")
    } |`);
  }
  return [
    `Main problem: seed ${options.seeds[0]}, ${options.prompts} prompts × ${options.answers} answers, ${T} iterations, ` +
    `KL(p_data ‖ π_base) = ${formatKl(comparison.baseKlBySeed[0])}. ` +
    `E_x KL(p_data ‖ π_t) in nats; π* ∝ p_data^w·π_base^(1−w), w = 1/(1 + β'(1 − α)).`,
    "",
    ...lines,
    "",
    `Across ${options.seeds.length} random problems (seeds ${options.seeds.join(", ")}; KL(p_data ‖ π_base) from ` +
    `${formatKl(Math.min(...comparison.baseKlBySeed))} to ${
      formatKl(Math.max(...comparison.baseKlBySeed))
    }): ` +
    `E_x KL(p_data ‖ π_${T}).`,
    "",
    ...seedLines,
  ].join("\n");
};
