/**
 * The browser side of the HTML report: plain ES2017 JavaScript, inlined into the page, that reads
 * the report's JSON from `<script type="application/json" id="report-data">` and draws every
 * `<div class="plot" data-plot="…">` as an inline SVG line chart (axes with labels, grid, one line
 * per series, baselines dashed, horizontal reference lines, point markers with hover titles, dashed
 * separators between iterations labelled above the plot area) followed by an HTML legend below
 * the chart, so the legend never covers a line. The SVG scales to the page width. Each drawn
 * plot gets `data-drawn="true"` and `<body>` gets `data-plots-drawn="<count>"`, so a headless
 * browser can check that the script ran. No network, no library.
 *
 * @example
 * ```ts
 * const html = `<script>${reportScript}</script>`;
 * ```
 *
 * @module
 */

/**
 * The inline drawing script (a string of browser JavaScript; see the module doc).
 *
 * @example
 * ```ts
 * reportScript.includes("data-drawn"); // true
 * ```
 */
export const reportScript: string = String.raw`
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];
  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) node.setAttribute(k, String(attrs[k]));
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(parent, x, y, s, attrs) {
    var t = el("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    t.textContent = s;
    return t;
  }
  function niceStep(span, count) {
    var raw = span / Math.max(count, 1);
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var norm = raw / mag;
    var step = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
    return step * mag;
  }
  function ticks(lo, hi, count, integer) {
    if (!(hi > lo)) { hi = lo + 1; lo = lo - (integer ? 0 : 1); }
    var step = niceStep(hi - lo, count);
    if (integer) step = Math.max(1, Math.round(step));
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return out;
  }
  function ok(v) { return typeof v === "number" && isFinite(v); }
  function fmt(v) {
    var a = Math.abs(v);
    if (a === 0) return "0";
    if (a >= 1000 || a < 0.01) return v.toExponential(1);
    return String(Math.round(v * 1000) / 1000);
  }
  var BASELINE_COLORS = ["#222222", "#9467bd", "#8c564b", "#e377c2"];
  function legendItem(parent, color, label, kind) {
    var item = document.createElement("span");
    item.className = "legend-item legend-" + kind;
    var sw = el("svg", { width: 26, height: 10, "class": "swatch" }, item);
    var attrs = { x1: 1, x2: 25, y1: 5, y2: 5, stroke: color, "stroke-width": kind === "reference" ? 1.5 : 2.5 };
    if (kind === "baseline") attrs["stroke-dasharray"] = "6 3";
    if (kind === "reference") attrs["stroke-dasharray"] = "2 2";
    el("line", attrs, sw);
    item.appendChild(document.createTextNode(label));
    parent.appendChild(item);
  }
  function draw(container, spec, colorOf) {
    // Plot area: x from L to W - R, y from T to H - B. The y label sits left of the tick labels, the
    // iteration labels above the plot area, the legend below the chart (HTML): nothing covers a line.
    var W = 480, H = 300, L = 66, R = 14, T = 40, B = 44;
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "class": "chart", preserveAspectRatio: "xMinYMin meet" });
    svg.setAttribute("aria-label", spec.title);
    text(svg, 8, 17, spec.title, { "class": "chart-title" });
    var refs = spec.references || [];
    var xs = [], ys = [];
    spec.series.forEach(function (s) { s.points.forEach(function (p) { if (ok(p[1])) { xs.push(p[0]); ys.push(p[1]); } }); });
    if (xs.length === 0) {
      text(svg, W / 2, H / 2, "no data", { "text-anchor": "middle", "class": "empty" });
      container.appendChild(svg);
      container.setAttribute("data-drawn", "empty");
      return false;
    }
    refs.forEach(function (r) { if (ok(r.y)) ys.push(r.y); });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    if (spec.xMin !== undefined && spec.xMin !== null) x0 = Math.min(x0, spec.xMin);
    if (spec.yMin !== undefined && spec.yMin !== null) y0 = Math.min(y0, spec.yMin);
    if (spec.yMax !== undefined && spec.yMax !== null) y1 = Math.max(y1, spec.yMax);
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    if (y1 === y0) { y0 -= Math.abs(y0) * 0.1 + 0.5; y1 += Math.abs(y1) * 0.1 + 0.5; }
    // A margin above and below the data, except past a bound the quantity cannot cross (0 for a
    // magnitude, 1 for an accuracy): those axes start (or end) exactly there.
    var pad = (y1 - y0) * 0.06;
    if (!(spec.yMin === 0 && y0 === 0)) y0 -= pad;
    if (!(spec.yMax !== undefined && spec.yMax !== null && y1 === spec.yMax)) y1 += pad;
    var sx = function (x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
    var sy = function (y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
    var grid = el("g", { "class": "grid" }, svg);
    ticks(y0, y1, 5, false).forEach(function (v) {
      el("line", { x1: L, x2: W - R, y1: sy(v), y2: sy(v) }, grid);
      text(svg, L - 6, sy(v) + 4, fmt(v), { "text-anchor": "end", "class": "tick" });
    });
    ticks(x0, x1, 6, true).forEach(function (v) {
      el("line", { x1: sx(v), x2: sx(v), y1: T, y2: H - B, "class": "xgrid" }, grid);
      text(svg, sx(v), H - B + 16, fmt(v), { "text-anchor": "middle", "class": "tick" });
    });
    var seps = spec.separators || [];
    seps.forEach(function (v) {
      el("line", { x1: sx(v), x2: sx(v), y1: T - 12, y2: H - B, "class": "separator" }, svg);
    });
    var labels = spec.segmentLabels || [];
    if (labels.length === seps.length + 1) {
      var bounds = [x0].concat(seps, [x1]);
      labels.forEach(function (s, i) {
        text(svg, (sx(bounds[i]) + sx(bounds[i + 1])) / 2, T - 4, s, { "text-anchor": "middle", "class": "segment-label" });
      });
    }
    el("rect", { x: L, y: T, width: W - L - R, height: H - T - B, "class": "frame" }, svg);
    text(svg, (L + W - R) / 2, H - 8, spec.xLabel || "", { "text-anchor": "middle", "class": "axis-label x-label" });
    var ly = text(svg, 0, 0, spec.yLabel || "", { "text-anchor": "middle", "class": "axis-label y-label" });
    ly.setAttribute("transform", "translate(14 " + ((T + H - B) / 2) + ") rotate(-90)");
    var lines = el("g", { "class": "lines" }, svg);
    refs.forEach(function (r) {
      if (!ok(r.y)) return;
      el("line", { x1: L, x2: W - R, y1: sy(r.y), y2: sy(r.y), "class": "reference", "data-reference": r.name }, lines);
    });
    var drawn = 0, nBaseline = 0;
    var legend = document.createElement("div");
    legend.className = "legend";
    spec.series.forEach(function (s, i) {
      var color = s.baseline ? BASELINE_COLORS[nBaseline++ % BASELINE_COLORS.length] : colorOf(s.name, i);
      var d = "", pen = false, segments = 0, run = 0;
      s.points.forEach(function (p) {
        if (!ok(p[1])) { pen = false; run = 0; return; }
        d += (pen ? "L" : "M") + sx(p[0]).toFixed(2) + " " + sy(p[1]).toFixed(2) + " ";
        pen = true;
        if (++run === 2) segments++;
      });
      if (d === "") return;
      if (segments > 0) {
        var attrs = { d: d.trim(), stroke: color, fill: "none", "stroke-width": 2, "class": s.baseline ? "series baseline" : "series", "data-series": s.name };
        if (s.baseline) attrs["stroke-dasharray"] = "6 3";
        el("path", attrs, lines);
      }
      drawn++;
      if (spec.markers || s.baseline) {
        s.points.forEach(function (p) {
          if (!ok(p[1])) return;
          var c = el("circle", s.baseline
            ? { cx: sx(p[0]), cy: sy(p[1]), r: 4, fill: "#fff", stroke: color, "stroke-width": 2 }
            : { cx: sx(p[0]), cy: sy(p[1]), r: 3.5, fill: color }, lines);
          var tip = el("title", {}, c);
          tip.textContent = s.name + ": " + (spec.xLabel || "x").split(" (")[0] + " " + p[0] + ", " + fmt(p[1]);
        });
      }
      legendItem(legend, color, s.name, s.baseline ? "baseline" : "series");
    });
    refs.forEach(function (r) { if (ok(r.y)) legendItem(legend, "#555", r.name + " (" + fmt(r.y) + ")", "reference"); });
    container.appendChild(svg);
    container.appendChild(legend);
    container.setAttribute("data-drawn", drawn > 0 ? "true" : "empty");
    return drawn > 0;
  }
  function run() {
    var source = document.getElementById("report-data");
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var names = data.variants.map(function (v) { return v.name; });
    var colorOf = function (name, i) { var k = names.indexOf(name); return COLORS[(k < 0 ? i : k) % COLORS.length]; };
    var count = 0;
    var nodes = document.querySelectorAll("div.plot[data-plot]");
    for (var n = 0; n < nodes.length; n++) {
      var spec = data.plots[nodes[n].getAttribute("data-plot")];
      if (spec && draw(nodes[n], spec, colorOf)) count++;
    }
    document.body.setAttribute("data-plots-drawn", String(count));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();
`;
