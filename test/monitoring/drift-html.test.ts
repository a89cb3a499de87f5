import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readTable } from "../../src/data/index.js";
import { computeDrift, histogramSvg, renderDriftHtml } from "../../src/monitoring/index.js";
import type { DriftReport } from "../../src/monitoring/index.js";
import { decodePng } from "../png.js";
import { requireTool } from "../tools.js";

const chromium = requireTool("chromium");
const REF = new URL("../fixtures/drift/loans_ref_5k.csv", import.meta.url).pathname;
const CUR = new URL("../fixtures/drift/loans_drift6_5k.csv", import.meta.url).pathname;

let report: DriftReport;
let html: string;
beforeAll(async () => {
  const [ref, cur] = await Promise.all([readTable(REF), readTable(CUR)]);
  report = computeDrift(ref, cur);
  html = renderDriftHtml(report, { referenceLabel: "loans_ref_5k.csv", currentLabel: "loans_drift6_5k.csv" });
});

function countNear(img: { rgba: Uint8Array }, rgb: [number, number, number]): number {
  let n = 0;
  for (let i = 0; i < img.rgba.length; i += 4) {
    if (
      Math.abs(img.rgba[i]! - rgb[0]) <= 8 &&
      Math.abs(img.rgba[i + 1]! - rgb[1]) <= 8 &&
      Math.abs(img.rgba[i + 2]! - rgb[2]) <= 8
    )
      n++;
  }
  return n;
}

describe("HTML drift report", () => {
  it("is one self-contained file: summary table, one SVG histogram per column, no external references", () => {
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).not.toMatch(/<script|<link|src=|url\(|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect((html.match(/<svg /g) ?? []).length).toBe(report.columns.length);
    for (const c of report.columns) expect(html).toContain(`id="col-${c.name}"`);
    expect(html).toContain("<table>");
    expect((html.match(/<tr class="drift">/g) ?? []).length).toBe(report.drifted_columns);
  });

  it.skipIf(chromium.skip)(
    "renders in headless Chromium with the histogram bars visible",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "keel-drift-html-"));
      try {
        // Page 1: the full report; page 2: the same report with the SVGs removed — bars must account for the difference.
        const shot = (name: string, content: string) => {
          const page = join(dir, `${name}.html`);
          const png = join(dir, `${name}.png`);
          writeFileSync(page, content);
          execFileSync(
            chromium.path,
            [
              "--headless",
              "--no-sandbox",
              "--disable-gpu",
              "--disable-background-networking",
              "--disable-component-update",
              "--disable-sync",
              "--no-first-run",
              "--hide-scrollbars",
              `--user-data-dir=${join(dir, `profile-${name}`)}`,
              `--screenshot=${png}`,
              "--window-size=1400,3200",
              `file://${page}`,
            ],
            { stdio: "ignore", timeout: 60000 },
          );
          return decodePng(readFileSync(png));
        };
        const full = shot("full", html);
        const bare = shot("bare", html.replace(/<svg [\s\S]*?<\/svg>/g, ""));
        expect(full.width).toBe(1400);
        const refBlue: [number, number, number] = [0x3b, 0x6f, 0xb6];
        const curOrange: [number, number, number] = [0xe0, 0x7b, 0x28];
        const blue = countNear(full, refBlue) - countNear(bare, refBlue);
        const orange = countNear(full, curOrange) - countNear(bare, curOrange);
        // Eleven charts of 640 × 220 px: thousands of bar pixels of each colour.
        expect(blue).toBeGreaterThan(5000);
        expect(orange).toBeGreaterThan(5000);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    120000,
  );
});

describe("histogram SVG", () => {
  it("caps a high-cardinality categorical at 30 bars, the rest summed as (other)", () => {
    const n = 100;
    const reference = Float64Array.from({ length: n }, (_, i) => n - i);
    const current = Float64Array.from({ length: n }, (_, i) => i + 1);
    const svg = histogramSvg({
      name: "city",
      labels: Array.from({ length: n }, (_, i) => `c${i}`),
      reference,
      current,
    });
    expect((svg.match(/class="bar-ref"/g) ?? []).length).toBe(30);
    expect(svg).toContain("(other)");
    // The 29 largest (by either sample) are c0..c14 (reference) and c85..c99 (current) minus one.
    expect(svg).toContain("reference c0:");
    expect(svg).toContain("current c99:");
    expect(svg).not.toContain("reference c50:");
  });
});
