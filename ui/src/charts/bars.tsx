import type { JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { init, use } from "echarts/core";
import { BarChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { SVGRenderer } from "echarts/renderers";

use([BarChart, GridComponent, LegendComponent, TooltipComponent, SVGRenderer]);

/** Bars side by side per category, one series each (e.g. a reference's and a window's share per bin). */
export function GroupedBars(props: {
  label: string;
  categories: readonly string[];
  series: readonly { name: string; color: string; values: readonly number[] }[];
  format: (v: number) => string;
}): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const fg = getComputedStyle(document.documentElement).getPropertyValue("--fg").trim() || "#333";
    const chart = init(el, undefined, { renderer: "svg" });
    chart.setOption({
      textStyle: { color: fg },
      legend: { top: 0, textStyle: { color: fg } },
      tooltip: { trigger: "axis", valueFormatter: (v: number) => props.format(v) },
      grid: { left: 50, right: 10, top: 30, bottom: 60 },
      xAxis: { type: "category", data: [...props.categories], axisLabel: { color: fg, rotate: 30, fontSize: 9 } },
      yAxis: { type: "value", axisLabel: { color: fg, formatter: (v: number) => props.format(v) } },
      series: props.series.map((s) => ({
        name: s.name,
        type: "bar",
        data: [...s.values],
        itemStyle: { color: s.color },
      })),
    });
    const resize = new ResizeObserver(() => chart.resize());
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.dispose();
    };
  }, [props.categories, props.series]);
  return <div ref={box} style={{ height: "280px" }} role="img" aria-label={props.label} />;
}
