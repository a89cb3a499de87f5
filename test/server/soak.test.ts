import { describe, expect, it } from "vitest";
import { HEAP_GROWTH_BOUND_MB, RSS_GROWTH_BOUND_MB, runSoak } from "../../bench/soak.js";

describe("soak, 60-second variant of `npm run bench soak`", () => {
  it(
    "two replicas under mixed traffic: no errors, every kind of request served, no memory growth after warm-up",
    { timeout: 240_000 },
    async () => {
      const report = await runSoak({ seconds: 60 });
      expect(report.errors, report.firstErrors.join("\n")).toBe(0);
      for (const [kind, n] of Object.entries(report.requests)) expect(n, kind).toBeGreaterThan(0);
      for (const r of report.replicas) {
        // the probe sampled the replica throughout
        expect(r.rssEndMb).toBeGreaterThan(0);
        expect(r.rssGrowthMb).toBeLessThanOrEqual(RSS_GROWTH_BOUND_MB);
        // the heap's trend rests on at least two major collections after warm-up
        expect(r.majorCollections).toBeGreaterThanOrEqual(2);
        expect(r.heapGrowthMb).toBeLessThanOrEqual(HEAP_GROWTH_BOUND_MB);
      }
    },
  );
});
