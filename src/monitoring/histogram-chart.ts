/**
 * The drift histogram chart, defined once: reference vs current share of each bin as an ECharts
 * option. The web UI's monitoring page draws it in the browser, `keel drift --html` draws it to
 * inline SVG on the server (chart-svg.ts), so both show the same chart. Pure: only echarts' types
 * are imported here, and the web UI imports this file directly.
 */
import type { BarSeriesOption } from "echarts/charts";
import type {
  AriaComponentOption,
  GridComponentOption,
  LegendComponentOption,
  TooltipComponentOption,
} from "echarts/components";
import type { ComposeOption } from "echarts/core";

export type HistogramChartOption = ComposeOption<
  BarSeriesOption | GridComponentOption | LegendComponentOption | TooltipComponentOption | AriaComponentOption
>;

export const REFERENCE_COLOR = "#3b6fb6";
export const CURRENT_COLOR = "#e07b28";
/** Drawing size of the chart (px); the UI stretches the width to its box. */
export const HISTOGRAM_CHART_WIDTH = 640;
export const HISTOGRAM_CHART_HEIGHT = 260;
/** At most this many bars per sample: the largest categories, the rest summed as "(other)". */
export const MAX_BARS = 30;
/** Axis labels longer than this are cut (the tooltip and the description keep the whole label). */
const MAX_LABEL_CHARS = 16;

/** Counts per bin of one column, the reference's next to the current sample's. */
export interface BinCounts {
  readonly name: string;
  readonly labels: readonly string[];
  readonly reference: ArrayLike<number>;
  readonly current: ArrayLike<number>;
}

/** Each sample's share of rows per bin (each sums to 1 unless the sample is empty). */
export interface BinShares {
  readonly name: string;
  readonly labels: readonly string[];
  readonly reference: Float64Array;
  readonly current: Float64Array;
}

function proportions(counts: ArrayLike<number>): Float64Array {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  const out = new Float64Array(counts.length);
  if (total > 0) for (let i = 0; i < counts.length; i++) out[i] = counts[i]! / total;
  return out;
}

/** Above MAX_BARS bins: keep the MAX_BARS - 1 largest (by either sample's share), sum the rest as "(other)". */
export function capCategories(h: BinCounts): BinCounts {
  if (h.labels.length <= MAX_BARS) return h;
  const ref = proportions(h.reference);
  const cur = proportions(h.current);
  const order = Array.from(h.labels.keys()).sort((a, b) => Math.max(ref[b]!, cur[b]!) - Math.max(ref[a]!, cur[a]!));
  const keep = order.slice(0, MAX_BARS - 1).sort((a, b) => a - b);
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
  return { name: h.name, labels: [...keep.map((i) => h.labels[i]!), "(other)"], reference, current };
}

/**
 * What the chart shows: high-cardinality categoricals capped, shares per bin, and the outer bins
 * empty in both samples dropped (numeric histograms span the union of both ranges).
 */
export function histogramShares(hist: BinCounts): BinShares {
  const h = capCategories(hist);
  const ref = proportions(h.reference);
  const cur = proportions(h.current);
  let first = 0;
  let last = h.labels.length - 1;
  while (first < last && ref[first] === 0 && cur[first] === 0) first++;
  while (last > first && ref[last] === 0 && cur[last] === 0) last--;
  return {
    name: h.name,
    labels: h.labels.slice(first, last + 1),
    reference: ref.slice(first, last + 1),
    current: cur.slice(first, last + 1),
  };
}

const percent = (share: number, digits: number) => `${(share * 100).toFixed(digits)}%`;

function truncate(s: string): string {
  return s.length <= MAX_LABEL_CHARS ? s : s.slice(0, MAX_LABEL_CHARS - 1) + "…";
}

/** The chart in words for screen readers: the bins and where the samples differ most. */
export function histogramChartDescription(s: BinShares): string {
  let widest = 0;
  for (let i = 1; i < s.labels.length; i++) {
    if (Math.abs(s.reference[i]! - s.current[i]!) > Math.abs(s.reference[widest]! - s.current[widest]!)) widest = i;
  }
  const n = s.labels.length;
  const gap =
    n === 0
      ? ""
      : `; largest difference at ${s.labels[widest]}: reference ${percent(s.reference[widest]!, 1)}, current ${percent(s.current[widest]!, 1)}`;
  return `${s.name}: reference vs current share per bin, ${n} ${n === 1 ? "bin" : "bins"}${gap}`;
}

export interface HistogramChartStyle {
  /** Axis labels and legend (the UI passes its theme's foreground). */
  readonly textColor?: string;
  /** Grid lines. */
  readonly gridColor?: string;
}

/** Grouped bars, reference next to current, of each bin's share of the sample's rows. */
export function histogramChartOption(hist: BinCounts, style: HistogramChartStyle = {}): HistogramChartOption {
  const s = histogramShares(hist);
  const text = style.textColor ?? "#333";
  const many = s.labels.length > 8;
  return {
    animation: false,
    color: [REFERENCE_COLOR, CURRENT_COLOR],
    textStyle: { color: text },
    aria: { enabled: true, label: { description: histogramChartDescription(s) } },
    legend: { top: 0, textStyle: { color: text } },
    tooltip: { trigger: "axis", valueFormatter: (v) => (typeof v === "number" ? percent(v, 2) : String(v)) },
    grid: { left: 56, right: 16, top: 32, bottom: many ? 64 : 40 },
    xAxis: {
      type: "category",
      data: [...s.labels],
      axisLabel: { color: text, rotate: many ? 30 : 0, hideOverlap: true, formatter: truncate },
      axisTick: { alignWithLabel: true },
    },
    yAxis: {
      type: "value",
      name: "share of rows",
      nameTextStyle: { color: text, align: "left" },
      // Ticks are round shares: 0.5% stays, 10.0% reads 10%.
      axisLabel: { color: text, formatter: (v: number) => `${Number((v * 100).toFixed(1))}%` },
      splitLine: { lineStyle: { color: style.gridColor ?? "#e3e3e3" } },
    },
    series: [
      { name: "reference", type: "bar", data: Array.from(s.reference), barGap: "0%", barCategoryGap: "20%" },
      { name: "current", type: "bar", data: Array.from(s.current) },
    ],
  };
}
