/**
 * The drift report as one self-contained HTML file: inline CSS, inline SVG bar charts, no
 * scripts, no external assets — readable offline and attachable to a ticket.
 */
import type { ColumnHistogram, DriftReport } from "./drift-report.js";

const REF_COLOR = "#3b6fb6";
const CUR_COLOR = "#e07b28";
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

function proportions(counts: Float64Array): Float64Array {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  const out = new Float64Array(counts.length);
  if (total > 0) for (let i = 0; i < counts.length; i++) out[i] = counts[i]! / total;
  return out;
}

/** At most this many bars per chart: the largest categories, the rest summed as "(other)". */
const MAX_BARS = 30;

function capCategories(h: ColumnHistogram): ColumnHistogram {
  if (h.labels.length <= MAX_BARS) return h;
  const ref = proportions(h.reference);
  const cur = proportions(h.current);
  const order = Array.from(h.labels.keys()).sort((a, b) => Math.max(ref[b]!, cur[b]!) - Math.max(ref[a]!, cur[a]!));
  const keep = order.slice(0, MAX_BARS - 1).sort((a, b) => a - b);
  const labels = keep.map((i) => h.labels[i]!);
  const reference = new Float64Array(MAX_BARS);
  const current = new Float64Array(MAX_BARS);
  keep.forEach((i, k) => {
    reference[k] = h.reference[i]!;
    current[k] = h.current[i]!;
  });
  for (const i of order.slice(MAX_BARS - 1)) {
    reference[MAX_BARS - 1]! += h.reference[i]!;
    current[MAX_BARS - 1]! += h.current[i]!;
  }
  return { name: h.name, labels: [...labels, "(other)"], reference, current };
}

/**
 * Grouped bars of reference vs current proportions per bin; empty outer bins are dropped and
 * high-cardinality categoricals are capped at MAX_BARS bars.
 */
export function histogramSvg(hist: ColumnHistogram): string {
  const h = capCategories(hist);
  let first = 0;
  let last = h.labels.length - 1;
  while (first < last && h.reference[first] === 0 && h.current[first] === 0) first++;
  while (last > first && h.reference[last] === 0 && h.current[last] === 0) last--;
  const ref = proportions(h.reference);
  const cur = proportions(h.current);
  const n = last - first + 1;
  const width = 640;
  const height = 220;
  const left = 64;
  const bottom = 58;
  const top = 12;
  const plotW = width - left - 8;
  const plotH = height - top - bottom;
  let max = 0;
  for (let i = first; i <= last; i++) max = Math.max(max, ref[i]!, cur[i]!);
  if (max === 0) max = 1;
  const slot = plotW / n;
  const bar = Math.max(1, slot * 0.4);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="hist" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(h.name)} reference vs current">`,
  );
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  for (let t = 0; t <= 4; t++) {
    const y = top + plotH - (plotH * t) / 4;
    parts.push(`<line x1="${left}" y1="${y.toFixed(1)}" x2="${width - 8}" y2="${y.toFixed(1)}" stroke="#e3e3e3"/>`);
    parts.push(
      `<text x="${left - 4}" y="${(y + 4).toFixed(1)}" font-size="10" text-anchor="end" fill="#555">${(((max * t) / 4) * 100).toFixed(0)}%</text>`,
    );
  }
  for (let k = 0; k < n; k++) {
    const i = first + k;
    const x = left + k * slot + slot * 0.1;
    const hr = (ref[i]! / max) * plotH;
    const hc = (cur[i]! / max) * plotH;
    parts.push(
      `<rect class="bar-ref" x="${x.toFixed(1)}" y="${(top + plotH - hr).toFixed(1)}" width="${bar.toFixed(1)}" height="${hr.toFixed(1)}" fill="${REF_COLOR}"><title>reference ${esc(h.labels[i] ?? "")}: ${(ref[i]! * 100).toFixed(2)}%</title></rect>`,
    );
    parts.push(
      `<rect class="bar-cur" x="${(x + bar).toFixed(1)}" y="${(top + plotH - hc).toFixed(1)}" width="${bar.toFixed(1)}" height="${hc.toFixed(1)}" fill="${CUR_COLOR}"><title>current ${esc(h.labels[i] ?? "")}: ${(cur[i]! * 100).toFixed(2)}%</title></rect>`,
    );
    if (n <= 24 && (n <= 12 || k % 2 === 0)) {
      const lx = left + k * slot + slot / 2;
      parts.push(
        `<text x="${lx.toFixed(1)}" y="${top + plotH + 12}" font-size="9" text-anchor="end" fill="#333" transform="rotate(-30 ${lx.toFixed(1)} ${top + plotH + 12})">${esc(truncate(h.labels[i] ?? "", 16))}</text>`,
      );
    }
  }
  parts.push(`<line x1="${left}" y1="${top + plotH}" x2="${width - 8}" y2="${top + plotH}" stroke="#888"/>`);
  parts.push(`</svg>`);
  return parts.join("");
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n - 1) + "…";
}

export interface HtmlOptions {
  readonly title?: string;
  readonly referenceLabel?: string;
  readonly currentLabel?: string;
  /** Shown in the header; pass the clock's time in (no hidden `Date.now()`). */
  readonly generatedAt?: Date;
}

/** Render the report. Columns appear in the report's order; drifted ones are marked. */
export function renderDriftHtml(report: DriftReport, options: HtmlOptions = {}): string {
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
      return `<section class="feature" id="col-${esc(c.name)}"><h2>${esc(c.name)} <small>${c.method}, statistic ${num(c.statistic)}${c.p_value === null ? "" : `, p ${num(c.p_value)}`}${c.psi === null ? "" : `, PSI ${num(c.psi)}`} — ${c.drift ? "drift" : "no drift"}</small></h2>${histogramSvg(h)}</section>`;
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
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px -2px 12px}.meta{color:#555;font-size:13px}
</style></head><body>
<h1>${esc(title)}</h1>
<p class="meta">Reference: ${esc(options.referenceLabel ?? "reference")} (${report.reference_rows} rows) · Current: ${esc(options.currentLabel ?? "current")} (${report.current_rows} rows) · method ${report.method} · ${report.drifted_columns} of ${report.columns.length} columns drifted${options.generatedAt ? ` · ${esc(options.generatedAt.toISOString())}` : ""}</p>
<p class="legend"><span style="background:${REF_COLOR}"></span>reference<span style="background:${CUR_COLOR}"></span>current</p>
<table><thead><tr><th>column</th><th>type</th><th>method</th><th>statistic</th><th>p-value</th><th>PSI</th><th>drift</th><th>severity</th><th>nulls (ref)</th><th>nulls (cur)</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${skipped}
${sections}
</body></html>
`;
}
