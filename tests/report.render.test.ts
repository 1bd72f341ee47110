/**
 * The HTML report: self-contained (no external resources), data embedded safely, one chart per
 * metric; and, in headless Chromium (/usr/bin/chromium, started with the networking features off),
 * the inline script draws every chart (data-drawn markers, SVG paths with coordinates) and a
 * screenshot shows the series colours inside the first chart. Skipped only when Chromium is absent.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, test } from "./harness.ts";
import { chromiumMissing, runChromium } from "./chromium.support.ts";
import { decodePng } from "./png.support.ts";
import { renderReport, reportPlots } from "../eval/report.ts";
import { formatIterationTable, summarizeTraining } from "../eval/report-table.ts";
import type { ReportData } from "../eval/report-types.ts";

const steps = (shift: number) =>
  [1, 2].flatMap((iteration) =>
    Array.from({ length: 4 }, (_, k) => ({
      iteration,
      step: k + 1,
      epoch: (k + 1) / 2,
      loss: 0.69 - 0.05 * k - shift,
      "rewards/margins": 0.2 * k + shift,
      "rewards/accuracies": 0.5 + 0.1 * k,
      "rewards/chosen": 0.1 * k,
      "rewards/rejected": -0.1 * k,
    }))
  );
const rows = (shift: number) =>
  [0, 1, 2].map((t) => ({
    iteration: t,
    exactMatch: 0.6 + 0.1 * t,
    kl: 1 - 0.3 * t + shift,
    heldOutNll: 0.8 - 0.1 * t,
    rewardMargin: t === 0 ? null : 0.4 * t,
    rewardAccuracy: t === 0 ? null : 0.7 + 0.1 * t,
  }));
const data: ReportData = {
  title: "report </script><b>test</b>",
  subtitle: "two variants",
  variants: [
    { name: "h=1", settings: { h: 1, alpha: 0.9 }, iterations: rows(0), steps: steps(0) },
    { name: "h=all", settings: { h: "all" }, iterations: rows(0.2), steps: steps(0.05) },
  ],
  notes: ["command: alpha-spin spin --variants h=1,all"],
};

test("the report is self-contained and its embedded data cannot close the script element", () => {
  const html = renderReport(data);
  assert.ok(!/\s(src|href)\s*=/.test(html), "no external resource");
  assert.ok(!/<link|@import|url\(/.test(html), "no stylesheet or font fetch");
  assert.equal(html.match(/<\/script>/g)?.length, 2, "only the two script elements close");
  assert.ok(html.includes("report &lt;/script&gt;&lt;b&gt;test&lt;/b&gt;"), "the title is escaped");
  const plots = Object.keys(reportPlots(data));
  assert.equal(plots.length, 5 + 5);
  for (const key of plots) assert.ok(html.includes(`data-plot="${key}"`), key);
});

test("plot specs: one series per variant, iteration 0 included, separators between iterations", () => {
  const plots = reportPlots(data);
  assert.deepEqual(plots["iter-kl"].series.map((s) => s.name), ["h=1", "h=all"]);
  assert.deepEqual(plots["iter-kl"].series[1].points.map((p) => p[0]), [0, 1, 2]);
  assert.deepEqual(plots["step-loss"].separators, [4.5]);
  assert.equal(plots["step-rewards/margins"].series[0].points.length, 8);
  assert.ok(Number.isNaN(plots["iter-rewardMargin"].series[0].points[0][1]), "no reward at the base");
});

test("summarizeTraining averages the last epoch; the text table shows every iteration", () => {
  const s = summarizeTraining(steps(0).filter((r) => r.iteration === 1));
  // last epoch = steps with epoch in (1, 2]: k = 2, 3 → margins 0.4, 0.6; accuracies 0.7, 0.8
  assert.ok(Math.abs((s.rewardMargin ?? NaN) - 0.5) < 1e-12);
  assert.ok(Math.abs((s.rewardAccuracy ?? NaN) - 0.75) < 1e-12);
  const table = formatIterationTable(rows(0)).split("\n");
  assert.equal(table.length, 4);
  assert.ok(table[1].startsWith("0 (base)") && table[1].includes("—"));
  assert.ok(table[3].includes("0.4000") && table[3].includes("0.8000"), table[3]);
});


test("in headless Chromium the inline script draws every chart", async () => {
  const dir = await mkdtemp(join(tmpdir(), "alpha-spin-report-"));
  try {
    const page = join(dir, "report.html");
    await writeFile(page, renderReport(data));
    const dom = await runChromium(["--dump-dom", `file://${page}`], join(dir, "profile-dom"));
    const expected = Object.keys(reportPlots(data)).length;
    assert.ok(dom.includes(`data-plots-drawn="${expected}"`), "the script marked every chart drawn");
    assert.equal(dom.match(/data-drawn="true"/g)?.length, expected);
    const paths = [...dom.matchAll(/<path d="([^"]*)"/g)].map((m) => m[1]);
    assert.equal(paths.length, expected * 2, "one line per variant in every chart");
    for (const d of paths) assert.ok(/^M[\d.]+ [\d.]+( L[\d.]+ [\d.]+)+$/.test(d), `a drawn line: ${d.slice(0, 40)}`);

    const shot = join(dir, "shot.png");
    await runChromium(["--hide-scrollbars", "--window-size=1200,900", `--screenshot=${shot}`, `file://${page}`], join(dir, "profile-shot"));
    const png = decodePng(new Uint8Array(await readFile(shot)));
    assert.equal(png.width, 1200);
    // The first chart (the KL plot) sits at the top left of the page: look for both series colours in it.
    const seen = new Set<string>();
    for (let y = 100; y < 480; y++) {
      for (let x = 0; x < 520; x++) {
        const [r, g, b] = png.pixel(x, y);
        if (Math.abs(r - 31) + Math.abs(g - 119) + Math.abs(b - 180) < 40) seen.add("blue");
        if (Math.abs(r - 214) + Math.abs(g - 39) + Math.abs(b - 40) < 40) seen.add("red");
      }
    }
    assert.deepEqual([...seen].sort(), ["blue", "red"], "both series are drawn in the first chart");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, { skip: chromiumMissing, timeout: 120_000 });
