import { beforeAll, describe, expect, it } from "vitest";
import type { Frame } from "../../src/data/index.js";
import { readTable } from "../../src/data/index.js";
import {
  computeDrift,
  histogramChartDescription,
  histogramShares,
  renderDriftHtml,
} from "../../src/monitoring/index.js";
import type { DriftReport } from "../../src/monitoring/index.js";

const REF = new URL("../fixtures/drift/loans_ref_5k.csv", import.meta.url).pathname;
const CUR = new URL("../fixtures/drift/loans_drift6_5k.csv", import.meta.url).pathname;

let report: DriftReport;
let html: string;
beforeAll(async () => {
  const [ref, cur] = await Promise.all([readTable(REF), readTable(CUR)]);
  report = computeDrift(ref, cur);
  html = await renderDriftHtml(report, { referenceLabel: "loans_ref_5k.csv", currentLabel: "loans_drift6_5k.csv" });
});

/** Only the SVG namespaces may look like addresses: nothing is fetched when the file is opened. */
const EXTERNAL =
  /<script|<link|<img|<iframe|src=|href="(?!#)|url\(|https?:\/\/(?!www\.w3\.org\/(2000\/svg|1999\/xlink)")/;

describe("HTML drift report", () => {
  it("is one self-contained file: summary table, one ECharts SVG histogram per column, no scripts, nothing external", () => {
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).not.toMatch(EXTERNAL);
    expect((html.match(/<svg /g) ?? []).length).toBe(report.columns.length);
    // Drawn by ECharts' SVG renderer (its server-side marks), not by hand.
    expect((html.match(/<svg [^>]*baseProfile="full"/g) ?? []).length).toBe(report.columns.length);
    expect(html).toContain('ecmeta_ssr_type="chart"');
    for (const c of report.columns) expect(html).toContain(`id="col-${c.name}"`);
    expect(html).toContain("<table>");
    expect((html.match(/<tr class="drift">/g) ?? []).length).toBe(report.drifted_columns);
  });

  it("is the same text for the same report, each chart's style classes its own", async () => {
    expect(
      await renderDriftHtml(report, { referenceLabel: "loans_ref_5k.csv", currentLabel: "loans_drift6_5k.csv" }),
    ).toBe(html);
    const svgs = html.match(/<svg [\s\S]*?<\/svg>/g) ?? [];
    const owner = new Map<string, number>();
    svgs.forEach((svg, i) => {
      for (const [, c] of svg.matchAll(/class="([^"]+)"/g)) {
        expect(owner.get(c!) ?? i, c).toBe(i);
        owner.set(c!, i);
      }
    });
    expect(owner.size).toBeGreaterThan(svgs.length);
    expect(html).not.toMatch(/zr\d+-cls/);
  });

  it("labels each chart for screen readers with the shared chart's description", () => {
    for (const h of report.histograms) {
      const label = histogramChartDescription(histogramShares(h)).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      expect(html).toContain(`<figure class="chart" role="img" aria-label="${label}"><svg `);
    }
  });

  it("escapes column names and category labels", async () => {
    const name = `<i>"income" & 'tax'</i>`;
    const frame = (shift: number): Frame => ({
      nRows: 200,
      columns: [
        { kind: "numeric", name, values: Float64Array.from({ length: 200 }, (_, i) => (i % 50) + shift) },
        {
          kind: "categorical",
          name: "region",
          codes: Int32Array.from({ length: 200 }, (_, i) => (i + shift) % 3),
          dictionary: ["<north>", "south & east", "west"],
        },
      ],
    });
    const out = await renderDriftHtml(computeDrift(frame(0), frame(10)), { title: "<drift>" });
    expect(out).not.toMatch(/<i>|<north>|<drift>/);
    expect(out).toContain("&#60;i&#62;&#34;income&#34; &#38; &#39;tax&#39;&#60;/i&#62;");
    expect(out).toContain("&lt;north&gt;");
    expect(out).toContain("south &amp; east");
    expect((out.match(/<svg /g) ?? []).length).toBe(2);
    expect(out).not.toMatch(EXTERNAL);
  });
});
