/**
 * ECharts options drawn to SVG strings on the server, for reports that must be one file with no
 * scripts. Imported dynamically (drift-html.ts), so only a command that draws a chart loads echarts.
 * The chart and component modules are imported one by one: echarts' `charts` and `components`
 * barrels would load every chart kind (about 0.6 s more on start).
 */
import { init, use } from "echarts/core";
import { SVGRenderer } from "echarts/renderers";
import "echarts/lib/chart/bar.js";
import "echarts/lib/component/aria.js";
import "echarts/lib/component/gridSimple.js";
import "echarts/lib/component/legendPlain.js";
import "echarts/lib/component/tooltip.js";
import type { EChartsCoreOption } from "echarts/core";

use([SVGRenderer]);

/**
 * One chart as a standalone `<svg>` element of the given size. ECharts names the hover-style
 * classes from process-wide counters; they are renamed `<classPrefix>-<n>` in order of
 * appearance, so the same chart gives the same text and charts of one page do not share a name.
 */
export function renderChartSvg(option: EChartsCoreOption, width: number, height: number, classPrefix: string): string {
  const chart = init(null, null, { renderer: "svg", ssr: true, width, height });
  try {
    chart.setOption(option);
    const names = new Map<string, string>();
    return chart.renderToSVGString().replace(/\bzr\d+-cls-\d+\b/g, (c) => {
      if (!names.has(c)) names.set(c, `${classPrefix}-${names.size}`);
      return names.get(c)!;
    });
  } finally {
    chart.dispose();
  }
}
