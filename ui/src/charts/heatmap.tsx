import type { JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { init, use } from "echarts/core";
import { HeatmapChart } from "echarts/charts";
import { GridComponent, TooltipComponent, VisualMapComponent } from "echarts/components";
import { SVGRenderer } from "echarts/renderers";

use([HeatmapChart, GridComponent, TooltipComponent, VisualMapComponent, SVGRenderer]);

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;

/**
 * Shares as colour: one column per x label, one cell per y label, `shares[x][y]` in [0, 1] (null:
 * nothing to show, e.g. a window without traffic). `summary` is what a screen reader hears.
 */
export function ShareHeatmap(props: {
  title: string;
  xLabels: readonly string[];
  yLabels: readonly string[];
  shares: readonly (readonly number[] | null)[];
  summary: string;
  xName: string;
  yName: string;
}): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const fg = getComputedStyle(document.documentElement).getPropertyValue("--fg").trim() || "#333";
    const data: [number, number, number][] = [];
    let max = 0.01;
    props.shares.forEach((col, x) =>
      col?.forEach((v, y) => {
        data.push([x, y, v]);
        if (v > max) max = v;
      }),
    );
    const chart = init(el, undefined, { renderer: "svg" });
    chart.setOption({
      textStyle: { color: fg },
      tooltip: {
        formatter: (p: { value: [number, number, number] }) =>
          `${props.xLabels[p.value[0]]}<br/>${props.yName} ${props.yLabels[p.value[1]]}: ${pct(p.value[2])}`,
      },
      grid: { left: 90, right: 20, top: 10, bottom: 80 },
      xAxis: {
        type: "category",
        data: [...props.xLabels],
        name: props.xName,
        nameLocation: "middle",
        nameGap: 60,
        axisLabel: { color: fg, rotate: 30 },
      },
      yAxis: {
        type: "category",
        data: [...props.yLabels],
        name: props.yName,
        axisLabel: { color: fg, fontSize: 10, interval: 0 },
      },
      visualMap: {
        min: 0,
        max,
        calculable: true,
        orient: "horizontal",
        right: 20,
        bottom: 0,
        textStyle: { color: fg },
        formatter: (v: number) => pct(v),
        inRange: { color: ["#f7fbff", "#6baed6", "#08306b"] },
      },
      series: [{ type: "heatmap", data, emphasis: { itemStyle: { borderColor: fg, borderWidth: 1 } } }],
    });
    const resize = new ResizeObserver(() => chart.resize());
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.dispose();
    };
  }, [props.xLabels, props.yLabels, props.shares]);
  return <div ref={box} style={{ height: "380px" }} role="img" aria-label={`${props.title}: ${props.summary}`} />;
}
