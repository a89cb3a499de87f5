/**
 * The drift report as one self-contained HTML file: inline CSS, the web UI's histogram chart
 * (histogram-chart.ts) drawn by ECharts to inline SVG, no scripts, no external assets — readable
 * offline and attachable to a ticket.
 */
import type { renderChartSvg } from "./chart-svg.js";
import type { DriftReport } from "../stats/index.js";
import {
  HISTOGRAM_CHART_HEIGHT,
  HISTOGRAM_CHART_WIDTH,
  histogramChartDescription,
  histogramChartOption,
  histogramShares,
} from "./histogram-chart.js";
import type { BinCounts } from "./histogram-chart.js";

const SEVERITY_COLOR: Record<string, string> = {
  stable: "#2e7d32",
  minor: "#b59b00",
  moderate: "#e07b28",
  major: "#c62828",
};

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function num(v: number | null, digits = 4): string {
  if (v === null) return "—";
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e6)) return v.toExponential(2);
  return v.toFixed(digits);
}

// Type only: chart-svg.js (and echarts with it) is imported when a report is rendered.
type RenderChartSvg = typeof renderChartSvg;

/** One column's histogram: the shared chart drawn to SVG, described for screen readers. */
function histogramFigure(h: BinCounts, index: number, render: RenderChartSvg): string {
  const svg = render(histogramChartOption(h), HISTOGRAM_CHART_WIDTH, HISTOGRAM_CHART_HEIGHT, `hist${index}`);
  return `<figure class="chart" role="img" aria-label="${esc(histogramChartDescription(histogramShares(h)))}">${svg}</figure>`;
}

export interface HtmlOptions {
  readonly title?: string;
  readonly referenceLabel?: string;
  readonly currentLabel?: string;
  /** Shown in the header; pass the clock's time in (no hidden `Date.now()`). */
  readonly generatedAt?: Date;
}

/** Render the report. Columns appear in the report's order; drifted ones are marked. */
export async function renderDriftHtml(report: DriftReport, options: HtmlOptions = {}): Promise<string> {
  const { renderChartSvg } = await import("./chart-svg.js");
  const title = options.title ?? "keel drift report";
  const rows = report.columns
    .map((c) => {
      const sev = `<span class="sev" style="background:${SEVERITY_COLOR[c.severity] ?? "#777"}">${c.severity}</span>`;
      return `<tr${c.drift ? ' class="drift"' : ""}><td><a href="#col-${esc(c.name)}">${esc(c.name)}</a></td><td>${c.kind}</td><td>${c.method}</td><td class="n">${num(c.statistic)}</td><td class="n">${num(c.p_value)}</td><td class="n">${num(c.psi)}</td><td>${c.drift ? "<b>yes</b>" : "no"}</td><td>${sev}</td><td class="n">${(c.reference_null_rate * 100).toFixed(2)}%</td><td class="n">${(c.current_null_rate * 100).toFixed(2)}%</td></tr>`;
    })
    .join("\n");
  const skipped =
    report.skipped.length === 0
      ? ""
      : `<p class="skipped">Not tested: ${report.skipped.map((s) => `${esc(s.name)} (${esc(s.reason)})`).join(", ")}</p>`;
  const sections = report.columns
    .map((c, i) => {
      const h = report.histograms[i];
      if (!h) return "";
      return `<section class="feature" id="col-${esc(c.name)}"><h2>${esc(c.name)} <small>${c.method}, statistic ${num(c.statistic)}${c.p_value === null ? "" : `, p ${num(c.p_value)}`}${c.psi === null ? "" : `, PSI ${num(c.psi)}`} — ${c.drift ? "drift" : "no drift"}</small></h2>${histogramFigure(h, i, renderChartSvg)}</section>`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 6px}h2 small{font-weight:normal;color:#555}
table{border-collapse:collapse;background:#fff;margin:12px 0}th,td{border:1px solid #ddd;padding:4px 8px;font-size:13px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.drift td{background:#fff3f0}
.sev{color:#fff;border-radius:3px;padding:1px 6px;font-size:12px}
.feature{background:#fff;border:1px solid #ddd;padding:10px;margin:12px 0;display:inline-block;vertical-align:top}
figure.chart{margin:0}.meta{color:#555;font-size:13px}
</style></head><body>
<h1>${esc(title)}</h1>
<p class="meta">Reference: ${esc(options.referenceLabel ?? "reference")} (${report.reference_rows} rows) · Current: ${esc(options.currentLabel ?? "current")} (${report.current_rows} rows) · method ${report.method} · ${report.drifted_columns} of ${report.columns.length} columns drifted${options.generatedAt ? ` · ${esc(options.generatedAt.toISOString())}` : ""}</p>
<table><thead><tr><th>column</th><th>type</th><th>method</th><th>statistic</th><th>p-value</th><th>PSI</th><th>drift</th><th>severity</th><th>nulls (ref)</th><th>nulls (cur)</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${skipped}
${sections}
</body></html>
`;
}
