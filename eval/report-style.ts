/**
 * The report's inline stylesheet (no web fonts, no external resources).
 *
 * @module
 */

/**
 * CSS of the HTML report.
 *
 * @example
 * ```ts
 * const head = `<style>${reportStyle}</style>`;
 * ```
 */
export const reportStyle: string = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 22px; margin: 0 0 6px; }
h2 { font-size: 17px; margin: 26px 0 10px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 14px 0 6px; }
.subtitle { max-width: 900px; line-height: 1.4; }
.meta { color: #666; font-size: 12px; }
.warning { background: #fff3cd; padding: 8px; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; }
.plot { border: 1px solid #e3e3e3; border-radius: 4px; background: #fff; min-width: 460px; min-height: 280px; }
svg.chart { display: block; font-size: 11px; }
.chart-title { font-weight: 600; font-size: 13px; fill: #222; }
.grid line { stroke: #ececec; stroke-width: 1; }
.frame { fill: none; stroke: #999; stroke-width: 1; }
.separator { stroke: #888; stroke-dasharray: 4 3; stroke-width: 1; }
.tick { fill: #555; }
.axis-label { fill: #333; }
.legend-text { fill: #222; }
.empty { fill: #999; }
table { border-collapse: collapse; font-size: 13px; margin-bottom: 8px; }
th, td { border: 1px solid #ddd; padding: 3px 10px; text-align: right; }
th { background: #f5f5f5; }
td:first-child, th:first-child { text-align: left; }
.settings code { background: #f4f4f4; padding: 1px 4px; margin-right: 4px; font-size: 12px; }
.notes { font-size: 13px; }
`;
