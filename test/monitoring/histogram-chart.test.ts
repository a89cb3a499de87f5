import { describe, expect, it } from "vitest";
import { renderChartSvg } from "../../src/monitoring/chart-svg.js";
import {
  CURRENT_COLOR,
  HISTOGRAM_CHART_HEIGHT,
  HISTOGRAM_CHART_WIDTH,
  REFERENCE_COLOR,
  histogramChartDescription,
  histogramChartOption,
  histogramShares,
} from "../../src/monitoring/histogram-chart.js";
import type { BinCounts } from "../../src/monitoring/histogram-chart.js";

/** 100 categories: the reference falls from c0, the current rises towards c99. */
const n = 100;
const city: BinCounts = {
  name: "city",
  labels: Array.from({ length: n }, (_, i) => `c${i}`),
  reference: Float64Array.from({ length: n }, (_, i) => n - i),
  current: Float64Array.from({ length: n }, (_, i) => i + 1),
};

const sum = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0);

/** A numeric histogram over the union of both ranges: the outer bins are empty in both samples. */
const income: BinCounts = {
  name: "income",
  labels: ["< 0", "0 – 10", "10 – 20", "20 – 30", "30 – 40", "> 40"],
  reference: [0, 6, 0, 3, 1, 0],
  current: [0, 0, 2, 2, 4, 0],
};

/** The bars of one series in ECharts' SVG: the height of each `<path>` drawn in that colour. */
function barHeights(svg: string, color: string): number[] {
  const bars = [
    ...svg.matchAll(
      /<path d="M[\d.]+ [\d.]+l[\d.]+ 0l0 (-?[\d.]+)l[^"]*Z" fill="([^"]+)"[^>]*ecmeta_ssr_type="chart"/g,
    ),
  ];
  return bars.filter((m) => m[2]!.toLowerCase() === color).map((m) => Math.abs(Number(m[1])));
}

describe("histogram chart option", () => {
  it("caps a high-cardinality categorical at 30 bars, the rest summed as (other)", () => {
    const s = histogramShares(city);
    expect(s.labels).toHaveLength(30);
    expect(s.labels.at(-1)).toBe("(other)");
    // The largest shares by either sample are at both ends: c0.. (reference) and ..c99 (current).
    expect(s.labels).toContain("c0");
    expect(s.labels).toContain("c99");
    expect(s.labels).not.toContain("c50");
    const kept = new Set(s.labels.slice(0, -1));
    const total = (n * (n + 1)) / 2;
    let otherRef = 0;
    let otherCur = 0;
    for (let i = 0; i < n; i++) {
      if (kept.has(`c${i}`)) continue;
      otherRef += n - i;
      otherCur += i + 1;
    }
    expect(s.reference.at(-1)).toBeCloseTo(otherRef / total, 12);
    expect(s.current.at(-1)).toBeCloseTo(otherCur / total, 12);
    expect(s.reference[0]).toBeCloseTo(n / total, 12);
  });

  it("drops the outer bins empty in both samples and keeps empty inner ones; each sample's shares sum to 1", () => {
    const s = histogramShares(income);
    expect(s.labels).toEqual(["0 – 10", "10 – 20", "20 – 30", "30 – 40"]);
    expect(Array.from(s.reference)).toEqual([0.6, 0, 0.3, 0.1]);
    expect(Array.from(s.current)).toEqual([0, 0.25, 0.25, 0.5]);
    expect(sum(histogramShares(city).reference)).toBeCloseTo(1, 12);
    expect(sum(histogramShares(city).current)).toBeCloseTo(1, 12);
  });

  it("labels the axes, the legend and the bars' colours, and describes the chart in words", () => {
    const long: BinCounts = { ...income, labels: ["< 0", "a very long category name", "b", "c", "d", "> 40"] };
    const o = histogramChartOption(long, { textColor: "#eee" });
    const x = o.xAxis as { data: string[]; axisLabel: { formatter: (s: string) => string } };
    expect(x.data).toEqual(["a very long category name", "b", "c", "d"]);
    expect(x.axisLabel.formatter("a very long category name")).toBe("a very long cat…");
    const y = o.yAxis as { axisLabel: { formatter: (v: number) => string } };
    expect([0, 0.005, 0.1, 0.125].map(y.axisLabel.formatter)).toEqual(["0%", "0.5%", "10%", "12.5%"]);
    expect(o.color).toEqual([REFERENCE_COLOR, CURRENT_COLOR]);
    const series = o.series as { name: string; data: number[] }[];
    expect(series.map((s) => s.name)).toEqual(["reference", "current"]);
    expect(series[1]!.data).toEqual([0, 0.25, 0.25, 0.5]);
    expect((o.legend as { textStyle: { color: string } }).textStyle.color).toBe("#eee");
    expect(histogramChartDescription(histogramShares(income))).toBe(
      "income: reference vs current share per bin, 4 bins; largest difference at 0 – 10: reference 60.0%, current 0.0%",
    );
    expect((o.aria as { label: { description: string } }).label.description).toContain("4 bins");
  });

  it("is drawn by ECharts to SVG with one bar per bin and sample, heights proportional to the shares", () => {
    const svg = renderChartSvg(histogramChartOption(income), HISTOGRAM_CHART_WIDTH, HISTOGRAM_CHART_HEIGHT, "h");
    expect(svg.startsWith("<svg")).toBe(true);
    const ref = barHeights(svg, REFERENCE_COLOR);
    const cur = barHeights(svg, CURRENT_COLOR);
    expect(ref).toHaveLength(4);
    expect(cur).toHaveLength(4);
    // Shares 0.6, 0, 0.3, 0.1 and 0, 0.25, 0.25, 0.5 on one y scale: compare with the largest bar (0.6).
    const unit = ref[0]! / 0.6;
    const drawn = [...ref, ...cur].map((h) => h / unit);
    const shares = [0.6, 0, 0.3, 0.1, 0, 0.25, 0.25, 0.5];
    drawn.forEach((d, i) => expect(Math.abs(d - shares[i]!)).toBeLessThan(0.01));
    for (const label of ["0 – 10", "30 – 40", "reference", "current"]) expect(svg).toContain(`>${label}</text>`);
  });

  it("escapes category labels in the SVG", () => {
    const svg = renderChartSvg(
      histogramChartOption({ name: "x", labels: ['<b>"a"&', "b"], reference: [1, 1], current: [2, 1] }),
      HISTOGRAM_CHART_WIDTH,
      HISTOGRAM_CHART_HEIGHT,
      "h",
    );
    expect(svg).not.toContain("<b>");
    expect(svg).toContain("&lt;b&gt;");
  });
});
