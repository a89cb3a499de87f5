import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStores } from "../../src/open-stores.js";
import { delongPaired, ks2samp } from "../../src/stats/index.js";
import { keelInProcess } from "./helpers.js";

const keelCli = (args: string[], env: Record<string, string>) => keelInProcess(args, { env });
const T0 = Date.UTC(2026, 10, 2);
const N = 120;

/** Champion and shadow scores and outcomes of N logged requests, the same on every run. */
function data(): { champ: number[]; shadow: number[]; y: number[] } {
  let s = 7;
  const next = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const champ: number[] = [];
  const shadow: number[] = [];
  const y: number[] = [];
  for (let k = 0; k < N; k++) {
    const label = next() < 0.3 ? 1 : 0;
    champ.push(Math.min(0.99, Math.max(0.01, 0.3 + 0.25 * label + 0.3 * (next() - 0.5))));
    shadow.push(Math.min(0.99, Math.max(0.01, 0.3 + 0.35 * label + 0.3 * (next() - 0.5))));
    y.push(label);
  }
  return { champ, shadow, y };
}

describe("keel rollout on the local store", () => {
  let dir: string;
  let env: Record<string, string>;
  const d = data();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "keel-cli-rollout-"));
    env = { KEEL_DATA_DIR: dir };
    const stores = openStores({
      backendStoreUri: `sqlite:///${path.join(dir, "keel.db")}`,
      artifactRoot: path.join(dir, "artifacts"),
    });
    await stores.migrate();
    for (let i = 1; i <= 2; i++) await stores.registry.createModelVersion({ name: "loans", source: `m/${i}` });
    await stores.registry.setAlias("loans", "champion", "1");
    await stores.inferenceLog.append(
      d.champ.map((score, k) => ({
        requestId: `r-${k}`,
        time: T0 + k * 60_000,
        endpoint: "loans",
        modelName: "loans",
        modelVersion: "1",
        route: "champion",
        features: {},
        outputs: { score },
        latencyMs: 1,
        shadows: [{ modelName: "loans", modelVersion: "2", outputs: { score: d.shadow[k] as number }, latencyMs: 3 }],
      })),
      { durability: "sync" },
    );
    await stores.labels.put(
      d.y.map((label, k) => ({ requestId: `r-${k}`, label, source: "test" })),
      { actor: "test" },
    );
    await stores.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reports the shadow against the champion as a direct computation does, and approves a canary", async () => {
    const out = await keelCli(
      ["--json", "rollout", "report", "loans", "--from", String(T0), "--to", new Date(T0 + 86_400_000).toISOString()],
      env,
    );
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout) as {
      champion_version: string;
      candidates: {
        version: string;
        paired: number;
        agreement: number;
        ks: number;
        latency: { mean_difference_ms: number };
        comparison: { auc_difference: number; p_value: number; ci_low: number; ci_high: number; verdict: string };
      }[];
    };
    expect(report.champion_version).toBe("1");
    const c = report.candidates[0];
    const dl = delongPaired(Float64Array.from(d.y), Float64Array.from(d.shadow), Float64Array.from(d.champ));
    expect(c?.version).toBe("2");
    expect(c?.paired).toBe(N);
    expect(c?.agreement).toBeCloseTo(
      d.champ.filter((s, k) => s >= 0.5 === (d.shadow[k] as number) >= 0.5).length / N,
      12,
    );
    expect(c?.ks).toBeCloseTo(ks2samp(Float64Array.from(d.shadow), Float64Array.from(d.champ)).statistic, 12);
    expect(c?.latency.mean_difference_ms).toBeCloseTo(2, 12);
    expect(c?.comparison.auc_difference).toBeCloseTo(dl.difference, 12);
    expect(c?.comparison.p_value).toBeCloseTo(dl.pValue, 12);
    expect(c?.comparison.ci_low).toBeCloseTo(dl.ciLow, 12);

    const human = await keelCli(
      ["rollout", "report", "loans", "--from", String(T0), "--to", String(T0 + 86_400_000)],
      env,
    );
    expect(human.code).toBe(0);
    expect(human.stdout).toContain("against champion v1");
    expect(human.stdout).toContain(c?.comparison.verdict ?? "?");

    const bad = await keelCli(["rollout", "report", "loans", "--alpha", "2"], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe("error: --alpha = 2: must be a number in (0, 1)");

    const approve = await keelCli(
      ["rollout", "approve", "loans", "2", "--reason", "shadow report", "--approver", "ana"],
      env,
    );
    expect(approve.code).toBe(0);
    expect(approve.stdout.trim()).toBe("loans v2: canary approved by ana: shadow report");
    const missing = await keelCli(["rollout", "approve", "loans", "9", "--reason", "x"], env);
    expect(missing.code).toBe(1);
  }, 30_000);
});
