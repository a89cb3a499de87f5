import { describe, expect, it } from "vitest";
import type { MonitorObservation } from "../../src/store/monitor-observations.js";
import { DEFAULT_ALERT_RULES, evaluateAlertRules, parseAlertRules, planAlerts } from "../../src/monitoring/alerts.js";
import type { AlertFinding, AlertState } from "../../src/monitoring/alerts.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2024, 5, 1);

function obs(day: number, metric: string, value: number, over: Partial<MonitorObservation> = {}): MonitorObservation {
  return {
    modelName: "loans",
    modelVersion: "3",
    windowStart: T0 + day * DAY,
    windowEnd: T0 + (day + 1) * DAY,
    kind: "drift",
    metric,
    value,
    ...over,
  };
}

const psi = (v: number, day = 0) => obs(day, "psi", v, { feature: "credit_score" });
const NOW = T0 + 1 * DAY + HOUR;

function firing(findings: readonly AlertFinding[]): string[] {
  return findings.filter((f) => f.firing).map((f) => f.ruleId);
}

describe("default rules at their boundaries", () => {
  it("PSI on credit_score: > 0.10 notifies, > 0.25 retrains (strictly above)", () => {
    expect(firing(evaluateAlertRules(DEFAULT_ALERT_RULES, [psi(0.1)], NOW))).toEqual([]);
    expect(firing(evaluateAlertRules(DEFAULT_ALERT_RULES, [psi(0.1000001)], NOW))).toEqual(["credit_score_psi_notify"]);
    expect(firing(evaluateAlertRules(DEFAULT_ALERT_RULES, [psi(0.25)], NOW))).toEqual(["credit_score_psi_notify"]);
    expect(firing(evaluateAlertRules(DEFAULT_ALERT_RULES, [psi(0.2500001)], NOW))).toEqual([
      "credit_score_psi_notify",
      "credit_score_psi_retrain",
    ]);
    // other features do not count; the latest window decides
    expect(firing(evaluateAlertRules(DEFAULT_ALERT_RULES, [obs(0, "psi", 0.9, { feature: "region" })], NOW))).toEqual(
      [],
    );
    expect(firing(evaluateAlertRules(DEFAULT_ALERT_RULES, [psi(0.4, -1), psi(0.05, 0)], NOW))).toEqual([]);
    const f = evaluateAlertRules(DEFAULT_ALERT_RULES, [psi(0.31)], NOW).find(
      (x) => x.ruleId === "credit_score_psi_retrain",
    )!;
    expect(f).toMatchObject({
      tier: "retrain",
      value: 0.31,
      threshold: 0.25,
      target: { modelName: "loans", modelVersion: "3", feature: "credit_score" },
      dedupKey: "credit_score_psi_retrain|loans|3||credit_score|",
      summary: "loans v3 (credit_score): psi = 0.31 > 0.25",
    });
  });

  it("KS p < 0.01 on at least 3 features pages, once for the model", () => {
    const ks = (feature: string, p: number) => obs(0, "ks_p_value", p, { feature });
    const two = [ks("a", 0.001), ks("b", 0.009), ks("c", 0.01), ks("d", 0.5)];
    expect(firing(evaluateAlertRules(DEFAULT_ALERT_RULES, two, NOW))).toEqual([]);
    const three = [...two, ks("e", 0.0099)];
    const findings = evaluateAlertRules(DEFAULT_ALERT_RULES, three, NOW);
    expect(firing(findings)).toEqual(["ks_p_value_page"]);
    const page = findings.find((f) => f.ruleId === "ks_p_value_page")!;
    expect(page.value).toBe(3);
    expect(page.target).toEqual({ modelName: "loans", modelVersion: "3" });
    expect(page.detail.features).toEqual([
      { feature: "a", value: 0.001 },
      { feature: "b", value: 0.009 },
      { feature: "e", value: 0.0099 },
    ]);
    // a stale window does not count
    expect(firing(evaluateAlertRules(DEFAULT_ALERT_RULES, three, NOW + 3 * DAY))).toEqual([]);
  });

  it("rolling AUC down more than 2% against the previous windows' mean asks for review", () => {
    const auc = (day: number, v: number) => obs(day, "auc_7d", v, { kind: "performance" });
    const history = [auc(-2, 0.86), auc(-1, 0.88)]; // mean 0.87
    // exactly 2% down (0.8526) does not fire; a hair more does; up never does
    expect(firing(evaluateAlertRules(DEFAULT_ALERT_RULES, [...history, auc(0, 0.8526)], NOW))).toEqual([]);
    const down = evaluateAlertRules(DEFAULT_ALERT_RULES, [...history, auc(0, 0.8525)], NOW);
    expect(firing(down)).toEqual(["rolling_auc_review"]);
    expect(down[0]!.value).toBeCloseTo((0.87 - 0.8525) / 0.87, 12);
    expect(down[0]!.detail).toMatchObject({ baseline: 0.87, baseline_windows: 2 });
    expect(firing(evaluateAlertRules(DEFAULT_ALERT_RULES, [...history, auc(0, 0.95)], NOW))).toEqual([]);
    // only the last 7 windows form the baseline
    const long = [auc(-9, 0.5), auc(-8, 0.5), ...Array.from({ length: 7 }, (_, i) => auc(i - 7, 0.9)), auc(0, 0.88)];
    expect(firing(evaluateAlertRules(DEFAULT_ALERT_RULES, long, NOW))).toEqual(["rolling_auc_review"]);
    // no history, no verdict
    expect(evaluateAlertRules(DEFAULT_ALERT_RULES, [auc(0, 0.5)], NOW)).toEqual([]);
  });

  it("reject rate shifted more than 15% either way is a business alert", () => {
    const rate = (day: number, v: number) =>
      obs(day, "decision_rate", v, { kind: "prediction_drift", segment: "decision=reject" });
    const base = [rate(-1, 0.2)];
    expect(firing(evaluateAlertRules(DEFAULT_ALERT_RULES, [...base, rate(0, 0.23)], NOW))).toEqual([]);
    expect(firing(evaluateAlertRules(DEFAULT_ALERT_RULES, [...base, rate(0, 0.17)], NOW))).toEqual([]);
    expect(firing(evaluateAlertRules(DEFAULT_ALERT_RULES, [...base, rate(0, 0.2301)], NOW))).toEqual([
      "reject_rate_business",
    ]);
    expect(firing(evaluateAlertRules(DEFAULT_ALERT_RULES, [...base, rate(0, 0.1699)], NOW))).toEqual([
      "reject_rate_business",
    ]);
    // the approve rate is another segment
    const approve = [
      obs(-1, "decision_rate", 0.8, { kind: "prediction_drift", segment: "decision=approve" }),
      obs(0, "decision_rate", 0.5, { kind: "prediction_drift", segment: "decision=approve" }),
    ];
    expect(firing(evaluateAlertRules(DEFAULT_ALERT_RULES, approve, NOW))).toEqual([]);
  });
});

describe("dedup, cooldown and resolution", () => {
  const rules = parseAlertRules([
    {
      id: "psi",
      tier: "notify",
      kind: "drift",
      metric: "psi",
      feature: "*",
      condition: "above",
      threshold: 0.1,
      cooldownMinutes: 30,
    },
  ]);
  const find = (v: number, feature = "credit_score") => evaluateAlertRules(rules, [obs(0, "psi", v, { feature })], NOW);
  const state = (over: Partial<AlertState>): AlertState => ({
    id: "a1",
    ruleId: "psi",
    dedupKey: "psi|loans|3||credit_score|",
    status: "open",
    firedAt: NOW - HOUR,
    ...over,
  });

  it("fires once per rule and target while the alert is open, and resolves it when the condition clears", () => {
    expect(planAlerts(rules, find(0.3), [], NOW).fire.map((f) => f.dedupKey)).toEqual(["psi|loans|3||credit_score|"]);
    const dedup = planAlerts(rules, find(0.3), [state({})], NOW);
    expect(dedup.fire).toEqual([]);
    expect(dedup.still.map((s) => s.alert.id)).toEqual(["a1"]);
    // acknowledged counts as open
    expect(planAlerts(rules, find(0.3), [state({ status: "acknowledged" })], NOW).fire).toEqual([]);
    // another feature is another target
    expect(planAlerts(rules, find(0.3, "region"), [state({})], NOW).fire.length).toBe(1);
    const cleared = planAlerts(rules, find(0.05), [state({})], NOW);
    expect(cleared.resolve.map((r) => r.alert.id)).toEqual(["a1"]);
    expect(cleared.fire).toEqual([]);
  });

  it("holds a target back for the cooldown after its last firing", () => {
    const resolved = (minutesAgo: number) => state({ status: "resolved", firedAt: NOW - minutesAgo * 60_000 });
    const cooling = planAlerts(rules, find(0.3), [resolved(29)], NOW);
    expect(cooling.fire).toEqual([]);
    expect(cooling.cooling.length).toBe(1);
    expect(planAlerts(rules, find(0.3), [resolved(30)], NOW).fire.length).toBe(1);
    // the default cooldown is 60 minutes
    const defaults = evaluateAlertRules(DEFAULT_ALERT_RULES, [psi(0.2)], NOW);
    const key = "credit_score_psi_notify|loans|3||credit_score|";
    const hist = (m: number): AlertState[] => [
      { id: "x", ruleId: "credit_score_psi_notify", dedupKey: key, status: "resolved", firedAt: NOW - m * 60_000 },
    ];
    expect(planAlerts(DEFAULT_ALERT_RULES, defaults, hist(59), NOW).fire.map((f) => f.ruleId)).toEqual([]);
    expect(planAlerts(DEFAULT_ALERT_RULES, defaults, hist(60), NOW).fire.map((f) => f.ruleId)).toEqual([
      "credit_score_psi_notify",
    ]);
  });
});

function fieldOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return (e as { details?: { field?: unknown } }).details?.field;
  }
  return undefined;
}

describe("rule table", () => {
  it("reads the defaults back from JSON unchanged", () => {
    expect(parseAlertRules(JSON.parse(JSON.stringify({ rules: DEFAULT_ALERT_RULES })))).toEqual(DEFAULT_ALERT_RULES);
  });

  it("names the rule and the field on bad input", () => {
    const base = { id: "r", tier: "notify", kind: "drift", metric: "psi", condition: "above", threshold: 0.1 };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, tier: "shout" }, "rules[0].tier"],
      [{ ...base, kind: "weather" }, "rules[0].kind"],
      [{ ...base, condition: "equal" }, "rules[0].condition"],
      [{ ...base, threshold: "high" }, "rules[0].threshold"],
      [{ ...base, minFeatures: 3 }, "rules[0].feature"],
      [{ ...base, change: { baselineWindows: 0 } }, "rules[0].change.baselineWindows"],
      [{ ...base, colour: "red" }, "rules[0].colour"],
      [{ ...base, cooldownMinutes: -1 }, "rules[0].cooldownMinutes"],
    ];
    for (const [rule, field] of cases) {
      expect(
        fieldOf(() => parseAlertRules([rule])),
        field,
      ).toBe(field);
    }
    expect(() => parseAlertRules([base, base])).toThrow("is used by an earlier rule");
    expect(fieldOf(() => parseAlertRules({ rules: 3 }))).toBe("rules");
  });
});
