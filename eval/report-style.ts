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
.caption { max-width: 980px; line-height: 1.4; font-size: 13px; color: #333; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 420px), 1fr)); gap: 12px; max-width: 1800px; }
.plot { border: 1px solid #e3e3e3; border-radius: 4px; background: #fff; min-width: 0; padding-bottom: 6px; }
svg.chart { display: block; width: 100%; height: auto; font-size: 11px; }
.chart-title { font-weight: 600; font-size: 13px; fill: #222; }
.grid line { stroke: #ececec; stroke-width: 1; }
.frame { fill: none; stroke: #999; stroke-width: 1; }
.separator { stroke: #888; stroke-dasharray: 4 3; stroke-width: 1; }
.segment-label { fill: #666; font-size: 10px; }
.reference { stroke: #555; stroke-dasharray: 2 2; stroke-width: 1.5; }
.tick { fill: #555; }
.axis-label { fill: #333; }
.legend { display: flex; flex-wrap: wrap; gap: 2px 14px; padding: 0 10px; font-size: 12px; color: #222; }
.legend-item { display: inline-flex; align-items: center; gap: 4px; }
.legend-item .swatch { flex: none; }
.empty { fill: #999; }
.glossary { max-width: 980px; font-size: 13px; line-height: 1.4; }
.glossary dt { font-weight: 600; margin-top: 6px; }
.glossary dd { margin: 0 0 0 18px; }
.table-wrap { max-width: 100%; overflow-x: auto; }
details.samples { margin: 6px 0 12px; }
details.samples summary { cursor: pointer; font-weight: 600; }
h4 { font-size: 13px; margin: 10px 0 4px; }
table.samples td { text-align: left; font-family: ui-monospace, Menlo, Consolas, monospace; white-space: pre-wrap; }
.empty-answer { color: #999; font-style: italic; }
.ok { color: #2a7d2a; }
.bad { color: #b22; }
@media (max-width: 600px) { body { margin: 10px; } th, td { padding: 2px 5px; } }
table { border-collapse: collapse; font-size: 13px; margin-bottom: 8px; }
th, td { border: 1px solid #ddd; padding: 3px 10px; text-align: right; }
th { background: #f5f5f5; }
td:first-child, th:first-child { text-align: left; }
.settings code { background: #f4f4f4; padding: 1px 4px; margin-right: 4px; font-size: 12px; }
.notes { font-size: 13px; }
`;
