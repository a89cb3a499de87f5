import type { JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  readonly label: string;
  /** Points (x, y); series may have different x values. */
  readonly points: readonly (readonly [number, number])[];
}

const COLORS = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

/** uPlot wants one shared x axis: the union of every series' x, gaps where a series has no point. */
function aligned(series: readonly Series[]): uPlot.AlignedData {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const y: (number | null)[] = xs.map(() => null);
    for (const [x, v] of s.points) y[index.get(x)!] = v;
    return y;
  });
  return [xs, ...ys];
}

/** A line chart (metric history, time series), overlaid series, with a text summary for screen readers. */
export function LineChart(props: {
  title: string;
  series: readonly Series[];
  xLabel?: string;
  time?: boolean;
  height?: number;
}): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const axisColor = getComputedStyle(document.documentElement).getPropertyValue("--fg").trim() || "#333";
    const plot = new uPlot(
      {
        width: Math.max(280, el.clientWidth),
        height: props.height ?? 240,
        scales: { x: { time: props.time === true } },
        axes: [
          { stroke: axisColor, label: props.xLabel ?? "", grid: { stroke: "rgba(128,128,128,0.2)" } },
          { stroke: axisColor, grid: { stroke: "rgba(128,128,128,0.2)" } },
        ],
        series: [
          {},
          ...props.series.map((s, i) => ({
            label: s.label,
            stroke: COLORS[i % COLORS.length]!,
            width: 2,
            spanGaps: true,
            points: { show: s.points.length < 60 },
          })),
        ],
      },
      aligned(props.series),
      el,
    );
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(280, el.clientWidth), height: props.height ?? 240 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [props.series, props.time, props.height]);
  const summary = props.series
    .map((s) => {
      const last = s.points[s.points.length - 1];
      return `${s.label}: ${s.points.length} points${last === undefined ? "" : `, last ${last[1]}`}`;
    })
    .join("; ");
  return (
    <figure class="card">
      <figcaption>
        <strong>{props.title}</strong> <span class="muted">{summary}</span>
      </figcaption>
      <div ref={box} class="chart" role="img" aria-label={`${props.title}: ${summary}`} />
    </figure>
  );
}
