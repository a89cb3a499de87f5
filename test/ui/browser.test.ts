import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, Locator, Page, Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeelClient } from "../../src/client/index.js";
import type { RunJson } from "../../src/client/index.js";
import { generateLoanApplications } from "../../src/data/index.js";
import type { Frame } from "../../src/data/index.js";
import { createAlertStore } from "../../src/store/index.js";
import type { InferenceRecord } from "../../src/store/index.js";
import { requireTool } from "../tools.js";
import type { UiServer } from "./browser-helpers.js";
import {
  checkPage as checkPageIn,
  inputRows,
  launchChromium,
  signIn as signInWith,
  startUiServer,
} from "./browser-helpers.js";

const chromiumTool = requireTool("chromium");
const MODEL = "loan-default";
const HOUR = 3_600_000;
/** Eight six-hour windows: the first four from the training population, the last four six months drifted. */
const T0 = Date.UTC(2026, 0, 5);
const WINDOW = 6 * HOUR;
const ROWS_PER_WINDOW = 400;
const MANY_RUNS = 260;
/** Screenshots go here; `npm run ui:screenshots` points it at docs/ui for the README. */
const SHOTS = process.env.KEEL_UI_SCREENSHOT_DIR ?? mkdtempSync(path.join(tmpdir(), "keel-ui-shots-"));

let ui: UiServer;
let browser: Browser;
let url: string;
let tokens: Readonly<Record<string, string>>;

function records(f: Frame, start: number, prefix: string): InferenceRecord[] {
  return inputRows(f).map((features, i) => ({
    requestId: `${prefix}-${i}`,
    time: start + Math.floor((i * WINDOW) / f.nRows),
    endpoint: MODEL,
    modelName: MODEL,
    modelVersion: "1",
    route: "champion",
    entityId: `A${prefix}${i}`,
    features,
    outputs: { score: 0.2, decision: "approve" },
    latencyMs: 1,
  }));
}

beforeAll(async () => {
  // The drifted batch: served rows of the training population, then of applicants six months on.
  const windows = 8;
  ui = await startUiServer(async (stores) => {
    for (let w = 0; w < windows; w++) {
      const frame = generateLoanApplications({ rows: ROWS_PER_WINDOW, seed: 100 + w, driftMonths: w < 4 ? 0 : 6 });
      await stores.inferenceLog.append(records(frame, T0 + w * WINDOW, `w${w}`), { durability: "sync" });
    }
  });
  url = ui.url;
  tokens = ui.tokens;
  const writer = new KeelClient({ baseUrl: url, token: tokens.writer! });
  for (let w = 0; w < windows; w++) {
    await writer.runMonitorWindow({ model: MODEL, from: T0 + w * WINDOW, to: T0 + (w + 1) * WINDOW });
  }
  // A second version of the model, for the approver to promote.
  const v1 = await writer.getModelVersion(MODEL, "1");
  await writer.createModelVersion({ name: MODEL, source: v1.source, ...(v1.run_id ? { run_id: v1.run_id } : {}) });
  // Traffic for the endpoints page: twenty single-record predictions on the champion.
  const traffic = inputRows(generateLoanApplications({ rows: 20, seed: 300, driftMonths: 0 }));
  for (const record of traffic) {
    const res = await fetch(`${url}/api/keel/endpoints/${MODEL}/predict`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.writer!}`, "content-type": "application/json" },
      body: JSON.stringify({ records: [record] }),
    });
    expect(res.status).toBe(200);
  }
  // An experiment of more runs than one page holds (200), for paging and virtualised rows.
  const many = await writer.createExperiment("many-runs");
  for (let i = 0; i < MANY_RUNS; i++) {
    const r = await writer.createRun({ experiment_id: many, run_name: `sweep-${i}`, start_time: T0 + i * 1000 });
    await writer.logBatch(r.info.run_id, {
      metrics: [{ key: "auc", value: 0.5 + (i % 97) / 200, timestamp: T0, step: 0 }],
    });
  }
  if (!chromiumTool.skip) browser = await launchChromium(chromiumTool.path);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await ui?.close();
});

/** One attribute of every element the locator finds, in document order. */
async function attributes(locator: Locator, name: string): Promise<(string | null)[]> {
  const out: (string | null)[] = [];
  for (let i = 0, n = await locator.count(); i < n; i++) out.push(await locator.nth(i).getAttribute(name));
  return out;
}

const signIn = (page: Page, role: string) => signInWith(page, url, tokens[role]!, role);

/** Every page the test opens: rendered (not blank) and free of serious accessibility violations. */
const checkPage = (page: Page, name: string) => checkPageIn(page, SHOTS, name);

describe.skipIf(chromiumTool.skip)("the web UI in Chromium, on the quickstart's data", () => {
  let page: Page;
  let quickstartRun: RunJson;

  beforeAll(async () => {
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const reader = new KeelClient({ baseUrl: url, token: tokens.reader! });
    const experiment = await reader.getExperimentByName(MODEL);
    const runs = await reader.searchRuns({
      experiment_ids: [experiment.experiment_id],
      filter: "tags.`keel.trigger` = 'quickstart'",
    });
    quickstartRun = runs.runs![0]!;
  });

  it("asks for a token, then lists the experiments and shows the caller's role", async () => {
    await page.goto(`${url}/`);
    await page.getByRole("heading", { name: "Sign in to keel" }).waitFor();
    await checkPage(page, "sign-in");
    await signIn(page, "reader");
    expect(await page.getByTestId("role").textContent()).toBe("reader-ui · reader");
    await page.getByRole("link", { name: MODEL }).waitFor();
    await checkPage(page, "experiments");
  });

  it("finds the quickstart run with the MLflow filter and shows its AUC", async () => {
    const auc = quickstartRun.data.metrics!.find((m) => m.key === "auc")!;
    await page.getByRole("link", { name: MODEL }).click();
    await page.getByRole("heading", { name: `Runs of ${MODEL}` }).waitFor();
    await page.getByLabel("Filter (MLflow search syntax)").fill("tags.`keel.trigger` = 'quickstart'");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByText("1 runs loaded").waitFor();
    const header = await attributes(page.locator(".vtable thead th"), "title");
    const cells = await page.locator(".vtable tbody tr:not([aria-hidden]) td").allTextContents();
    expect(cells[header.indexOf("metrics.auc")]).toBe(Number(auc.value).toFixed(4));
    await page.getByRole("link", { name: quickstartRun.info.run_name! }).click();
    const shown = page.locator('[data-metric="auc"]');
    await shown.waitFor();
    expect(await shown.textContent()).toBe(Number(auc.value).toFixed(4));
    await page.getByRole("heading", { name: "Artifacts" }).waitFor();
    await checkPage(page, "run");
  });

  it("pages through runs by page token as the table scrolls, drawing only the rows in view, sorted on the server", async () => {
    const experiments = await new KeelClient({ baseUrl: url, token: tokens.reader! }).getExperimentByName("many-runs");
    await page.goto(`${url}/experiments/${experiments.experiment_id}`);
    await page.getByText(/^200 runs loaded, more as you scroll/).waitFor();
    const drawn = () => page.locator(".vtable tbody tr:not([aria-hidden])").count();
    expect(await drawn()).toBeLessThan(60);
    // Scroll the table to its end with the mouse wheel, as a user would.
    await page.locator(".vtable").hover();
    for (let i = 0; i < 20 && !(await page.getByText(`${MANY_RUNS} runs loaded`).isVisible()); i++) {
      await page.mouse.wheel(0, 4000);
      await page.waitForTimeout(100);
    }
    await page.getByText(`${MANY_RUNS} runs loaded`).waitFor();
    expect(await drawn()).toBeLessThan(60);
    // The oldest run is the last row: drawn once the table is scrolled to its new end.
    for (let i = 0; i < 20 && !(await page.getByText("sweep-0", { exact: true }).isVisible()); i++) {
      await page.mouse.wheel(0, 4000);
      await page.waitForTimeout(100);
    }
    await page.getByText("sweep-0", { exact: true }).waitFor();
    // Sorted by AUC on the server, highest first: the top row holds the largest AUC of all runs. The
    // browser's next scroll event on the table (the position dropping to the top as the old rows go)
    // is held back 400 ms, as a busy renderer delays it: the first page must still show from its top,
    // and no second page be fetched unscrolled.
    await page.evaluate(`(() => {
      const table = document.querySelector(".vtable");
      const hold = (e) => {
        if (e.target !== table || !e.isTrusted) return;
        window.removeEventListener("scroll", hold, true);
        e.stopImmediatePropagation();
        setTimeout(() => table.dispatchEvent(new Event("scroll")), 400);
      };
      window.addEventListener("scroll", hold, true);
    })()`);
    const searches: string[] = [];
    const countSearch = (r: Request) => void (r.url().endsWith("/runs/search") && searches.push(r.postData() ?? ""));
    page.on("request", countSearch);
    await page.locator("th[title='metrics.auc'] button").click();
    await page.locator("th[title='metrics.auc'][aria-sort='descending']").waitFor();
    await page.getByText(/^200 runs loaded/).waitFor();
    await page.waitForTimeout(600);
    page.off("request", countSearch);
    expect(searches.map((body) => (JSON.parse(body) as { page_token?: string }).page_token)).toEqual([undefined]);
    expect(await page.getByText(/^200 runs loaded/).isVisible()).toBe(true);
    const best = Math.max(...Array.from({ length: MANY_RUNS }, (_, i) => 0.5 + (i % 97) / 200));
    const header = await attributes(page.locator(".vtable thead th"), "title");
    const top = await page.locator(".vtable tbody tr:not([aria-hidden])").first().locator("td").allTextContents();
    expect(Number(top[header.indexOf("metrics.auc")])).toBeCloseTo(best, 4);
    await page.goto(`${url}/`);
  });

  it("compares two runs: param diff, metrics, parallel coordinates", async () => {
    await page.goto(`${url}/`);
    await page.getByRole("link", { name: MODEL }).click();
    await page.getByRole("heading", { name: `Runs of ${MODEL}` }).waitFor();
    await page.getByLabel("Filter (MLflow search syntax)").fill("metrics.auc > 0");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByText(/^2 runs loaded/).waitFor();
    await checkPage(page, "runs");
    const boxes = page.getByRole("checkbox", { name: /^select run / });
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    await page.getByRole("button", { name: "Compare 2 runs" }).click();
    await page.getByRole("heading", { name: "Compare 2 runs" }).waitFor();
    await page.getByText(/^Params: \d+ of \d+ differ/).waitFor();
    const aucRow = await page
      .locator("tr", { has: page.locator("th", { hasText: /^auc$/ }) })
      .first()
      .textContent();
    expect(aucRow).toContain(Number(quickstartRun.data.metrics!.find((m) => m.key === "auc")!.value).toFixed(4));
    await checkPage(page, "compare");
  });

  it("hides promotion from a reader, and the server refuses the reader's promotion", async () => {
    await page.goto(`${url}/models/${MODEL}`);
    await page.getByTestId("promote-hidden").waitFor();
    expect(await page.getByTestId("aliases").textContent()).toContain("champion → v1");
    // From the page, with the token the page holds (this file is compiled without the DOM's types).
    const status = await page.evaluate<{
      status: number;
      body: { error_code: string };
    }>(`fetch("/api/keel/models/${MODEL}/promote", {
      method: "POST",
      headers: { authorization: "Bearer " + sessionStorage.getItem("keel.token"), "content-type": "application/json" },
      body: JSON.stringify({ version: "2", reason: "a reader tries" }),
    }).then(async (res) => ({ status: res.status, body: await res.json() }))`);
    expect(status.status).toBe(403);
    expect(status.body.error_code).toBe("PERMISSION_DENIED");
    await checkPage(page, "registry-reader");
  });

  it("lets an approver promote version 2 with a reason: the alias moves and the audit record shows", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(page, "approver");
    await page.goto(`${url}/models/${MODEL}`);
    await page.getByLabel("Alias", { exact: true }).fill("champion");
    await page.getByRole("combobox", { name: "Version" }).selectOption("2");
    await page.getByLabel("Reason (kept in the audit log)").fill("version 2 reviewed by the risk committee");
    await page.getByRole("button", { name: "Promote" }).click();
    await page.getByRole("status").filter({ hasText: "champion: version 1 → 2" }).waitFor();
    await page.getByTestId("aliases").filter({ hasText: "champion → v2" }).waitFor();
    const audit = await page.getByTestId("audit").locator("li").first().textContent();
    expect(audit).toContain("approver-ui");
    expect(audit).toContain("registered_model.promote: champion 1 → 2 — “version 2 reviewed by the risk committee”");
    const server = await new KeelClient({ baseUrl: url, token: tokens.reader! }).getModelVersionByAlias(
      MODEL,
      "champion",
    );
    expect(server.version).toBe("2");
    await checkPage(page, "registry");
  });

  it("shows drift for the drifted batch on the monitoring page, and a feature's histogram on click", async () => {
    await page.goto(`${url}/monitoring/${MODEL}`);
    const heat = page.getByTestId("drift-heatmap");
    await heat.waitFor();
    const row = heat.locator("tr", { has: page.locator("th", { hasText: /^credit_score$/ }) });
    const psi = (await attributes(row.locator("td[data-psi]"), "data-psi")).map(Number);
    expect(psi).toHaveLength(8);
    // The training population's windows are stable, the drifted ones major (PSI ≥ 0.25).
    expect(Math.max(...psi.slice(0, 4))).toBeLessThan(0.1);
    expect(Math.min(...psi.slice(4))).toBeGreaterThan(0.25);
    await row.locator("td[data-psi] button").last().click();
    const histogram = page.getByRole("img", { name: /credit_score.*reference vs current share per bin/ });
    // ECharts draws each bar as a path in its sample's colour, after the figure itself is on the page.
    const bars = histogram.locator('svg path[fill="#3b6fb6"]');
    await bars.first().waitFor({ state: "attached" });
    expect(await bars.count()).toBeGreaterThan(10);
    await checkPage(page, "monitoring");
  });

  it("acknowledges and resolves an alert from the monitoring page; the server records who did each", async () => {
    const alerts = createAlertStore(ui.stores.metadata);
    const fired = await alerts.fire({
      ruleId: "ui_alert_actions",
      tier: "notify",
      dedupKey: `ui_alert_actions|${MODEL}|||credit_score|`,
      modelName: MODEL,
      feature: "credit_score",
      summary: "credit_score PSI above 0.25 (seeded by the test)",
      value: 0.31,
      threshold: 0.25,
      windowStart: T0,
      windowEnd: T0 + WINDOW,
    });
    await page.goto(`${url}/monitoring/${MODEL}`);
    const row = page.locator("tr", { has: page.getByRole("cell", { name: "ui_alert_actions" }) });
    await row.getByRole("button", { name: "Acknowledge" }).click();
    await row.getByRole("cell", { name: "acknowledged by approver-ui" }).waitFor();
    expect((await alerts.get(fired.id)).acknowledgedBy).toBe("approver-ui");
    await row.getByRole("button", { name: "Resolve" }).click();
    await row.getByRole("cell", { name: /^resolved/ }).waitFor();
    expect(await row.getByRole("button").count()).toBe(0);
    expect((await alerts.get(fired.id)).status).toBe("resolved");
  });

  it("lists endpoints with live figures, the audit log with a verified chain, and the review page", async () => {
    await page.goto(`${url}/endpoints`);
    const endpoint = page.locator("tr", { has: page.getByRole("cell", { name: /^loan-default/ }) });
    await endpoint.waitFor();
    // Since the server started: the twenty predictions, p99 from the latency histogram, no errors.
    expect(await endpoint.locator("td.muted").textContent()).toMatch(/^20 requests · p99 \d+\.\d ms · errors 0\.0 %$/);
    await checkPage(page, "endpoints");
    await page.goto(`${url}/audit`);
    await page.getByRole("button", { name: "Verify the chain" }).click();
    await page.getByText(/^Audit log intact: \d+ rows verified\.$/).waitFor();
    await checkPage(page, "audit");
    await page.goto(`${url}/review`);
    await page.getByTestId("review-role").waitFor();
    await checkPage(page, "review");
  });

  it("reads at phone width and in the dark theme", async () => {
    await page.goto(`${url}/models/${MODEL}`);
    await page.getByTestId("aliases").waitFor();
    await page.getByRole("button", { name: "Switch to dark theme" }).click();
    expect(await page.locator("html").getAttribute("data-theme")).toBe("dark");
    await checkPage(page, "registry-dark");
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${url}/`);
    await page.getByRole("link", { name: MODEL }).waitFor();
    // Nothing wider than the phone's screen but the tables' own scrolling boxes.
    expect(Number(await page.evaluate("document.documentElement.scrollWidth"))).toBeLessThanOrEqual(390);
    await checkPage(page, "experiments-phone");
  });

  it("shows the server's message when a page's call fails, never a blank page", async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${url}/runs/no-such-run`);
    const alert = page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^RESOURCE_DOES_NOT_EXIST: .*no-such-run/);
  });
});
