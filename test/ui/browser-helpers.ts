import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { chromium } from "playwright-core";
import { expect } from "vitest";
import type { KeelServer } from "../../src/cli/serve.js";
import { startKeelServer } from "../../src/cli/serve.js";
import { loadConfig } from "../../src/config.js";
import type { Frame } from "../../src/data/index.js";
import { openStores } from "../../src/open-stores.js";
import { keelInProcess } from "../cli/helpers.js";
import { decodePng, luminanceVariance } from "../png.js";
import { buildUi } from "./build.js";

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-gpu",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
}

/**
 * Writes `<dir>/<name>.png` of the page as it is and returns its luminance variance: a page that
 * rendered text, tables and charts is far from one flat colour.
 */
export async function screenshot(page: Page, dir: string, name: string): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return luminanceVariance(decodePng(readFileSync(file)));
}

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly targets: string[];
}

const axeSource = (createRequire(import.meta.url)("axe-core") as { source: string }).source;

/** axe-core's serious and critical violations on the page as it is (WCAG 2 A and AA rules and best practices). */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // Run in the page, where `window` and `document` are (this file is compiled without the DOM's types).
  if ((await page.evaluate("typeof window.axe")) !== "object") await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate<
    AxeViolation[]
  >(`window.axe.run(document, { resultTypes: ["violations"] }).then((r) =>
    r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 5).map((n) => JSON.stringify(n.target)),
    })),
  )`);
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

export type OpenStores = ReturnType<typeof openStores>;

/** A keel server on the quickstart's data with the built UI, and a token per role. */
export interface UiServer {
  readonly url: string;
  readonly stores: OpenStores;
  readonly keel: KeelServer;
  readonly tokens: Readonly<Record<"reader" | "writer" | "approver", string>>;
  close(): Promise<void>;
}

/**
 * Builds the UI, runs the quickstart into a fresh data directory, creates a token per role, lets
 * `seed` write to the stores, then starts the server with auth on.
 */
export async function startUiServer(seed: (stores: OpenStores) => Promise<void>): Promise<UiServer> {
  const dir = mkdtempSync(path.join(tmpdir(), "keel-ui-e2e-"));
  const uiDir = path.join(dir, "ui");
  await buildUi(uiDir);
  const quick = await keelInProcess(["quickstart", "--no-serve", "--rows", "8000", "--data-dir", path.join(dir, "kd")]);
  expect(quick.stderr).toBe("");
  expect(quick.code).toBe(0);
  const config = loadConfig({
    flags: { dataDir: path.join(dir, "kd"), port: 0, host: "127.0.0.1", authEnabled: true, logLevel: "silent" },
    env: {},
  });
  const stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
  const tokens = { reader: "", writer: "", approver: "" };
  for (const role of ["reader", "writer", "approver"] as const) {
    tokens[role] = (await stores.tokens.create({ name: `${role}-ui`, role })).token;
  }
  await seed(stores);
  const keel = await startKeelServer(
    stores,
    config,
    { env: {}, cwd: dir, out: () => undefined, err: () => undefined },
    { uiDir },
  );
  return {
    url: keel.server.url,
    stores,
    keel,
    tokens,
    async close() {
      await keel.close();
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A rendered page is far from one flat colour (a blank page's variance is 0). */
const MIN_VARIANCE = 20;

/** A page the tests open: rendered (not blank; its screenshot written to `dir`) and free of serious accessibility violations. */
export async function checkPage(page: Page, dir: string, name: string): Promise<void> {
  await page.waitForLoadState("networkidle");
  expect(await screenshot(page, dir, name), `${name}: screenshot variance`).toBeGreaterThan(MIN_VARIANCE);
  expect(await seriousViolations(page), `${name}: axe-core serious or critical violations`).toEqual([]);
}

/** Signs in through the page's form with `token`; done when the top bar shows the token's `role`. */
export async function signIn(page: Page, url: string, token: string, role: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("role").filter({ hasText: role }).waitFor();
}

/** The model's inputs for each row of `f` (its two derived inputs computed as the feature repository defines them). */
export function inputRows(f: Frame): Record<string, string | number>[] {
  const col = (name: string) => f.columns.find((c) => c.name === name)!;
  const value = (name: string, i: number): string | number => {
    const c = col(name);
    return c.kind === "numeric" ? c.values[i]! : c.dictionary[c.codes[i]!]!;
  };
  return Array.from({ length: f.nRows }, (_, i) => {
    const income = value("annual_income", i) as number;
    const dti = value("debt_to_income_ratio", i) as number;
    const row: Record<string, string | number> = {};
    for (const n of [
      "loan_amount",
      "loan_term",
      "purpose",
      "credit_score",
      "annual_income",
      "num_delinquencies_12m",
      "employment_years",
      "home_ownership",
      "region",
      "debt_to_income_ratio",
    ]) {
      row[n] = value(n, i);
    }
    row.monthly_debt = (dti * income) / 12;
    row.loan_to_income = (value("loan_amount", i) as number) / income;
    return row;
  });
}
