import type { JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { init, use } from "echarts/core";
import { ParallelChart } from "echarts/charts";
import { ParallelComponent, TooltipComponent, LegendComponent } from "echarts/components";
import { SVGRenderer } from "echarts/renderers";

use([ParallelChart, ParallelComponent, TooltipComponent, LegendComponent, SVGRenderer]);

export interface ParallelAxis {
  readonly name: string;
  /** Numbers, or category names when the axis is categorical. */
  readonly categories?: readonly string[];
}

/** Parallel coordinates: one line per run across its params and metrics. */
export function ParallelPlot(props: {
  title: string;
  axes: readonly ParallelAxis[];
  lines: readonly { name: string; values: (number | string | null)[] }[];
}): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const fg = getComputedStyle(document.documentElement).getPropertyValue("--fg").trim() || "#333";
    const chart = init(el, undefined, { renderer: "svg" });
    chart.setOption({
      textStyle: { color: fg },
      tooltip: { trigger: "item" },
      legend: { type: "scroll", top: 0, textStyle: { color: fg } },
      parallel: { left: 60, right: 80, top: 50, bottom: 30 },
      parallelAxis: props.axes.map((a, i) => ({
        dim: i,
        name: a.name,
        nameTextStyle: { color: fg },
        axisLabel: { color: fg },
        ...(a.categories === undefined
          ? { type: "value", scale: true }
          : { type: "category", data: [...a.categories] }),
      })),
      series: props.lines.map((l) => ({
        name: l.name,
        type: "parallel",
        lineStyle: { width: 2, opacity: 0.85 },
        data: [l.values],
      })),
    });
    const resize = new ResizeObserver(() => chart.resize());
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.dispose();
    };
  }, [props.axes, props.lines]);
  return (
    <figure class="card">
      <figcaption>
        <strong>{props.title}</strong>
      </figcaption>
      <div
        ref={box}
        style={{ height: "360px" }}
        role="img"
        aria-label={`${props.title}: ${props.lines.length} runs across ${props.axes.map((a) => a.name).join(", ")}`}
      />
    </figure>
  );
}
