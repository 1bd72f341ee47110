/**
 * The tables of the saturation experiment: per-variant means with 95 % t-intervals over seeds (per
 * iteration), the bookkeeping of steps and sampled losers, and the tabular testbed's prediction for
 * the same (α, β', h) next to the measured change in KL.
 *
 * @module
 */
import { meanInterval } from "../core/student-t.ts";
import { formatMetric } from "../eval/report-table.ts";
import type { IterationMetrics } from "../eval/report-types.ts";
import { contractionFactor, fixedPointWeight, runTabularSpin, spinConverges, spinFixedPoint } from "../eval/tabular.ts";
import { makeTabularProblem, tableKl } from "../eval/tabular-tables.ts";
import type { IterationBook, SaturationVariant } from "./saturation-variants.ts";

/** One run: a variant at a seed, its rows (t = 0 … T) and its bookkeeping (t = 1 … T). */
export interface RunRecord {
  readonly variant: string;
  readonly seed: number;
  readonly iterations: readonly IterationMetrics[];
  readonly books: readonly IterationBook[];
}

type Key = "kl" | "exactMatch" | "heldOutNll";
const keys: readonly Key[] = ["kl", "exactMatch", "heldOutNll"];

/** A metric's mean and 95 % half-width at one iteration. */
export interface Cell {
  readonly mean: number;
  readonly halfWidth: number;
}

/** One variant over its seeds. */
export interface VariantSummary {
  readonly variant: string;
  readonly seeds: number;
  /** By metric, by iteration t = 0 … T. */
  readonly cells: Readonly<Record<Key, readonly Cell[]>>;
  /** KL_T − KL_0 per seed, then its mean and half-width (the change self-play or SFT made). */
  readonly klChange: Cell;
  /** Steps, pairs and sampled losers per iteration, joined over seeds ("12/12/12"; "12|13/…" if seeds differ). */
  readonly steps: string;
  readonly pairs: string;
  readonly losers: string;
  /** Rows of report.html (means; spread = half-width). */
  readonly report: IterationMetrics[];
}

const joinBooks = (records: readonly RunRecord[], k: "steps" | "pairs" | "generated"): string => {
  const per = records.map((r) => r.books.map((b) => b[k]).join("/"));
  return [...new Set(per)].join(" | ");
};

/** Means and 95 % intervals over seeds, variant by variant, in the order first seen. */
export const aggregateRuns = (records: readonly RunRecord[]): VariantSummary[] => {
  const names = [...new Set(records.map((r) => r.variant))];
  return names.map((variant) => {
    const runs = records.filter((r) => r.variant === variant);
    const T = Math.min(...runs.map((r) => r.iterations.length)) - 1;
    const cell = (k: Key, t: number): Cell => {
      const { mean, halfWidth } = meanInterval(runs.map((r) => r.iterations[t][k]));
      return { mean, halfWidth };
    };
    const cells = Object.fromEntries(keys.map((k) => [k, Array.from({ length: T + 1 }, (_, t) => cell(k, t))])) as Record<Key, Cell[]>;
    const change = meanInterval(runs.map((r) => r.iterations[T].kl - r.iterations[0].kl));
    return {
      variant,
      seeds: runs.length,
      cells,
      klChange: { mean: change.mean, halfWidth: change.halfWidth },
      steps: joinBooks(runs, "steps"),
      pairs: joinBooks(runs, "pairs"),
      losers: joinBooks(runs, "generated"),
      report: Array.from({ length: T + 1 }, (_, t): IterationMetrics => ({
        iteration: t,
        kl: cells.kl[t].mean,
        exactMatch: cells.exactMatch[t].mean,
        heldOutNll: cells.heldOutNll[t].mean,
        rewardMargin: null,
        rewardAccuracy: null,
        spread: { kl: cells.kl[t].halfWidth, exactMatch: cells.exactMatch[t].halfWidth, heldOutNll: cells.heldOutNll[t].halfWidth },
      })),
    };
  });
};

/** The testbed's prediction for one variant. */
export interface Prediction {
  readonly variant: string;
  readonly a: number;
  readonly converges: boolean;
  readonly w: number;
  /** Median over problems of KL_t/KL_0 (t = 1 … T) and of KL(p‖π*)/KL_0, on near-data bases. */
  readonly klRatio: readonly number[];
  readonly limitRatio: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * The tabular testbed's exact iteration (closed-form solver) for each variant's (α, β', h), on five
 * random 4 × 5 problems whose base is near p_data (π_base ∝ p_data^0.8·exp(noise on ±0.5), standing
 * in for an SFT-saturated base): KL_t/KL_0 for t = 1 … T, the h = 1 fixed point's KL ratio, a =
 * α − 1/β', and whether |a| < 1. Samplers do not exist there (the mixture is exact).
 */
export const tabularPrediction = (variants: readonly SaturationVariant[], iterations: number): Prediction[] =>
  variants.map((v) => {
    const problems = [1, 2, 3, 4, 5].map((seed) => makeTabularProblem({ seed, prompts: 4, answers: 5, baseFidelity: 0.8, baseNoise: 0.5 }));
    const ratios = problems.map((p) => {
      const run = runTabularSpin(p, { alpha: v.alpha, betaPrime: v.betaPrime, windowSize: v.h }, { iterations, solver: "closed-form" });
      const kl0 = tableKl(p, p.logBase);
      return { t: run.records.map((r) => r.klToData / kl0), limit: tableKl(p, spinFixedPoint(p, v.alpha, v.betaPrime)) / kl0 };
    });
    return {
      variant: v.name,
      a: contractionFactor(v.alpha, v.betaPrime),
      converges: spinConverges(v.alpha, v.betaPrime),
      w: fixedPointWeight(v.alpha, v.betaPrime),
      klRatio: Array.from({ length: iterations }, (_, t) => median(ratios.map((r) => r.t[t]))),
      limitRatio: median(ratios.map((r) => r.limit)),
    };
  });

const ci = (c: Cell): string => `${formatMetric(c.mean)}${Number.isFinite(c.halfWidth) && c.halfWidth > 0 ? ` ± ${formatMetric(c.halfWidth)}` : ""}`;
const row = (cells: readonly string[]): string => `| ${cells.join(" | ")} |`;
const table = (head: readonly string[], rows: readonly (readonly string[])[]): string =>
  [row(head), row(head.map(() => "---")), ...rows.map(row)].join("\n");

/** What the captions need. */
export interface TablesContext {
  readonly command: string;
  readonly seeds: number;
  readonly klSeeds: number;
  readonly steps: number;
  readonly pairs: number;
  readonly wall: number;
}

/** The markdown of results.md: KL, exact match and NLL per iteration; bookkeeping; prediction. */
export const markdownTables = (summary: readonly VariantSummary[], prediction: readonly Prediction[], c: TablesContext): string => {
  const T = summary.length === 0 ? 0 : summary[0].cells.kl.length - 1;
  const ts = Array.from({ length: T + 1 }, (_, t) => t);
  const metricTable = (k: Key, label: string): string =>
    `${label}\n\n${table(["variant", "seeds", ...ts.map((t) => `t=${t}`)], summary.map((s) => [s.variant, String(s.seeds), ...s.cells[k].map(ci)]))}`;
  const books = table(
    ["variant", "KL_T − KL_0", "optimizer steps per iteration", "pairs per iteration", "sampled losers per iteration"],
    summary.map((s) => [s.variant, ci(s.klChange), s.steps, s.pairs, s.losers]),
  );
  const measured = new Map(summary.map((s) => [s.variant, s.cells.kl.map((x) => x.mean / s.cells.kl[0].mean)]));
  const pred = table(
    ["variant", "a = α − 1/β'", "converges (−1 < a < 1)", "w", ...ts.slice(1).map((t) => `tabular KL_${t}/KL_0`), "tabular KL(p‖π*)/KL_0", ...ts.slice(1).map((t) => `measured KL_${t}/KL_0`)],
    prediction.map((p) => [
      p.variant,
      formatMetric(p.a),
      p.converges ? "yes" : "no",
      formatMetric(p.w),
      ...p.klRatio.map(formatMetric),
      formatMetric(p.limitRatio),
      ...(measured.get(p.variant)?.slice(1).map(formatMetric) ?? ts.slice(1).map(() => "—")),
    ]),
  );
  return [
    metricTable("kl", "KL(p_data ‖ π_t), nats (mean ± 95 % t-interval half-width over seeds):"),
    metricTable("exactMatch", "Exact match (greedy):"),
    metricTable("heldOutNll", "Held-out NLL per token, nats:"),
    `Change and bookkeeping (every run's counts, read from its folder; "a | b" when seeds differ):\n\n${books}`,
    `Tabular prediction for the same (α, β', h) (exact iteration, closed form, median over 5 near-data problems) next to the measured KL ratio (mean KL_t / mean KL_0):\n\n${pred}`,
    `${c.seeds} seeds (klWeights variants: ${Math.min(c.klSeeds, c.seeds)}), ${c.pairs} pairs and ${c.steps} optimizer steps per iteration, wall time ${c.wall.toFixed(0)} s. Regenerate with:\n\n\`\`\`sh\n${c.command}\n\`\`\`\n`,
  ].join("\n\n");
};
