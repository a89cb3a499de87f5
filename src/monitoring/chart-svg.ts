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

/** One chart as a standalone `<svg>` element of the given size. */
export function renderChartSvg(option: EChartsCoreOption, width: number, height: number): string {
  const chart = init(null, null, { renderer: "svg", ssr: true, width, height });
  try {
    chart.setOption(option);
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}
