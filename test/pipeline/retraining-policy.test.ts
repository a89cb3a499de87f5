import { describe, expect, it } from "vitest";
import {
  evaluateRetrainingPolicy,
  parseRetrainingPolicies,
  parseRetrainingPolicy,
  type RetrainingFacts,
} from "../../src/pipeline/retraining-policy.js";
import { thrown } from "../keel-error.js";

const NOW = Date.parse("2024-06-30T12:00:00Z");
const DAY = 86_400_000;
const HOUR = 3_600_000;

const policy = parseRetrainingPolicy({
  model: "loan-default",
  pipeline: "loan-pipeline.json",
  schedule: "0 2 * * *",
  triggers: {
    schedule: { maxAgeDays: 30 },
    drift: { severities: ["major"], minFeatures: 2, lookbackHours: 24 },
    performance: { rollingMetric: "auc_7d", baselineMetric: "auc", maxRelativeDrop: 0.05 },
    dataVolume: { minNewRows: 10_000 },
  },
});

function result(facts: RetrainingFacts, trigger: string) {
  const r = evaluateRetrainingPolicy(policy, facts, NOW).triggers.find((t) => t.trigger === trigger);
  if (r === undefined) throw new Error(`no ${trigger} result`);
  return r;
}

const failure = (fn: () => unknown) => thrown(fn);

describe("schedule trigger (maximum model age)", () => {
  it("fires at exactly the maximum age and not a millisecond before", () => {
    const at30 = result({ champion: { version: "3", registeredAt: NOW - 30 * DAY } }, "schedule");
    expect(at30.fired).toBe(true);
    expect(at30.observed).toBe(30);
    expect(at30.reason).toBe(
      "champion version 3 registered 2024-05-31T12:00:00.000Z is 30 days old; maximum age 30 days",
    );
    expect(result({ champion: { version: "3", registeredAt: NOW - 30 * DAY + 1 } }, "schedule").fired).toBe(false);
  });

  it("says it was not evaluated without a champion", () => {
    const r = result({}, "schedule");
    expect([r.fired, r.reason]).toEqual([false, "not evaluated: the model has no champion version"]);
  });
});

describe("performance trigger (> 5% below the baseline)", () => {
  const facts = (rolling: number): RetrainingFacts => ({
    baseline: 0.8,
    rolling: { value: rolling, windowEnd: NOW - HOUR },
  });

  it("does not fire at exactly 5% below, fires just beyond", () => {
    // 0.76 is exactly 5% below 0.80 (in doubles the ratio is 0.05000000000000004)
    const exact = result(facts(0.76), "performance");
    expect(exact.fired).toBe(false);
    expect(exact.reason).toBe("auc_7d 0.76 is 5% below the baseline auc 0.8; fires above 5%");
    expect(result(facts(0.7599), "performance").fired).toBe(true);
    expect(result(facts(0.7601), "performance").fired).toBe(false);
    expect(result(facts(0.85), "performance").fired).toBe(false);
    // (0.9 - 0.85) / 0.9 = 5.56 %
    const r = result({ baseline: 0.9, rolling: { value: 0.85, windowEnd: NOW - HOUR } }, "performance");
    expect(r.fired).toBe(true);
    expect(r.observed).toBeCloseTo(0.05 / 0.9, 12);
  });

  it("ignores a stale rolling value and a missing baseline", () => {
    expect(result({ baseline: 0.8, rolling: { value: 0.5, windowEnd: NOW - 49 * HOUR } }, "performance").reason).toBe(
      "not evaluated: no auc_7d from monitoring in the last 48 h",
    );
    expect(result({ rolling: { value: 0.5, windowEnd: NOW } }, "performance").reason).toBe(
      "not evaluated: no baseline auc recorded for the champion",
    );
  });
});

describe("data volume trigger (≥ N new labelled rows)", () => {
  it("fires at exactly N rows, not at N − 1", () => {
    const lastTrainingAt = NOW - 7 * DAY;
    const at = result({ newLabelledRows: 10_000, lastTrainingAt }, "data_volume");
    expect(at.fired).toBe(true);
    expect(at.reason).toBe("10000 new labelled rows since 2024-06-23T12:00:00.000Z; fires at 10000");
    expect(result({ newLabelledRows: 9_999, lastTrainingAt }, "data_volume").fired).toBe(false);
    expect(result({}, "data_volume").reason).toBe("not evaluated: no count of new labelled rows");
  });
});

describe("drift trigger (critical drift or a retrain alert)", () => {
  const finding = (feature: string, severity: string, hoursAgo: number) => ({
    feature,
    metric: "psi",
    value: severity === "major" ? 0.31 : 0.12,
    severity,
    windowEnd: NOW - hoursAgo * HOUR,
  });

  it("counts distinct features at the listed severities inside the lookback", () => {
    const two = result(
      { drift: [finding("credit_score", "major", 1), finding("credit_score", "major", 2), finding("dti", "major", 3)] },
      "drift",
    );
    expect(two.fired).toBe(true);
    expect(two.observed).toBe(2);
    expect(two.reason).toBe(
      "2 feature(s) with major drift in the last 24 h (credit_score psi=0.31 major, dti psi=0.31 major); at least 2 needed",
    );
    // one major feature, one minor, one major but 25 h old: only one counts
    const one = result(
      { drift: [finding("credit_score", "major", 1), finding("income", "minor", 1), finding("dti", "major", 25)] },
      "drift",
    );
    expect([one.fired, one.observed]).toEqual([false, 1]);
  });

  it("fires on a recent retrain-tier alert even without drift observations", () => {
    const r = result({ alerts: [{ reason: "PSI credit_score 0.27 > 0.25", at: NOW - HOUR }] }, "drift");
    expect(r.fired).toBe(true);
    expect(r.reason).toBe("no drift observations available; retrain alert: PSI credit_score 0.27 > 0.25");
    expect(result({ alerts: [{ reason: "old", at: NOW - 30 * HOUR }] }, "drift").fired).toBe(false);
  });
});

describe("the decision", () => {
  it("lists the triggers that fired, in a fixed order", () => {
    const d = evaluateRetrainingPolicy(
      policy,
      {
        champion: { version: "1", registeredAt: NOW - 40 * DAY },
        newLabelledRows: 20_000,
        baseline: 0.8,
        rolling: { value: 0.79, windowEnd: NOW },
        drift: [],
      },
      NOW,
    );
    expect(d.retrain).toBe(true);
    expect(d.fired).toEqual(["schedule", "data_volume"]);
    expect(d.triggers.map((t) => t.trigger)).toEqual(["schedule", "drift", "performance", "data_volume"]);
    const quiet = evaluateRetrainingPolicy(policy, { champion: { version: "1", registeredAt: NOW } }, NOW);
    expect([quiet.retrain, quiet.fired]).toEqual([false, []]);
  });
});

describe("parsing a policy", () => {
  it("fills the seed's defaults when triggers are left out", () => {
    const p = parseRetrainingPolicy({ model: "m", pipeline: "p.json", schedule: "*/30 * * * *" });
    expect(p.triggers).toEqual({
      schedule: { maxAgeDays: 30 },
      drift: { severities: ["major"], minFeatures: 1, lookbackHours: 24 },
      performance: { rollingMetric: "auc_7d", baselineMetric: "auc", maxRelativeDrop: 0.05, lookbackHours: 48 },
    });
    expect(p.championAlias).toBe("champion");
  });

  it("names the field, the value and the rule", () => {
    const base = { model: "m", pipeline: "p.json", schedule: "0 * * * *" };
    expect(failure(() => parseRetrainingPolicy({ ...base, model: undefined })).message).toBe(
      "policy.model = undefined: is required",
    );
    expect(
      failure(() => parseRetrainingPolicy({ ...base, triggers: { performance: { maxRelativeDrop: 5 } } })).message,
    ).toBe("policy.triggers.performance.maxRelativeDrop = 5: must be a finite number, ≥ 0, ≤ 1");
    expect(failure(() => parseRetrainingPolicy({ ...base, triggers: { dataVolume: {} } })).message).toBe(
      "policy.triggers.dataVolume.minNewRows = undefined: is required",
    );
    expect(failure(() => parseRetrainingPolicy({ ...base, triggers: { volume: {} } })).message).toBe(
      "policy.triggers.volume = {}: unknown field; allowed: schedule, drift, performance, dataVolume",
    );
    expect(failure(() => parseRetrainingPolicy({ ...base, schedule: "daily" })).message).toBe(
      'policy.schedule cron "daily": "daily" must have 5 fields (minute hour day-of-month month day-of-week), found 1',
    );
    expect(
      failure(() => parseRetrainingPolicy({ ...base, triggers: { dataVolume: { minNewRows: 5, data: "x.csv" } } }))
        .message,
    ).toContain("policy.triggers.dataVolume.timeColumn = undefined: is required with data");
    expect(failure(() => parseRetrainingPolicies([base, base])).message).toBe(
      'policy[1].model = "m": has a policy already; one policy per model',
    );
  });
});
