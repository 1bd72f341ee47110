/**
 * The self-play report: one self-contained HTML file (no network at view time) with
 *
 * - per-iteration metrics (exact match, KL(p_data ‖ π_t), held-out NLL, reward margin and reward
 *   accuracy from training) as line charts over t = 0 … T, one line per variant, with the base model
 *   as a horizontal reference line and the baselines (SPIN α = 1, continued SFT: the run's own, or
 *   stored figures, see report-baselines.ts) dashed on the same axes; magnitudes start at zero;
 * - training curves within each iteration (loss, rewards/margins, rewards/accuracies,
 *   rewards/chosen, rewards/rejected per optimizer step, iterations separated by dashed lines and
 *   labelled above the plot area);
 * - a sentence on every metric (report-glossary.ts);
 * - sample completions per iteration: prompt, the data's answer, the opponent π_{t−1}'s answer and
 *   the new model π_t's answer;
 * - the per-iteration table of every variant and its settings.
 *
 * Every chart has a labelled y axis with its unit and a legend below the plot area (HTML, never on
 * top of a line).
 *
 * The charts are inline SVG drawn by an inline script (report-script.ts) from the report's data,
 * embedded as JSON in the page; every drawn chart is marked `data-drawn="true"`.
 *
 * @example
 * ```ts
 * import { renderReport, writeReport } from "./report.ts";
 * import type { IterationMetrics, ReportData, TrainingStep } from "./report-types.ts";
 * declare const iterations: IterationMetrics[];
 * declare const steps: TrainingStep[];
 * const data: ReportData = { title: "α-SPIN", variants: [{ name: "default", iterations, steps }] };
 * const html = renderReport(data);
 * await writeReport("runs/default/report.html", data);
 * ```
 *
 * @module
 */
import { writeFileAtomic } from "../data/jsonl.ts";
import { reportScript } from "./report-script.ts";
import { reportStyle } from "./report-style.ts";
import { formatMetric } from "./report-table.ts";
import { metricGlossary } from "./report-glossary.ts";
import type {
  IterationMetricKey,
  IterationMetrics,
  IterationSamples,
  PlotSeries,
  PlotSpec,
  ReportData,
  ReportVariant,
  TrainingStep,
} from "./report-types.ts";

export type * from "./report-types.ts";

/**
 * The per-iteration charts: key in IterationMetrics, title, y-axis label with unit, y bounds kept
 * in range (yMin 0 for magnitudes: KL, NLL and accuracies start at zero).
 */
const iterationCharts: readonly {
  readonly key: IterationMetricKey;
  readonly title: string;
  readonly yLabel: string;
  readonly yMin?: number;
  readonly yMax?: number;
}[] = [
  { key: "kl", title: "KL(p_data ‖ π_t) (exact) — lower is better", yLabel: "KL, nats", yMin: 0 },
  { key: "exactMatch", title: "exact-match accuracy (greedy) — higher is better", yLabel: "fraction of prompts", yMin: 0, yMax: 1 },
  { key: "heldOutNll", title: "held-out NLL per token — lower is better", yLabel: "NLL, nats per token", yMin: 0 },
  { key: "rewardMargin", title: "reward margin (training, last epoch)", yLabel: "margin, β·nats" },
  { key: "rewardAccuracy", title: "reward accuracy (training, last epoch)", yLabel: "fraction of pairs", yMin: 0, yMax: 1 },
];

/** The training-curve charts: metric name (TRL's), title, y-axis label. */
const stepCharts: readonly {
  readonly key: string;
  readonly title: string;
  readonly yLabel: string;
  readonly yMin?: number;
  readonly yMax?: number;
}[] = [
  { key: "loss", title: "loss per step", yLabel: "loss, nats", yMin: 0 },
  { key: "rewards/margins", title: "rewards/margins per step", yLabel: "margin, β·nats" },
  { key: "rewards/accuracies", title: "rewards/accuracies per step", yLabel: "fraction of pairs", yMin: 0, yMax: 1 },
  { key: "rewards/chosen", title: "rewards/chosen per step", yLabel: "reward, β·nats" },
  { key: "rewards/rejected", title: "rewards/rejected per step", yLabel: "reward, β·nats" },
];

/** The label of the base model's reference line. */
export const baseReferenceName = "base model π_0";

const sortedSteps = (steps: readonly TrainingStep[]): TrainingStep[] =>
  [...steps].sort((a, b) => (a.iteration ?? 0) - (b.iteration ?? 0) || (a.step ?? 0) - (b.step ?? 0));

/**
 * Where the iterations start in a run's concatenated step axis: x = k + 0.5 before the first step
 * of each iteration after the first (steps are numbered 1, 2, … across iterations).
 *
 * @example
 * ```ts
 * iterationSeparators([{ iteration: 1, step: 1 }, { iteration: 1, step: 2 }, { iteration: 2, step: 1 }]); // [2.5]
 * ```
 */
export const iterationSeparators = (steps: readonly TrainingStep[]): number[] => {
  const rows = sortedSteps(steps);
  const out: number[] = [];
  rows.forEach((row, k) => {
    if (k > 0 && row.iteration !== rows[k - 1].iteration) out.push(k + 0.5);
  });
  return out;
};

/** The iterations of a run's steps, in order ("t = 1", "t = 2", …): the labels of the stretches between separators. */
const iterationLabels = (steps: readonly TrainingStep[]): string[] =>
  [...new Set(sortedSteps(steps).map((s) => s.iteration))].map((t) => `t = ${t}`);

/**
 * The charts of a report, keyed by the `data-plot` names the page uses.
 *
 * @example
 * ```ts
 * import type { ReportData } from "./report-types.ts";
 * declare const data: ReportData;
 * Object.keys(reportPlots(data)); // ["iter-kl", "iter-exactMatch", …, "step-loss", …]
 * ```
 */
export const reportPlots = (data: ReportData): Record<string, PlotSpec> => {
  const plots: Record<string, PlotSpec> = {};
  const base = data.variants[0]?.iterations.find((r) => r.iteration === 0);
  for (const chart of iterationCharts) {
    const series: PlotSeries[] = data.variants.map((v) => ({
      name: v.name,
      points: v.iterations.map((r): [number, number] => [r.iteration, r[chart.key] ?? NaN]),
    }));
    for (const b of data.baselines ?? []) {
      const points = b.points[chart.key];
      if (points !== undefined && points.length > 0) series.push({ name: b.name, points, baseline: true });
    }
    const baseValue = base?.[chart.key];
    plots[`iter-${chart.key}`] = {
      title: chart.title,
      xLabel: "iteration t (π_t: the model after t rounds; 0 = base)",
      yLabel: chart.yLabel,
      series,
      references: typeof baseValue === "number" && Number.isFinite(baseValue) ? [{ name: baseReferenceName, y: baseValue }] : [],
      markers: true,
      xMin: 0,
      ...(chart.yMin === undefined ? {} : { yMin: chart.yMin }),
      ...(chart.yMax === undefined ? {} : { yMax: chart.yMax }),
    };
  }
  const first = data.variants[0];
  for (const chart of stepCharts) {
    if (!data.variants.some((v) => v.steps.some((s) => Number.isFinite(s[chart.key])))) continue;
    plots[`step-${chart.key}`] = {
      title: chart.title,
      xLabel: "optimizer step (all iterations in a row)",
      yLabel: chart.yLabel,
      series: data.variants.map((v) => ({
        name: v.name,
        points: sortedSteps(v.steps).map((s, k): [number, number] => [k + 1, s[chart.key] ?? NaN]),
      })),
      separators: first === undefined ? [] : iterationSeparators(first.steps),
      segmentLabels: first === undefined ? [] : iterationLabels(first.steps),
      ...(chart.yMin === undefined ? {} : { yMin: chart.yMin }),
      ...(chart.yMax === undefined ? {} : { yMax: chart.yMax }),
    };
  }
  return plots;
};

/**
 * Escape text for HTML.
 *
 * @example
 * ```ts
 * escapeHtml("a < b & c"); // "a &lt; b &amp; c"
 * ```
 */
export const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** JSON that is safe inside a `<script>` element (no `</script>`, no `<!--`). */
const scriptJson = (value: unknown): string =>
  JSON.stringify(value, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v))
    .replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");

const cell = (value: number | null | undefined, spread?: number): string =>
  escapeHtml(formatMetric(value) + (spread === undefined || !Number.isFinite(spread) ? "" : ` ± ${formatMetric(spread)}`));

const iterationTableHtml = (v: ReportVariant): string => {
  const rows = v.iterations.map((r: IterationMetrics) =>
    `<tr><td>${r.iteration === 0 ? "0 (base)" : r.iteration}</td><td>${cell(r.exactMatch, r.spread?.exactMatch)}</td>` +
    `<td>${cell(r.kl, r.spread?.kl)}</td><td>${cell(r.heldOutNll, r.spread?.heldOutNll)}</td>` +
    `<td>${cell(r.rewardMargin, r.spread?.rewardMargin)}</td><td>${cell(r.rewardAccuracy, r.spread?.rewardAccuracy)}</td></tr>`
  ).join("\n");
  const settings = Object.entries(v.settings ?? {})
    .map(([k, x]) => `<code>${escapeHtml(k)}=${escapeHtml(String(x))}</code>`).join(" ");
  return `<section class="variant"><h3>${escapeHtml(v.name)}</h3>${settings === "" ? "" : `<p class="settings">${settings}</p>`}
<div class="table-wrap"><table><thead><tr><th>iteration</th><th>exact match</th><th>KL(p_data ‖ π)</th><th>held-out NLL</th><th>reward margin</th><th>reward accuracy</th></tr></thead>
<tbody>
${rows}
</tbody></table></div></section>`;
};

/** One iteration's sample table: prompt, the data's answer, the opponent's, the new model's. */
const samplesTableHtml = (s: IterationSamples): string => {
  const answer = (text: string): string => (text === "" ? `<span class="empty-answer">(empty)</span>` : escapeHtml(text));
  const rows = s.rows.map((r) => {
    const mark = r.correct === undefined ? "" : r.correct ? ` <span class="ok" title="correct">✓</span>` : ` <span class="bad" title="wrong">✗</span>`;
    return `<tr><td><code>${escapeHtml(r.prompt)}</code></td><td>${answer(r.data)}</td><td>${answer(r.opponent)}</td>` +
      `<td>${answer(r.model)}${mark}</td></tr>`;
  }).join("\n");
  const t = s.iteration;
  return `<h4>iteration t = ${t}</h4>
<div class="table-wrap"><table class="samples" data-iteration="${t}"><thead><tr><th>prompt</th><th>data's answer (winner)</th>` +
    `<th>opponent π<sub>${t - 1}</sub>'s answer (loser, sampled)</th><th>new model π<sub>${t}</sub>'s answer (greedy)</th></tr></thead>
<tbody>
${rows}
</tbody></table></div>`;
};

/** The sample tables of a variant (open for the first variant, folded for the others). */
const samplesHtml = (v: ReportVariant, open: boolean): string =>
  v.samples === undefined || v.samples.length === 0 ? "" : `<details class="samples"${open ? " open" : ""}><summary>${escapeHtml(v.name)}: ${
    v.samples.length
  } iteration(s)</summary>
${v.samples.map(samplesTableHtml).join("\n")}
</details>`;

const glossaryHtml = (): string =>
  `<dl class="glossary">\n${
    metricGlossary.map((m) => `<dt>${escapeHtml(m.name)}</dt><dd>${escapeHtml(m.meaning)}</dd>`).join("\n")
  }\n</dl>`;

/**
 * The report as one self-contained HTML document.
 *
 * @example
 * ```ts
 * import type { ReportVariant } from "./report-types.ts";
 * declare const variants: ReportVariant[];
 * const html = renderReport({ title: "α-SPIN on the embedded default", variants });
 * html.includes('data-plot="iter-kl"'); // true
 * ```
 */
export const renderReport = (data: ReportData): string => {
  const plots = reportPlots(data);
  const divs = (prefix: string): string =>
    Object.keys(plots).filter((k) => k.startsWith(prefix))
      .map((k) => `<div class="plot" data-plot="${escapeHtml(k)}"></div>`).join("\n");
  const payload = { title: data.title, variants: data.variants.map((v) => ({ name: v.name })), plots };
  const notes = (data.notes ?? []).map((n) => `<li>${escapeHtml(n)}</li>`).join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(data.title)}</title>
<style>${reportStyle}</style>
</head>
<body>
<header>
<h1>${escapeHtml(data.title)}</h1>
${data.subtitle === undefined ? "" : `<p class="subtitle">${escapeHtml(data.subtitle)}</p>`}
${data.createdAt === undefined ? "" : `<p class="meta">${escapeHtml(data.createdAt)}</p>`}
</header>
<noscript><p class="warning">The charts are drawn by an inline script: enable JavaScript to see them (the tables below do not need it).</p></noscript>
<h2>Per iteration</h2>
<p class="caption">Each point t is the model π<sub>t</sub> after t rounds of self-play (t = 0: the base model). The dotted
horizontal line is the base model π<sub>0</sub>: a line below it on KL and NLL, or above it on exact match, means self-play
helped.${
    (data.baselines ?? []).length === 0 ? "" : " Dashed lines with open markers are baselines on the same axes."
  }${data.baselineNote === undefined ? "" : ` ${escapeHtml(data.baselineNote)}`}</p>
<div class="plots">
${divs("iter-")}
</div>
<h2>Training curves</h2>
<p class="caption">The optimizer steps of all iterations in a row. Dashed vertical lines mark where an iteration begins
(labelled t = 1, 2, … above each chart): iteration t trains a fresh adapter to prefer the data's answers over those of
its opponent π<sub>t−1</sub>, with the learning-rate schedule starting again, so the curves jump at each line.</p>
<div class="plots">
${divs("step-")}
</div>
<h2>What the numbers mean</h2>
${glossaryHtml()}
${
    data.variants.some((v) => (v.samples ?? []).length > 0)
      ? `<h2>Sample completions</h2>
<p class="caption">The same prompts at every iteration: the data's answer, the opponent's answer that iteration t trained
against, and the new model's greedy answer (✓ when its content is right).</p>
${data.variants.map((v, i) => samplesHtml(v, i === 0)).join("\n")}`
      : ""
  }
<h2>Tables</h2>
${data.variants.map(iterationTableHtml).join("\n")}
${notes === "" ? "" : `<h2>Notes</h2>\n<ul class="notes">\n${notes}\n</ul>`}
<script type="application/json" id="report-data">${scriptJson(payload)}</script>
<script>${reportScript}</script>
</body>
</html>
`;
};

/**
 * Render the report and write it atomically to `path`.
 *
 * @example
 * ```ts
 * import type { ReportData } from "./report-types.ts";
 * declare const data: ReportData;
 * await writeReport("runs/default/report.html", data);
 * ```
 */
export const writeReport = async (path: string, data: ReportData): Promise<void> => {
  await writeFileAtomic(path, renderReport(data));
};
