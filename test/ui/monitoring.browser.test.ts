import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeelClient } from "../../src/client/index.js";
import { generateLoanApplications } from "../../src/data/index.js";
import { loadReferenceProfile } from "../../src/monitoring/index.js";
import type { InferenceRecord } from "../../src/store/index.js";
import { countByScan } from "../monitoring/fixtures.js";
import { requireTool } from "../tools.js";
import type { UiServer } from "./browser-helpers.js";
import { checkPage, inputRows, launchChromium, signIn, startUiServer } from "./browser-helpers.js";

const chromiumTool = requireTool("chromium");
const MODEL = "loan-default";
const HOUR = 3_600_000;
const SHOTS = process.env.KEEL_UI_SCREENSHOT_DIR ?? mkdtempSync(path.join(tmpdir(), "keel-ui-shots-"));
/** Four past one-hour windows of logged scores, then the current hour's served predictions. */
const PAST_WINDOWS = 4;
const ROWS_PER_WINDOW = 150;
/**
 * The last window is the hour ending ten minutes from now (on a whole minute, not on the clock's
 * hour), so the requests served at the start of the test fall inside it whatever the time of day.
 */
const END = Math.floor(Date.now() / 60_000) * 60_000 + 10 * 60_000;
const START = END - (PAST_WINDOWS + 1) * HOUR;

let ui: UiServer;
let browser: Browser;
/** Scores per window, as logged (past windows) or as the server answered them (the current hour). */
const scoresByWindow: number[][] = [];

/** Scores of window `w`: a deterministic spread that moves up window by window. */
function pastScores(w: number): number[] {
  return Array.from({ length: ROWS_PER_WINDOW }, (_, i) => {
    const u = ((i * 7919 + w * 104729) % 1000) / 1000;
    return Math.min(0.999, u * u * (0.4 + 0.15 * w));
  });
}

function pastRecords(w: number): InferenceRecord[] {
  const rows = inputRows(generateLoanApplications({ rows: ROWS_PER_WINDOW, seed: 500 + w, driftMonths: 0 }));
  return pastScores(w).map((score, i) => ({
    requestId: `past-${w}-${i}`,
    time: START + w * HOUR + Math.floor((i * HOUR) / ROWS_PER_WINDOW),
    endpoint: MODEL,
    modelName: MODEL,
    modelVersion: "1",
    route: "champion",
    features: rows[i]!,
    outputs: { score, decision: score >= 0.5 ? "reject" : "approve" },
    latencyMs: 1,
  }));
}

async function predict(records: readonly Record<string, string | number>[]): Promise<number[]> {
  const res = await fetch(`${ui.url}/api/keel/endpoints/${MODEL}/predict`, {
    method: "POST",
    headers: { authorization: `Bearer ${ui.tokens.writer}`, "content-type": "application/json" },
    body: JSON.stringify({ records }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { predictions: { score: number }[] }).predictions.map((p) => p.score);
}

beforeAll(async () => {
  ui = await startUiServer(async (stores) => {
    for (let w = 0; w < PAST_WINDOWS; w++) {
      await stores.inferenceLog.append(pastRecords(w), { durability: "sync" });
      scoresByWindow.push(pastScores(w));
    }
  });
  const served: number[] = [];
  const live = inputRows(generateLoanApplications({ rows: 120, seed: 600, driftMonths: 0 }));
  for (let i = 0; i < live.length; i += 40) served.push(...(await predict(live.slice(i, i + 40))));
  scoresByWindow.push(served);
  const writer = new KeelClient({ baseUrl: ui.url, token: ui.tokens.writer });
  // Serving writes the log in batches: wait until the current hour holds every served row.
  for (let tries = 0; ; tries++) {
    const h = await writer.getScoreHistograms({ model: MODEL, from: END - HOUR, to: END, window_ms: HOUR });
    if (h.windows[0]!.rows === served.length) break;
    if (tries > 100) throw new Error(`the log holds ${h.windows[0]!.rows} of ${served.length} served rows`);
    await new Promise((r) => setTimeout(r, 100));
  }
  for (let w = 0; w <= PAST_WINDOWS; w++) {
    await writer.runMonitorWindow({ model: MODEL, from: START + w * HOUR, to: START + (w + 1) * HOUR });
  }
  // One window over all five hours: a second window length to choose.
  await writer.runMonitorWindow({ model: MODEL, from: START, to: END });
  if (!chromiumTool.skip) browser = await launchChromium(chromiumTool.path);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await ui?.close();
});

describe.skipIf(chromiumTool.skip)("the monitoring and endpoints pages in Chromium", () => {
  let page: Page;

  beforeAll(async () => {
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await signIn(page, ui.url, ui.tokens.reader, "reader");
  });

  /** The data table's counts per column (reference first), read from the cells' data-count. */
  async function tableCounts(): Promise<number[][]> {
    const table = page.getByTestId("score-table");
    if (!(await table.isVisible())) await page.getByText(/^Data table: share of each window/).click();
    const rows = await table.locator("tbody tr").count();
    const columns = await table.locator("thead th").count();
    const out: number[][] = Array.from({ length: columns - 1 }, () => []);
    for (let y = 0; y < rows; y++) {
      const cells = table.locator("tbody tr").nth(y).locator("td");
      for (let x = 0; x < columns - 1; x++) out[x]!.push(Number(await cells.nth(x).getAttribute("data-count")));
    }
    return out;
  }

  it("draws the champion's score distribution per window next to its training scores, counts recounted from the log", async () => {
    await page.goto(`${ui.url}/monitoring/${MODEL}`);
    const figure = page.getByTestId("score-distribution");
    await figure.waitFor();
    const chart = figure.getByRole("img", {
      name: /^Score distribution of loan-default v1 per window: .*5 windows of 1 h/,
    });
    await chart.waitFor();
    const profile = await loadReferenceProfile(ui.stores, MODEL, "1");
    const edges = [...profile.prediction!.histEdges];
    const slots = edges.length + 1;
    // ECharts drew a cell per score slot in each of the six columns (reference and five windows).
    expect(await chart.locator("svg path").count()).toBeGreaterThanOrEqual(6 * slots);
    const counts = await tableCounts();
    expect(counts).toHaveLength(6);
    for (let w = 0; w <= PAST_WINDOWS; w++) {
      expect(counts[w + 1], `window ${w}`).toEqual(countByScan(Float64Array.from(scoresByWindow[w]!), edges));
    }
    await checkPage(page, SHOTS, "monitoring-scores");
  });

  it("switches the window length: one five-hour window holding every score", async () => {
    await page.getByTestId("score-toolbar").getByLabel("Window length").selectOption({ label: "5 h" });
    await page.getByRole("img", { name: /1 windows of 5 h/ }).waitFor();
    const counts = await tableCounts();
    expect(counts).toHaveLength(2);
    const edges = [...(await loadReferenceProfile(ui.stores, MODEL, "1")).prediction!.histEdges];
    expect(counts[1]).toEqual(countByScan(Float64Array.from(scoresByWindow.flat()), edges));
  });

  it("shows endpoint figures over each refresh interval: they move under load and fall to none when it stops", async () => {
    await page.goto(`${ui.url}/endpoints`);
    const row = page.locator(`tr[data-endpoint="${MODEL}"]`);
    await row.waitFor();
    const figures = async () => (await row.locator("td.num").allTextContents()).slice(0, 3);
    let load = true;
    const one = inputRows(generateLoanApplications({ rows: 1, seed: 700, driftMonths: 0 }));
    const driving = (async () => {
      while (load) await predict(one);
    })();
    const seen: string[][] = [];
    try {
      // Three refreshes under load: a rate above zero and latency quantiles in each, not all the same.
      for (let i = 0; seen.length < 3 && i < 60; i++) {
        const f = await figures();
        const last = seen[seen.length - 1];
        if (Number(f[0]) > 0 && /ms$/.test(f[2]!) && (last === undefined || f.join() !== last.join())) seen.push(f);
        await page.waitForTimeout(500);
      }
    } finally {
      load = false;
      await driving;
    }
    expect(seen.length, JSON.stringify(seen)).toBe(3);
    for (const [rate, p50, p99] of seen) {
      expect(Number(rate)).toBeGreaterThan(0);
      expect(p50).toMatch(/^\d+\.\d ms$/);
      expect(Number.parseFloat(p99!)).toBeGreaterThanOrEqual(Number.parseFloat(p50!));
    }
    // An interval without requests: no rate and no latency, while the since-start column keeps its count.
    await row
      .locator("td.num")
      .first()
      .filter({ hasText: /^0\.00$/ })
      .waitFor({ timeout: 20_000 });
    expect((await figures()).slice(1)).toEqual(["—", "—"]);
    expect(await row.locator("td.muted").textContent()).toMatch(/^\d+ requests · p99 \d+\.\d ms/);
    const history = page.getByRole("img", { name: new RegExp(`^${MODEL}: requests/s: requests/s: \\d+ points`) });
    const points = Number(/(\d+) points/.exec((await history.getAttribute("aria-label")) ?? "")?.[1]);
    expect(points).toBeGreaterThanOrEqual(4);
    await checkPage(page, SHOTS, "endpoints-live");
  });
});
