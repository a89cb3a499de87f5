import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTable } from "../../src/data/index.js";
import { computeDrift, histogramChartDescription, histogramShares } from "../../src/monitoring/index.js";
import type { DriftReport } from "../../src/monitoring/index.js";
import { keelInProcess } from "../cli/helpers.js";
import { decodePng } from "../png.js";
import { requireTool } from "../tools.js";
import { launchChromium, screenshot, seriousViolations } from "./browser-helpers.js";

const chromiumTool = requireTool("chromium");
const REF = new URL("../fixtures/drift/loans_ref_5k.csv", import.meta.url).pathname;
const CUR = new URL("../fixtures/drift/loans_drift6_5k.csv", import.meta.url).pathname;
const REFERENCE_RGB: [number, number, number] = [0x3b, 0x6f, 0xb6];
const CURRENT_RGB: [number, number, number] = [0xe0, 0x7b, 0x28];

let dir: string;
let browser: Browser;
let page: Page;
let report: DriftReport;

function countNear(png: Buffer, rgb: [number, number, number]): number {
  const { rgba } = decodePng(png);
  let n = 0;
  for (let i = 0; i < rgba.length; i += 4) {
    if (
      Math.abs(rgba[i]! - rgb[0]) <= 8 &&
      Math.abs(rgba[i + 1]! - rgb[1]) <= 8 &&
      Math.abs(rgba[i + 2]! - rgb[2]) <= 8
    )
      n++;
  }
  return n;
}

describe.skipIf(chromiumTool.skip)("`keel drift --html` report in Chromium", () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "keel-drift-report-"));
    const html = path.join(dir, "drift.html");
    const cli = await keelInProcess(["drift", "--reference", REF, "--current", CUR, "--html", html]);
    expect(cli.code, cli.stderr).toBe(0);
    const [ref, cur] = await Promise.all([readTable(REF), readTable(CUR)]);
    report = computeDrift(ref, cur);
    browser = await launchChromium(chromiumTool.path);
    // Offline: every request but the file itself is refused, so a chart needing anything else would fail.
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, offline: true });
    page = await context.newPage();
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(`file://${html}`);
    await page.waitForLoadState("load");
    expect(requests).toEqual([`file://${html}`]);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("draws every column's histogram: a chart named by its description with a bar per bin and sample", async () => {
    expect(report.histograms).toHaveLength(report.columns.length);
    for (const h of report.histograms) {
      const chart = page.getByRole("img", { name: histogramChartDescription(histogramShares(h)), exact: true });
      const bins = histogramShares(h).labels.length;
      const box = await chart.boundingBox();
      expect(box?.width, h.name).toBeGreaterThan(600);
      expect(box?.height, h.name).toBeGreaterThan(200);
      expect(await chart.locator(`svg path[fill="#3b6fb6"][ecmeta_ssr_type="chart"]`).count(), h.name).toBe(bins);
      expect(await chart.locator(`svg path[fill="#e07b28"][ecmeta_ssr_type="chart"]`).count(), h.name).toBe(bins);
    }
  });

  it("shows the bars on screen: thousands of pixels of each sample's colour that go with the charts", async () => {
    const shots = path.join(dir, "shots");
    expect(await screenshot(page, shots, "report"), "screenshot variance").toBeGreaterThan(20);
    const full = await page.screenshot({ fullPage: true });
    await page.evaluate("document.querySelectorAll('figure.chart svg').forEach((s) => s.remove())");
    const bare = await page.screenshot({ fullPage: true });
    await page.reload();
    // Eleven charts of 640 × 260 px: thousands of bar pixels of each colour.
    expect(countNear(full, REFERENCE_RGB) - countNear(bare, REFERENCE_RGB)).toBeGreaterThan(5000);
    expect(countNear(full, CURRENT_RGB) - countNear(bare, CURRENT_RGB)).toBeGreaterThan(5000);
  });

  it("passes axe-core with no serious or critical violation", async () => {
    await page.waitForLoadState("load");
    expect(await seriousViolations(page)).toEqual([]);
  });
});
