import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "kysely";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeelClient } from "../../src/client/index.js";
import type { KeelServer } from "../../src/cli/serve.js";
import { startKeelServer } from "../../src/cli/serve.js";
import { loadConfig } from "../../src/config.js";
import { openStores } from "../../src/open-stores.js";
import { FIXTURES, fixture } from "../serving/fixtures.js";
import { requireTool } from "../tools.js";
import { until } from "../until.js";
import { checkPage, launchChromium, signIn } from "./browser-helpers.js";
import { buildUi } from "./build.js";

const chromiumTool = requireTool("chromium");
/** XGBoost's own scores of the fixture's rows: which requests the score band queues is known before serving. */
const model = fixture("xgb_binary.json");
const ROWS = 60;
const BAND = { min: 0.3, max: 0.7 };
const SHOTS = process.env.KEEL_UI_SCREENSHOT_DIR ?? mkdtempSync(path.join(tmpdir(), "keel-ui-review-shots-"));
const PHONE = { width: 390, height: 844 };

let dir: string;
let keel: KeelServer;
let stores: ReturnType<typeof openStores>;
let browser: Browser;
let url: string;
const tokens: Record<string, string> = {};
const client = (name: string) => new KeelClient({ baseUrl: url, token: tokens[name]! });

/** The requests the band queues, oldest first, and the model's decision for each (threshold 0.5). */
const queued = Array.from({ length: ROWS }, (_, i) => i)
  .filter((i) => model.expected[i]! >= BAND.min && model.expected[i]! <= BAND.max)
  .map((i) => ({
    id: `app-${i}`,
    row: i,
    score: model.expected[i]!,
    decision: model.expected[i]! >= 0.5 ? "reject" : "approve",
  }));

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "keel-ui-review-"));
  const uiDir = path.join(dir, "ui");
  await buildUi(uiDir);
  const config = loadConfig({
    flags: { dataDir: path.join(dir, "kd"), port: 0, host: "127.0.0.1", authEnabled: true, logLevel: "silent" },
    env: {},
  });
  stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
  await stores.migrate();
  for (const [name, role] of [
    ["ci", "writer"],
    ["ana", "reviewer"],
    ["ben", "reviewer"],
    ["rita", "reader"],
  ] as const) {
    tokens[name] = (await stores.tokens.create({ name, role })).token;
  }
  const v = await stores.registry.createModelVersion({
    name: "credit",
    source: path.join(FIXTURES, "xgb_binary.json"),
  });
  await stores.registry.setAlias("credit", "champion", v.version);
  keel = await startKeelServer(
    stores,
    config,
    { env: {}, cwd: dir, out: () => undefined, err: () => undefined },
    { uiDir },
  );
  url = keel.server.url;
  const asWriter = { "content-type": "application/json", authorization: `Bearer ${tokens.ci!}` };
  const put = await fetch(`${url}/api/keel/endpoints/loans`, {
    method: "PUT",
    headers: asWriter,
    body: JSON.stringify({
      model: "credit",
      decision: { threshold: 0.5, positive: "reject", negative: "approve" },
      input: { ranges: "accept", categories: "accept" },
      explain: { top_k: 3 },
      review: { scoreBand: BAND, interimDecision: "refer" },
    }),
  });
  expect(put.status, await put.text()).toBe(200);
  for (let i = 0; i < ROWS; i++) {
    const res = await fetch(`${url}/api/keel/endpoints/loans/predict`, {
      method: "POST",
      headers: { ...asWriter, "x-request-id": `app-${i}` },
      body: JSON.stringify([model.row(i)]),
    });
    expect(res.status).toBe(200);
  }
  // The decision log is written after the answer: wait until every request is recorded.
  await until("every served decision to be recorded", async () => {
    await stores.servingInferenceLog.flush();
    const page = await client("rita").searchDecisions({ endpoint: "loans", max_results: 1000 });
    return page.decisions.length === ROWS;
  });
  if (!chromiumTool.skip) browser = await launchChromium(chromiumTool.path);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await keel?.close();
  await stores?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The queue's row of a request. */
const queueRow = (page: Page, id: string) => page.locator(`[data-testid="review-queue"] tr[data-request-id="${id}"]`);

/** The request ids of the queue's rows, in the order shown. */
async function queueIds(page: Page): Promise<(string | null)[]> {
  const rows = page.locator('[data-testid="review-queue"] tbody tr');
  const out: (string | null)[] = [];
  for (let i = 0, n = await rows.count(); i < n; i++) out.push(await rows.nth(i).getAttribute("data-request-id"));
  return out;
}

/** Light at 1280×800, then dark, then dark at phone width: rendered, no serious axe violation, nothing wider than the phone. */
async function checkEveryLook(page: Page, name: string): Promise<void> {
  await checkPage(page, SHOTS, name);
  await page.getByRole("button", { name: "Switch to dark theme" }).click();
  expect(await page.locator("html").getAttribute("data-theme")).toBe("dark");
  try {
    await checkPage(page, SHOTS, `${name}-dark`);
    await page.setViewportSize(PHONE);
    expect(
      Number(await page.evaluate("document.documentElement.scrollWidth")),
      `${name}: page width`,
    ).toBeLessThanOrEqual(PHONE.width);
    await checkPage(page, SHOTS, `${name}-dark-phone`);
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByRole("button", { name: "Switch to light theme" }).click();
  }
}

describe.skipIf(chromiumTool.skip)("the review queue and decision records in Chromium", () => {
  let page: Page;
  const [decided, heldByBen, pending] = queued;

  beforeAll(async () => {
    expect(queued.length).toBeGreaterThanOrEqual(3);
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });

  it("lists the open queue for a reviewer: exactly the requests the score band holds, with XGBoost's scores", async () => {
    await signIn(page, url, tokens.ana!, "reviewer");
    await page.goto(`${url}/review`);
    await page.getByTestId("review-queue").waitFor();
    expect(await queueIds(page)).toEqual(queued.map((q) => q.id));
    for (const q of queued) {
      const cells = await queueRow(page, q.id).locator("td").allTextContents();
      expect(Number(cells[4])).toBeCloseTo(q.score, 4);
      expect(cells[5]).toBe(`${q.decision} (answered refer)`);
      expect(cells[6]).toBe("score_band");
      expect(cells[7]).toBe("pending");
    }
    await checkEveryLook(page, "review-queue");
  });

  it("claims an item, shows the server's message for a verdict without a reason, decides it, and it leaves the open queue", async () => {
    const row = queueRow(page, decided!.id);
    await row.getByRole("button", { name: `Claim ${decided!.id}` }).click();
    await row.getByTestId("review-status").filter({ hasText: "claimed by ana" }).waitFor();
    // The verdict that overrides the model.
    const verdict = decided!.decision === "reject" ? "approve" : "reject";
    await row.getByRole("button", { name: verdict, exact: true }).click();
    expect(await row.getByRole("alert").textContent()).toBe(
      "INVALID_PARAMETER_VALUE: Missing value for required parameter 'reason'",
    );
    await row.getByLabel("Reason for the verdict").fill("income verified by phone");
    await row.getByRole("button", { name: verdict, exact: true }).click();
    await row.waitFor({ state: "detached" });
    expect(await queueIds(page)).toEqual(queued.slice(1).map((q) => q.id));
    await page.getByLabel("Status").selectOption("decided");
    await page.getByRole("button", { name: "Show" }).click();
    await queueRow(page, decided!.id).waitFor();
    expect(await queueIds(page)).toEqual([decided!.id]);
    expect(await queueRow(page, decided!.id).locator("td").last().textContent()).toBe(`${verdict} by ana`);
    // The server holds the verdict, under the reviewer's name.
    const item = await client("ben").getReview("loans", decided!.id);
    expect(item).toMatchObject({
      status: "decided",
      verdict,
      verdict_reason: "income verified by phone",
      decided_by: "ana",
    });
    expect(item.overridden).toBe(true);
  });

  it("disables deciding an item another reviewer claimed, saying who holds it", async () => {
    await client("ben").claimReview("loans", heldByBen!.id);
    await page.goto(`${url}/review`);
    const row = queueRow(page, heldByBen!.id);
    await row.getByTestId("review-status").filter({ hasText: "claimed by ben" }).waitFor();
    expect(await row.getByText("Claimed by ben: only they decide it.").isVisible()).toBe(true);
    for (const d of ["reject", "approve"])
      expect(await row.getByRole("button", { name: d, exact: true }).isDisabled()).toBe(true);
  });

  it("shows the decided request's record: inputs, score, reason codes, model version, the verdict and its audit rows", async () => {
    await page.goto(`${url}/review`);
    await page.getByLabel("Status").selectOption("decided");
    await page.getByRole("button", { name: "Show" }).click();
    await page.getByRole("link", { name: decided!.id, exact: true }).click();
    await page.getByRole("heading", { name: `Decision ${decided!.id}` }).waitFor();
    expect(Number(await page.getByTestId("score").textContent())).toBeCloseTo(decided!.score, 6);
    expect(await page.getByRole("link", { name: "credit v1" }).isVisible()).toBe(true);
    const inputs = page.getByTestId("inputs");
    for (const [name, value] of Object.entries(model.row(decided!.row))) {
      const cells = await inputs
        .locator("tr", { has: page.locator("th", { hasText: new RegExp(`^${name}$`) }) })
        .locator("td")
        .allTextContents();
      expect(cells[0]).toBe(value === null ? "" : JSON.stringify(value));
    }
    expect(await page.getByTestId("reason-codes").locator("tbody tr").count()).toBe(3);
    const review = page.locator("table.kv", { has: page.locator("caption", { hasText: "Review" }) });
    await review.locator("tr", { hasText: "income verified by phone" }).waitFor();
    expect(await review.locator("tr", { hasText: "Decided by" }).locator("td").textContent()).toBe("ana");
    const audit = await page.getByTestId("review-audit").locator("li").allTextContents();
    expect(audit).toHaveLength(2);
    expect(audit[0]).toContain("ana · review.decide");
    expect(audit[0]).toContain("income verified by phone");
    expect(audit[1]).toContain("ana · review.claim");
    await checkEveryLook(page, "decision");
  });

  it("searches decision records by endpoint and review, and verifies their chain", async () => {
    await page.goto(`${url}/decisions`);
    await page.getByTestId("decisions").waitFor();
    await page.getByLabel("Endpoint").fill("loans");
    await page.getByLabel("Review").selectOption("true");
    await page.getByRole("button", { name: "Search" }).click();
    const rows = page.getByTestId("decisions").locator("tbody tr");
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().getAttribute("data-request-id")).toBe(decided!.id);
    await page.getByRole("button", { name: "Verify the chain" }).click();
    expect(await page.getByRole("status").textContent()).toBe(`Decision records intact: ${ROWS} verified.`);
    await checkEveryLook(page, "decisions");
  });

  it("lets a reader see a queued decision with claim and decide disabled, and the server refuses the reader's claim", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(page, url, tokens.rita!, "reader");
    await page.goto(`${url}/review`);
    await page.getByTestId("review-role").waitFor();
    await checkPage(page, SHOTS, "review-reader");
    await page.goto(`${url}/decisions/${pending!.id}`);
    const claim = page.getByRole("button", { name: `Claim ${pending!.id}` });
    await claim.waitFor();
    expect(await claim.isDisabled()).toBe(true);
    expect(await page.getByText("Claiming and deciding need the reviewer role; you are reader.").isVisible()).toBe(
      true,
    );
    // Forced from the page, with the token the page holds (this file is compiled without the DOM's types).
    const forced = await page.evaluate<{
      status: number;
      body: { error_code: string };
    }>(`fetch("/api/keel/review/loans/${pending!.id}/claim", {
      method: "POST",
      headers: { authorization: "Bearer " + sessionStorage.getItem("keel.token"), "content-type": "application/json" },
      body: "{}",
    }).then(async (res) => ({ status: res.status, body: await res.json() }))`);
    expect(forced.status).toBe(403);
    expect(forced.body.error_code).toBe("PERMISSION_DENIED");
    expect((await client("ana").getReview("loans", pending!.id)).status).toBe("pending");
    await checkPage(page, SHOTS, "decision-reader");
  });

  it("shows the server's message for an unknown request, and names the record an edit broke", async () => {
    await page.goto(`${url}/decisions/no-such-request`);
    expect(await page.getByRole("alert").textContent()).toBe(
      'RESOURCE_DOES_NOT_EXIST: decision "no-such-request" is not recorded',
    );
    await sql`update inference_log set outputs = '{"score":0.01,"decision":"approve"}' where request_id = ${pending!.id}`.execute(
      stores.metadata.db,
    );
    await page.goto(`${url}/decisions`);
    await page.getByRole("button", { name: "Verify the chain" }).click();
    const broken = await page.getByRole("alert").textContent();
    expect(broken).toMatch(
      new RegExp(`^Decision records broken at record \\d+ \\(request ${pending!.id}\\): .*altered`),
    );
  });
});
