import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { chromium } from "playwright-core";
import { expect } from "vitest";
import { decodePng, luminanceVariance } from "../png.js";

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
