import { afterEach, describe, expect, it } from "vitest";
import { ingestLabels, rolloutReport, challengerBeatsChampion } from "../../src/monitoring/index.js";
import { parseEndpointConfig } from "../../src/serving/index.js";
import { delongPaired, ks2samp, mcnemar } from "../../src/stats/index.js";
import { fixture, openStack, post, serve, type Served, type Stack } from "../serving/harness.js";

/** XGBoost's own scores of the two fixture models on the same 200 rows: the independent reference. */
const v1 = fixture("xgb_binary.json");
const v2 = fixture("xgb_binary_base.json");
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 5, 1);
const REQUESTS = 400;

let stack: Stack | undefined;
let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  await stack?.close();
  served = undefined;
  stack = undefined;
});

/** mulberry32: labels drawn from the champion's probabilities, the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** numpy's default (linear) percentile, written out here rather than taken from keel. */
function percentile(values: number[], q: number): number {
  const s = [...values].sort((x, y) => x - y);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  return (s[lo] as number) + (h - lo) * ((s[Math.min(lo + 1, s.length - 1)] as number) - (s[lo] as number));
}

describe("rollout report", () => {
  it("holds a shadow run for a simulated day, with labels arriving later, against a direct computation", async () => {
    stack = await openStack();
    const a = await stack.register("credit", "xgb_binary.json");
    const b = await stack.register("credit", "xgb_binary_base.json");
    await stack.registry.setAlias("credit", "champion", a);
    const clock = { t: T0 };
    served = await serve(stack, {
      clock: () => clock.t,
      pollIntervalMs: 60_000,
      inferenceLog: stack.stores.inferenceLog,
      endpoints: [parseEndpointConfig({ name: "credit", model: "credit", shadows: [{ version: b }] })],
    });
    const url = `${served.url}/api/keel/endpoints/credit/predict`;
    for (let k = 0; k < REQUESTS; k++) {
      clock.t = T0 + Math.floor((k * DAY) / REQUESTS);
      const r = await post(url, [v1.row(k % 200)], { "x-request-id": `req-${k}` });
      expect(r.status).toBe(200);
    }
    await served.close();
    served = undefined;
    const sources = { inferenceLog: stack.stores.inferenceLog, labels: stack.stores.labels };
    const window = { modelName: "credit", championVersion: a, from: T0, to: T0 + DAY };

    const early = await rolloutReport(sources, window);
    expect(early.championRequests).toBe(REQUESTS);
    expect(early.candidates).toHaveLength(1);
    expect(early.candidates[0]).toMatchObject({ version: b, routes: ["shadow"], paired: REQUESTS, labelled: 0 });
    expect(early.candidates[0]?.comparison).toBeNull();
    expect(
      challengerBeatsChampion(early.candidates[0], { gate: "challenger_beats_champion", minAucGain: 0, alpha: 0.05 }),
    ).toMatchObject({ decision: "hold" });

    // Outcomes arrive days later, for three requests in four.
    const draw = rng(13);
    const labelled: { k: number; y: number }[] = [];
    for (let k = 0; k < REQUESTS; k++) {
      const y = draw() < (v1.expected[k % 200] as number) ? 1 : 0;
      if (k % 4 !== 3) labelled.push({ k, y });
    }
    await ingestLabels(
      stack.stores.labels,
      labelled.map(({ k, y }) => ({ requestId: `req-${k}`, label: y, source: "test" })),
      { actor: "test" },
    );
    const report = await rolloutReport(sources, window);
    const c = report.candidates[0];
    if (c === undefined) throw new Error("no candidate");

    const champ = Array.from({ length: REQUESTS }, (_, k) => v1.expected[k % 200] as number);
    const cand = Array.from({ length: REQUESTS }, (_, k) => v2.expected[k % 200] as number);
    const delta = champ.map((s, k) => Math.abs((cand[k] as number) - s));
    const agree = champ.filter((s, k) => s >= 0.5 === (cand[k] as number) >= 0.5).length / REQUESTS;
    expect(c.agreement).toBeCloseTo(agree, 12);
    expect(c.meanAbsScoreDifference).toBeCloseTo(delta.reduce((x, y) => x + y, 0) / REQUESTS, 6);
    expect(c.p99AbsScoreDifference).toBeCloseTo(percentile(delta, 0.99), 6);
    const ks = ks2samp(Float64Array.from(cand), Float64Array.from(champ));
    expect(c.ks).toBeCloseTo(ks.statistic, 12);
    expect(c.ksPValue).toBeCloseTo(ks.pValue, 9);

    const y = Float64Array.from(labelled, (l) => l.y);
    const la = Float64Array.from(labelled, (l) => cand[l.k] as number);
    const lb = Float64Array.from(labelled, (l) => champ[l.k] as number);
    const d = delongPaired(y, la, lb);
    const m = mcnemar(
      y,
      la.map((s) => (s >= 0.5 ? 1 : 0)),
      lb.map((s) => (s >= 0.5 ? 1 : 0)),
    );
    expect(c.labelled).toBe(labelled.length);
    expect(c.comparison).not.toBeNull();
    expect(c.comparison?.aucCandidate).toBeCloseTo(d.aucA, 6);
    expect(c.comparison?.aucChampion).toBeCloseTo(d.aucB, 6);
    expect(c.comparison?.aucDifference).toBeCloseTo(d.difference, 6);
    expect(c.comparison?.pValue).toBeCloseTo(d.pValue, 5);
    expect(c.comparison?.ciLow).toBeCloseTo(d.ciLow, 6);
    expect(c.comparison?.ciHigh).toBeCloseTo(d.ciHigh, 6);
    expect(c.comparison?.mcnemarPValue).toBeCloseTo(m.pValue, 9);

    // Latency difference: the logged latencies of the same requests, averaged here.
    const logged = await stack.stores.inferenceLog.query({ modelName: "credit", from: T0, to: T0 + DAY });
    const mean = (v: string) => {
      const xs = logged.filter((r) => r.modelVersion === v).map((r) => r.latencyMs);
      return xs.reduce((x, y) => x + y, 0) / xs.length;
    };
    expect(c.latency?.meanDifferenceMs).toBeCloseTo(mean(b) - mean(a), 9);

    // The gate reads the same comparison: the base model is no better than the champion here.
    const gate = challengerBeatsChampion(c, { gate: "challenger_beats_champion", minAucGain: 0.02, alpha: 0.05 });
    expect(gate.decision).toBe("hold");
    // Hold, not rollback: the interval reaches above 0 but not wholly above the minimum gain.
    expect(d.ciHigh).toBeGreaterThan(0);
    expect(d.ciLow).toBeLessThan(0.02);
    expect(gate.reason).toContain(`${labelled.length} labelled paired requests`);
  });
});
