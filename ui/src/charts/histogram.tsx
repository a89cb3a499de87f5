import type { JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { init, use } from "echarts/core";
import { BarChart } from "echarts/charts";
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { SVGRenderer } from "echarts/renderers";
import type { BinCounts } from "../../../src/monitoring/histogram-chart.js";
import {
  HISTOGRAM_CHART_HEIGHT,
  histogramChartDescription,
  histogramChartOption,
  histogramShares,
} from "../../../src/monitoring/histogram-chart.js";

use([BarChart, GridComponent, LegendComponent, TooltipComponent, AriaComponent, SVGRenderer]);

/** Reference vs current share per bin: the chart `keel drift --html` draws, here in the browser. */
export function HistogramChart(props: { title: string; hist: BinCounts }): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const css = getComputedStyle(document.documentElement);
    const chart = init(el, undefined, { renderer: "svg" });
    chart.setOption(
      histogramChartOption(props.hist, {
        textColor: css.getPropertyValue("--fg").trim() || "#333",
        gridColor: css.getPropertyValue("--line").trim() || "#e3e3e3",
      }),
    );
    const resize = new ResizeObserver(() => chart.resize());
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.dispose();
    };
  }, [props.hist]);
  return (
    <figure class="card">
      <figcaption>
        <strong>{props.title}</strong>
      </figcaption>
      <div
        ref={box}
        style={{ height: `${HISTOGRAM_CHART_HEIGHT}px` }}
        role="img"
        aria-label={histogramChartDescription(histogramShares(props.hist))}
      />
    </figure>
  );
}
