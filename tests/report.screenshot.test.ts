/**
 * The report a researcher reads: rendered from a small synthetic run result, checked in its HTML
 * (labelled axes with units, magnitudes from zero, the base model as a reference line, the stored
 * baselines dashed on the same axes, iteration labels, a sentence per metric, the sample tables),
 * then in headless Chromium at 1280 and 420 pixels wide: a probe script measures the laid-out page
 * (every chart drawn, every legend below its plot area, every y label left of it, no sideways
 * scrolling at 420), and the screenshots are decoded and looked at (size, not blank, the series
 * colour and the baselines' colours present). Skipped only when /usr/bin/chromium is absent.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, test } from "./harness.ts";
import { chromiumMissing, runChromium } from "./chromium.support.ts";
import { decodePng } from "./png.support.ts";
import { storedBaselinesFor, storedSequenceResults } from "../eval/report-baselines.ts";
import { metricGlossary } from "../eval/report-glossary.ts";
import { baseReferenceName, renderReport, reportPlots } from "../eval/report.ts";
import type { IterationSamples, ReportData, ReportVariant } from "../eval/report-types.ts";

const steps = [1, 2, 3].flatMap((iteration) =>
  Array.from({ length: 6 }, (_, k) => ({
    iteration,
    step: k + 1,
    epoch: (k + 1) / 3,
    loss: 0.69 - 0.04 * k,
    "rewards/margins": 0.15 * k,
    "rewards/accuracies": 0.5 + 0.06 * k,
    "rewards/chosen": 0.05 * k,
    "rewards/rejected": -0.1 * k,
  }))
);
const samples: IterationSamples[] = [1, 2, 3].map((t) => ({
  iteration: t,
  rows: [
    { exampleId: "train-0", prompt: "add 3 4", data: "= 7", opponent: t === 1 ? "= 8" : "= 7", model: "= 7", correct: true },
    { exampleId: "train-9", prompt: "rev <abc>", data: "cba", opponent: "", model: t === 3 ? "cba" : "cab", correct: t === 3 },
  ],
}));
const variant: ReportVariant = {
  name: "default",
  settings: { alpha: 0.9, h: 1, beta: 1 },
  iterations: [0, 1, 2, 3].map((t) => ({
    iteration: t,
    exactMatch: 0.78 + 0.01 * t,
    kl: 1.1 - 0.1 * t,
    heldOutNll: 0.3 - 0.015 * t,
    rewardMargin: t === 0 ? null : 0.5 - 0.1 * t,
    rewardAccuracy: t === 0 ? null : 0.62 - 0.03 * t,
  })),
  steps,
  samples,
};
const data: ReportData = {
  title: "α-SPIN report test",
  variants: [variant],
  baselines: storedBaselinesFor([variant]),
  baselineNote: "Stored baselines come from docs/results.md.",
};
const magnitudes = ["iter-kl", "iter-exactMatch", "iter-heldOutNll", "iter-rewardAccuracy", "step-loss", "step-rewards/accuracies"];

test("report HTML: labelled axes, zero-based magnitudes, base reference, stored baselines, iteration labels", () => {
  const plots = reportPlots(data);
  for (const [key, plot] of Object.entries(plots)) {
    assert.ok(plot.yLabel.length > 0, `${key} has a y label`);
    assert.ok(plot.xLabel.length > 0, `${key} has an x label`);
  }
  for (const key of magnitudes) assert.equal(plots[key].yMin, 0, `${key} starts at zero`);
  assert.match(plots["iter-kl"].yLabel, /nats/);
  assert.match(plots["iter-heldOutNll"].yLabel, /nats per token/);
  // The base model: a horizontal line at its t = 0 value, on every chart that has one.
  assert.deepEqual(plots["iter-kl"].references, [{ name: baseReferenceName, y: 1.1 }]);
  assert.deepEqual(plots["iter-exactMatch"].references, [{ name: baseReferenceName, y: 0.78 }]);
  assert.deepEqual(plots["iter-rewardMargin"].references, [], "no base value for a training metric");
  // α = 0.9 is not vanilla SPIN and there is no SFT variant: both stored baselines, with docs/results.md's numbers.
  const kl = plots["iter-kl"].series;
  assert.deepEqual(kl.map((s) => [s.name, s.baseline === true]), [
    ["default", false],
    ["SPIN α = 1 (stored, docs/results.md)", true],
    ["continued SFT (stored, docs/results.md)", true],
  ]);
  assert.deepEqual(kl[2].points, storedSequenceResults.sft.kl.map((y, t) => [t, y]));
  assert.deepEqual(plots["iter-exactMatch"].series[1].points, [[3, 0.7935]]);
  assert.deepEqual(plots["step-loss"].segmentLabels, ["t = 1", "t = 2", "t = 3"]);
  assert.deepEqual(plots["step-loss"].separators, [6.5, 12.5]);

  const html = renderReport(data);
  for (const m of metricGlossary) assert.ok(html.includes(`<dt>${m.name.replace(/&/g, "&amp;")}</dt>`), m.name);
  for (const name of ["rewards/margins", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "loss"]) {
    assert.ok(metricGlossary.some((m) => m.name === name), `${name} is explained`);
  }
  const tables = [...html.matchAll(/<table class="samples" data-iteration="(\d)">([\s\S]*?)<\/table>/g)];
  assert.deepEqual(tables.map((m) => m[1]), ["1", "2", "3"]);
  for (const [, t, body] of tables) {
    const heads = [...body.matchAll(/<th>([\s\S]*?)<\/th>/g)].map((m) => m[1].replace(/<[^>]+>/g, ""));
    assert.deepEqual(heads, [
      "prompt",
      "data's answer (winner)",
      `opponent π${Number(t) - 1}'s answer (loser, sampled)`,
      `new model π${t}'s answer (greedy)`,
    ]);
    assert.equal(body.match(/<tr>/g)?.length, 3, "a header and two prompts");
  }
  assert.ok(html.includes("<code>rev &lt;abc&gt;</code>"), "prompts are escaped");
  assert.ok(html.includes(`<span class="empty-answer">(empty)</span>`), "an empty answer is shown as such");
  assert.ok(html.includes("Stored baselines come from docs/results.md."));
});

/** Measures the laid-out page after the charts are drawn and writes the findings on <body>. */
const probe = `<script>
document.addEventListener("DOMContentLoaded", function () {
  var plots = document.querySelectorAll("div.plot"), below = 0, left = 0, legends = 0;
  for (var i = 0; i < plots.length; i++) {
    var frame = plots[i].querySelector("rect.frame"), legend = plots[i].querySelector("div.legend");
    var yl = plots[i].querySelector("text.y-label");
    if (legend && frame && !legend.closest("svg")) {
      legends++;
      if (legend.getBoundingClientRect().top >= frame.getBoundingClientRect().bottom) below++;
    }
    if (yl && frame && yl.textContent && yl.getBoundingClientRect().right <= frame.getBoundingClientRect().left) left++;
  }
  var b = document.body;
  b.setAttribute("data-probe-plots", String(plots.length));
  b.setAttribute("data-probe-legends", String(legends));
  b.setAttribute("data-probe-legends-below", String(below));
  b.setAttribute("data-probe-ylabels-left", String(left));
  // The page's extent: the rightmost edge of anything not inside a sideways-scrolling table box.
  var right = 0, wide = [], all = document.querySelectorAll("body *");
  var limit = document.documentElement.getBoundingClientRect().width;
  for (var j = 0; j < all.length; j++) {
    if (all[j].closest(".table-wrap")) continue;
    var r = all[j].getBoundingClientRect();
    right = Math.max(right, r.right);
    if (r.right > limit + 0.5 && wide.length < 3) wide.push(all[j].tagName + "." + all[j].getAttribute("class") + " " + Math.round(r.right));
  }
  b.setAttribute("data-probe-scroll-width", String(Math.ceil(right - 0.5)));
  b.setAttribute("data-probe-wide", wide.join(", "));
  b.setAttribute("data-probe-references", String(document.querySelectorAll("line.reference").length));
  b.setAttribute("data-probe-baseline-paths", String(document.querySelectorAll("path.baseline").length));
});
</script>`;

const attr = (dom: string, name: string): number => {
  const m = dom.match(new RegExp(`${name}="(\\d+)"`));
  assert.ok(m !== null, `${name} is set (the page's scripts ran)`);
  return Number(m[1]);
};

/** Pixels within `tolerance` (sum of |Δ| over RGB) of `rgb`. */
const countColour = (png: ReturnType<typeof decodePng>, rgb: readonly number[], tolerance = 40): number => {
  let n = 0;
  for (let y = 0; y < png.height; y += 1) {
    for (let x = 0; x < png.width; x += 1) {
      const p = png.pixel(x, y);
      if (Math.abs(p[0] - rgb[0]) + Math.abs(p[1] - rgb[1]) + Math.abs(p[2] - rgb[2]) < tolerance) n++;
    }
  }
  return n;
};

test("report in headless Chromium at 1280 and 420 px: drawn, legends below the plots, no sideways scroll, screenshots", async () => {
  const dir = await mkdtemp(join(tmpdir(), "alpha-spin-report-shot-"));
  try {
    const page = join(dir, "report.html");
    await writeFile(page, renderReport(data));
    const expected = Object.keys(reportPlots(data)).length;
    for (const width of [1280, 420]) {
      // Headless Chromium lays --dump-dom out at least 500 px wide: pin the page to the width instead.
      const probed = join(dir, `probed-${width}.html`);
      await writeFile(probed, renderReport(data).replace("</body>", `<style>html { width: ${width}px; }</style>${probe}\n</body>`));
      const dom = await runChromium([`--window-size=${width},2400`, "--dump-dom", `file://${probed}`], join(dir, `dom-${width}`));
      assert.equal(attr(dom, "data-plots-drawn"), expected, `${width}: every chart drawn`);
      assert.equal(attr(dom, "data-probe-plots"), expected);
      assert.equal(attr(dom, "data-probe-legends"), expected, `${width}: every chart has an HTML legend outside its SVG`);
      assert.equal(attr(dom, "data-probe-legends-below"), expected, `${width}: every legend is below its plot area`);
      assert.equal(attr(dom, "data-probe-ylabels-left"), expected, `${width}: every y label is left of its plot area`);
      const wide = dom.match(/data-probe-wide="([^"]*)"/)?.[1];
      assert.ok(attr(dom, "data-probe-scroll-width") <= width, `${width}: no sideways scrolling (scroll width ${attr(dom, "data-probe-scroll-width")}; too wide: ${wide})`);
      assert.equal(attr(dom, "data-probe-references"), 3, "the base line on KL, exact match and NLL");
      assert.equal(attr(dom, "data-probe-baseline-paths"), 2, "the two stored KL curves (the others are single points)");

      const shot = join(dir, `shot-${width}.png`);
      const height = width === 1280 ? 1600 : 2400;
      await runChromium(["--hide-scrollbars", `--window-size=${width},${height}`, `--screenshot=${shot}`, `file://${page}`], join(dir, `shot-${width}`));
      const png = decodePng(new Uint8Array(await readFile(shot)));
      assert.equal(png.width, width);
      assert.equal(png.height, height);
      const white = countColour(png, [255, 255, 255], 6);
      const ink = 1 - white / (png.width * png.height);
      assert.ok(ink > 0.03 && ink < 0.6, `${width}: the page is neither blank nor a solid block (${(ink * 100).toFixed(1)} % ink)`);
      assert.ok(countColour(png, [31, 119, 180]) > 200, `${width}: the run's line (blue) is drawn`);
      assert.ok(countColour(png, [148, 103, 189]) > 50, `${width}: the continued-SFT baseline (purple) is drawn`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, { skip: chromiumMissing, timeout: 600_000 });
