import { describe, expect, it } from "vitest";
import {
  advanceCanary,
  canaryPercent,
  chooseRoute,
  hashBucket,
  inPercent,
  startCanary,
  type CanarySchedule,
} from "../../src/serving/router.js";

const schedule: CanarySchedule = { steps: [5, 25, 100], stepMs: 60_000, maxErrorRate: 0.05, minRequests: 20 };

describe("hashBucket", () => {
  it("matches FNV-1a 32-bit reference values", () => {
    // FNV-1a("") = 0x811c9dc5, FNV-1a("a") = 0xe40c292c (published test vectors).
    expect(hashBucket("")).toBe(0x811c9dc5 % 10_000);
    expect(hashBucket("a")).toBe(0xe40c292c % 10_000);
    expect(hashBucket("foobar")).toBe(0xbf9cf968 % 10_000);
  });

  it("splits keys close to the requested share and stays sticky", () => {
    let hits = 0;
    for (let i = 0; i < 20_000; i++) if (inPercent(`applicant-${i}`, 10)) hits++;
    expect(hits / 20_000).toBeGreaterThan(0.09);
    expect(hits / 20_000).toBeLessThan(0.11);
    expect(inPercent("applicant-7", 10)).toBe(inPercent("applicant-7", 10));
  });
});

describe("chooseRoute", () => {
  it("keeps champion/challenger assignment when the canary share grows", () => {
    const keys = Array.from({ length: 5000 }, (_, i) => `k${i}`);
    const before = keys.map((k) => chooseRoute(k, 0, 20));
    const after = keys.map((k) => chooseRoute(k, 5, 20));
    const movedToChallenger = keys.filter((_, i) => before[i] === "champion" && after[i] === "challenger");
    expect(after.filter((r) => r === "canary").length / keys.length).toBeCloseTo(0.05, 1);
    // growing the canary shifts the challenger window by 5%: only those buckets change hands
    expect(movedToChallenger.length / keys.length).toBeLessThan(0.06);
  });

  it("sends everything to the champion with no split", () => {
    expect(["a", "b", "c"].map((k) => chooseRoute(k, 0, 0))).toEqual(["champion", "champion", "champion"]);
  });
});

describe("canary schedule", () => {
  it("advances 5 → 25 → 100 on time, then promotes", () => {
    let s = startCanary(0);
    expect(canaryPercent(s, schedule)).toBe(5);
    s = advanceCanary(s, schedule, { now: 59_999, alertFiring: false, requests: 100, errors: 0 });
    expect(canaryPercent(s, schedule)).toBe(5);
    s = advanceCanary(s, schedule, { now: 60_000, alertFiring: false, requests: 100, errors: 0 });
    expect(canaryPercent(s, schedule)).toBe(25);
    s = advanceCanary(s, schedule, { now: 120_000, alertFiring: false, requests: 0, errors: 0 });
    expect(canaryPercent(s, schedule)).toBe(100);
    s = advanceCanary(s, schedule, { now: 180_000, alertFiring: false, requests: 0, errors: 0 });
    expect(s.status).toBe("promoted");
  });

  it("rolls back when an alert fires", () => {
    const s = advanceCanary(startCanary(0), schedule, { now: 10, alertFiring: true, requests: 0, errors: 0 });
    expect(s.status).toBe("rolled_back");
    expect(canaryPercent(s, schedule)).toBe(0);
  });

  it("rolls back when the error rate passes the bound, but only with enough requests", () => {
    const few = advanceCanary(startCanary(0), schedule, { now: 10, alertFiring: false, requests: 10, errors: 5 });
    expect(few.status).toBe("running");
    const many = advanceCanary(startCanary(0), schedule, { now: 10, alertFiring: false, requests: 100, errors: 6 });
    expect(many.status).toBe("rolled_back");
    if (many.status === "rolled_back") expect(many.reason).toContain("0.0600");
    const ok = advanceCanary(startCanary(0), schedule, { now: 10, alertFiring: false, requests: 100, errors: 5 });
    expect(ok.status).toBe("running");
  });
});
