/**
 * Alert rules over monitoring observations: a rule table (JSON), the seed's defaults, and the pure
 * evaluation and state rules (dedup, cooldown, resolution) with the clock passed in.
 *
 * A rule watches one series of observations (model, kind, metric, feature, segment) and tests the
 * latest window of each matching series:
 * - `above` / `below`: the value is strictly above / below `threshold`;
 * - `minFeatures`: fires once at least that many features (of one model version and window)
 *   satisfy the condition — one alert for the model, not one per feature;
 * - `change`: the relative change of the latest value against the mean of the `baselineWindows`
 *   windows before it is compared with `threshold` (`direction`: down, up or either).
 * The target of an alert is the model (and version, endpoint, feature, segment) it concerns; one
 * alert per rule and target stays open while the condition holds (dedup), the condition clearing
 * resolves it, and a rule does not fire again for a target within `cooldownMinutes` of its last firing.
 */
import { ALERT_TIERS, DECISION_LABELS, OBSERVATION_KINDS, type AlertTier } from "../wire/index.js";
import type { MonitorObservation, ObservationKind } from "../store/index.js";
import { specError } from "../spec-fields.js";

export { ALERT_TIERS, type AlertTier } from "../wire/index.js";

export interface AlertRule {
  /** Stable name; part of every alert's dedup key. */
  readonly id: string;
  readonly tier: AlertTier;
  readonly description?: string;
  /** Only this model (default: every model). */
  readonly model?: string;
  readonly kind: ObservationKind;
  readonly metric: string;
  /** A feature name, `*` for every feature, or absent for observations about no feature. */
  readonly feature?: string;
  /** A segment (`column=value`), `column=*` for every value of the column, or absent. */
  readonly segment?: string;
  readonly condition: "above" | "below";
  readonly threshold: number;
  /** Count rule: fire when at least this many features of one window meet the condition. */
  readonly minFeatures?: number;
  /** Change rule: compare the relative change against the previous windows' mean with `threshold`. */
  readonly change?: { readonly baselineWindows: number; readonly direction: "down" | "up" | "either" };
  /** Do not fire again for the same target within this many minutes of its last firing (default 60). */
  readonly cooldownMinutes?: number;
  /** Only windows that ended at most this many hours ago count (default 48). */
  readonly maxAgeHours?: number;
}

export const DEFAULT_COOLDOWN_MINUTES = 60;
export const DEFAULT_MAX_AGE_HOURS = 48;

/** The seed's rule table. */
export const DEFAULT_ALERT_RULES: readonly AlertRule[] = [
  {
    id: "credit_score_psi_notify",
    tier: "notify",
    description: "PSI on credit_score above 0.10",
    kind: "drift",
    metric: "psi",
    feature: "credit_score",
    condition: "above",
    threshold: 0.1,
  },
  {
    id: "credit_score_psi_retrain",
    tier: "retrain",
    description: "PSI on credit_score above 0.25",
    kind: "drift",
    metric: "psi",
    feature: "credit_score",
    condition: "above",
    threshold: 0.25,
  },
  {
    id: "ks_p_value_page",
    tier: "page",
    description: "KS p-value below 0.01 on at least 3 features",
    kind: "drift",
    metric: "ks_p_value",
    feature: "*",
    condition: "below",
    threshold: 0.01,
    minFeatures: 3,
  },
  {
    id: "rolling_auc_review",
    tier: "review",
    description: "rolling 7-day AUC down more than 2% against the previous 7 windows",
    kind: "performance",
    metric: "auc_7d",
    condition: "above",
    threshold: 0.02,
    change: { baselineWindows: 7, direction: "down" },
  },
  {
    id: "reject_rate_business",
    tier: "business",
    description: "reject rate shifted more than 15% against the previous 7 windows",
    kind: "prediction_drift",
    metric: "decision_rate",
    // The label serving writes for a positive decision: one vocabulary, so the rule sees what is served.
    segment: `decision=${DECISION_LABELS[0]}`,
    condition: "above",
    threshold: 0.15,
    change: { baselineWindows: 7, direction: "either" },
  },
  {
    id: "out_of_range_notify",
    tier: "notify",
    description: "more than 0.1% of a feature's values outside its training range",
    kind: "quality",
    metric: "out_of_range_rate",
    feature: "*",
    condition: "above",
    // A fresh sample of the training population lands about 2 values in (training rows + 1) past the
    // observed [min, max] (1 in 10,000 for 20,000 training rows): ten times that is a changed feed.
    threshold: 0.001,
  },
  {
    id: "unseen_categories_notify",
    tier: "notify",
    description: "a categorical feature received a category training never saw",
    kind: "quality",
    metric: "unseen_categories",
    feature: "*",
    condition: "above",
    threshold: 0,
  },
  {
    id: "llm_pii_leak_page",
    tier: "page",
    description: "an LLM route's answers carried personal data (before redaction)",
    kind: "llm",
    metric: "pii_leak_rate",
    condition: "above",
    threshold: 0,
  },
  {
    id: "llm_hallucination_page",
    tier: "page",
    description: "more than 10% of an LLM route's judged answers scored as hallucinations",
    kind: "llm",
    metric: "hallucination_rate",
    condition: "above",
    threshold: 0.1,
  },
  {
    id: "llm_error_rate_notify",
    tier: "notify",
    description: "more than 5% of an LLM route's calls failed",
    kind: "llm",
    metric: "error_rate",
    condition: "above",
    threshold: 0.05,
  },
];

/** What an alert concerns. */
export interface AlertTarget {
  readonly modelName: string;
  readonly modelVersion?: string;
  readonly endpoint?: string;
  readonly feature?: string;
  readonly segment?: string;
}

/** One rule's verdict on one target at the latest window. */
export interface AlertFinding {
  readonly ruleId: string;
  readonly tier: AlertTier;
  readonly dedupKey: string;
  readonly target: AlertTarget;
  readonly firing: boolean;
  /** The value compared with the threshold (relative change for change rules, count for count rules). */
  readonly value: number;
  readonly threshold: number;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly summary: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

/**
 * A difference within this of the threshold counts as exactly at it (and does not fire), so that
 * 0.8526 against 0.87 is a "2%" drop although the quotient is not exactly 0.02 in doubles.
 */
const TOLERANCE = 1e-12;

/** Validates a rule table (parsed JSON); errors name the rule index and field. */
export function parseAlertRules(json: unknown): AlertRule[] {
  const list = typeof json === "object" && json !== null && "rules" in json ? json.rules : json;
  if (!Array.isArray(list)) throw specError("rules", typeof list, 'must be an array of rules (or { "rules": [...] })');
  const ids = new Set<string>();
  return list.map((raw: unknown, i) => {
    const f = (name: string) => `rules[${i}].${name}`;
    if (typeof raw !== "object" || raw === null) throw specError(`rules[${i}]`, raw, "must be an object");
    const r = raw as Record<string, unknown>;
    const known = new Set([
      "id",
      "tier",
      "description",
      "model",
      "kind",
      "metric",
      "feature",
      "segment",
      "condition",
      "threshold",
      "minFeatures",
      "change",
      "cooldownMinutes",
      "maxAgeHours",
    ]);
    for (const k of Object.keys(r)) if (!known.has(k)) throw specError(f(k), r[k], "is not a rule field");
    const str = (name: string, required: boolean): string | undefined => {
      const v = r[name];
      if (v === undefined && !required) return undefined;
      if (typeof v !== "string" || v === "") throw specError(f(name), v, "must be a non-empty string");
      return v;
    };
    const id = str("id", true)!;
    if (!/^[A-Za-z0-9_.-]{1,128}$/.test(id)) throw specError(f("id"), id, "must be 1–128 letters, digits, _ . -");
    if (ids.has(id)) throw specError(f("id"), id, "is used by an earlier rule");
    ids.add(id);
    const tier = r.tier;
    if (!ALERT_TIERS.includes(tier as AlertTier))
      throw specError(f("tier"), tier, `must be one of ${ALERT_TIERS.join(", ")}`);
    const kind = r.kind;
    if (!OBSERVATION_KINDS.includes(kind as ObservationKind))
      throw specError(f("kind"), kind, `must be one of ${OBSERVATION_KINDS.join(", ")}`);
    const condition = r.condition;
    if (condition !== "above" && condition !== "below")
      throw specError(f("condition"), condition, "must be above or below");
    const threshold = r.threshold;
    if (typeof threshold !== "number" || !Number.isFinite(threshold)) {
      throw specError(f("threshold"), threshold, "must be a finite number");
    }
    const posInt = (name: string): number | undefined => {
      const v = r[name];
      if (v === undefined) return undefined;
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw specError(f(name), v, "must be an integer ≥ 1");
      return v;
    };
    const posNum = (name: string): number | undefined => {
      const v = r[name];
      if (v === undefined) return undefined;
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw specError(f(name), v, "must be a number ≥ 0");
      return v;
    };
    const minFeatures = posInt("minFeatures");
    const feature = str("feature", false);
    if (minFeatures !== undefined && feature !== "*")
      throw specError(f("feature"), feature, 'must be "*" with minFeatures');
    let change: AlertRule["change"];
    if (r.change !== undefined) {
      const c = r.change as Record<string, unknown>;
      if (typeof c !== "object" || c === null) throw specError(f("change"), c, "must be an object");
      const bw = c.baselineWindows;
      if (typeof bw !== "number" || !Number.isInteger(bw) || bw < 1) {
        throw specError(f("change.baselineWindows"), bw, "must be an integer ≥ 1");
      }
      const dir = c.direction ?? "either";
      if (dir !== "down" && dir !== "up" && dir !== "either") {
        throw specError(f("change.direction"), dir, "must be down, up or either");
      }
      if (minFeatures !== undefined) throw specError(f("change"), c, "cannot be combined with minFeatures");
      change = { baselineWindows: bw, direction: dir };
    }
    const description = str("description", false);
    const model = str("model", false);
    const segment = str("segment", false);
    const cooldownMinutes = posNum("cooldownMinutes");
    const maxAgeHours = posNum("maxAgeHours");
    return {
      id,
      tier: tier as AlertTier,
      kind: kind as ObservationKind,
      metric: str("metric", true)!,
      condition,
      threshold,
      ...(description !== undefined ? { description } : {}),
      ...(model !== undefined ? { model } : {}),
      ...(feature !== undefined ? { feature } : {}),
      ...(segment !== undefined ? { segment } : {}),
      ...(minFeatures !== undefined ? { minFeatures } : {}),
      ...(change !== undefined ? { change } : {}),
      ...(cooldownMinutes !== undefined ? { cooldownMinutes } : {}),
      ...(maxAgeHours !== undefined ? { maxAgeHours } : {}),
    };
  });
}

function meets(rule: AlertRule, value: number): boolean {
  return rule.condition === "above" ? value > rule.threshold + TOLERANCE : value < rule.threshold - TOLERANCE;
}

function matches(rule: AlertRule, o: MonitorObservation): boolean {
  if (o.kind !== rule.kind || o.metric !== rule.metric) return false;
  if (rule.model !== undefined && o.modelName !== rule.model) return false;
  // Performance rules watch each version's own series (a worse canary alerts as itself); the pooled
  // series repeats them when one version serves, so it is reported but not alerted on twice.
  if (o.kind === "performance" && o.modelVersion === undefined) return false;
  // LLM rules watch the route's pooled series; the per-prompt-version ones break it down for reading.
  if (o.kind === "llm" && o.modelVersion !== undefined) return false;
  if (rule.feature === "*") {
    if (o.feature === undefined) return false;
  } else if (o.feature !== rule.feature) return false;
  // `column=*`: every value of the column (drift by segment), one alert per segment.
  if (rule.segment?.endsWith("=*") === true) return o.segment?.startsWith(rule.segment.slice(0, -1)) === true;
  return o.segment === rule.segment;
}

/** One alert per rule and target stays open: this key tells them apart. */
export function dedupKey(ruleId: string, t: AlertTarget): string {
  return [ruleId, t.modelName, t.modelVersion ?? "", t.endpoint ?? "", t.feature ?? "", t.segment ?? ""].join("|");
}

function targetOf(o: MonitorObservation, withFeature: boolean): AlertTarget {
  return {
    modelName: o.modelName,
    ...(o.modelVersion !== undefined ? { modelVersion: o.modelVersion } : {}),
    ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
    ...(withFeature && o.feature !== undefined ? { feature: o.feature } : {}),
    ...(o.segment !== undefined ? { segment: o.segment } : {}),
  };
}

function describe(t: AlertTarget): string {
  const v = t.modelVersion !== undefined ? ` v${t.modelVersion}` : "";
  const at = [t.feature, t.segment].filter((x) => x !== undefined).join(", ");
  return `${t.modelName}${v}${at !== "" ? ` (${at})` : ""}`;
}

const fmt = (v: number) => String(Number(v.toPrecision(4)));
const op = (r: AlertRule) => (r.condition === "above" ? ">" : "<");

/**
 * Every rule's verdict on every target it has observations for, at each target's latest window.
 * Pure: `now` bounds how old a window may be (`maxAgeHours`).
 */
export function evaluateAlertRules(
  rules: readonly AlertRule[],
  observations: readonly MonitorObservation[],
  now: number,
): AlertFinding[] {
  const findings: AlertFinding[] = [];
  for (const rule of rules) {
    const oldest = now - (rule.maxAgeHours ?? DEFAULT_MAX_AGE_HOURS) * 3_600_000;
    // series: one per (model, version, endpoint, feature, segment), ordered by window
    const series = new Map<string, MonitorObservation[]>();
    for (const o of observations) {
      if (!matches(rule, o)) continue;
      const k = dedupKey("", targetOf(o, true));
      let list = series.get(k);
      if (list === undefined) series.set(k, (list = []));
      list.push(o);
    }
    for (const list of series.values()) list.sort((a, b) => a.windowStart - b.windowStart || a.windowEnd - b.windowEnd);

    if (rule.minFeatures !== undefined) {
      // count rule: per model version and endpoint, the features meeting the condition in the latest window
      const groups = new Map<string, MonitorObservation[]>();
      for (const list of series.values()) {
        const last = list[list.length - 1]!;
        if (last.windowEnd < oldest) continue;
        const k = dedupKey(rule.id, targetOf(last, false));
        let g = groups.get(k);
        if (g === undefined) groups.set(k, (g = []));
        g.push(last);
      }
      for (const [key, latest] of groups) {
        const windowStart = Math.max(...latest.map((o) => o.windowStart));
        const inWindow = latest.filter((o) => o.windowStart === windowStart);
        const hits = inWindow.filter((o) => meets(rule, o.value)).sort((a, b) => a.value - b.value);
        const target = targetOf(inWindow[0]!, false);
        findings.push({
          ruleId: rule.id,
          tier: rule.tier,
          dedupKey: key,
          target,
          firing: hits.length >= rule.minFeatures,
          value: hits.length,
          threshold: rule.minFeatures,
          windowStart,
          windowEnd: inWindow[0]!.windowEnd,
          summary: `${describe(target)}: ${rule.metric} ${op(rule)} ${fmt(rule.threshold)} on ${hits.length} features (${hits.map((h) => h.feature).join(", ")}), alert at ${rule.minFeatures}`,
          detail: {
            rule: rule.description ?? rule.id,
            features: hits.map((h) => ({ feature: h.feature, value: h.value })),
            features_checked: inWindow.length,
          },
        });
      }
      continue;
    }

    for (const list of series.values()) {
      const last = list[list.length - 1]!;
      if (last.windowEnd < oldest) continue;
      const target = targetOf(last, true);
      const key = dedupKey(rule.id, target);
      let value = last.value;
      let summary: string;
      const detail: Record<string, unknown> = { rule: rule.description ?? rule.id, observed: last.value };
      if (rule.change !== undefined) {
        const before = list.slice(0, -1).slice(-rule.change.baselineWindows);
        if (before.length === 0) continue;
        const baseline = before.reduce((s, o) => s + o.value, 0) / before.length;
        if (baseline === 0) continue;
        const relative = (last.value - baseline) / Math.abs(baseline);
        value =
          rule.change.direction === "down" ? -relative : rule.change.direction === "up" ? relative : Math.abs(relative);
        detail.baseline = baseline;
        detail.baseline_windows = before.length;
        detail.relative_change = relative;
        summary = `${describe(target)}: ${rule.metric} ${fmt(last.value)} is ${fmt(relative * 100)}% against the previous ${before.length} windows' ${fmt(baseline)} (alert at ${rule.change.direction === "either" ? "±" : rule.change.direction === "down" ? "−" : "+"}${fmt(rule.threshold * 100)}%)`;
      } else {
        summary = `${describe(target)}: ${rule.metric} = ${fmt(last.value)} ${op(rule)} ${fmt(rule.threshold)}`;
      }
      findings.push({
        ruleId: rule.id,
        tier: rule.tier,
        dedupKey: key,
        target,
        firing: meets(rule, value),
        value,
        threshold: rule.threshold,
        windowStart: last.windowStart,
        windowEnd: last.windowEnd,
        summary,
        detail,
      });
    }
  }
  return findings;
}

/** An alert as the state rules see it (the stored history's fields they need). */
export interface AlertState {
  readonly id: string;
  readonly ruleId: string;
  readonly dedupKey: string;
  readonly status: "open" | "acknowledged" | "resolved";
  readonly firedAt: number;
}

export interface AlertPlan {
  /** Findings to record as new alerts. */
  readonly fire: readonly AlertFinding[];
  /** Open alerts whose condition still holds (dedup: no new alert). */
  readonly still: readonly { readonly alert: AlertState; readonly finding: AlertFinding }[];
  /** Open alerts whose condition cleared. */
  readonly resolve: readonly { readonly alert: AlertState; readonly finding: AlertFinding }[];
  /** Firing findings held back by the cooldown. */
  readonly cooling: readonly AlertFinding[];
}

/**
 * What to do with this evaluation's findings given the alert history (pure, clock passed in):
 * a firing finding opens an alert unless one is open for its key (dedup) or the key last fired
 * less than the rule's cooldown ago; an open alert whose finding no longer fires is resolved.
 * Alerts of keys this evaluation has no finding for are left as they are.
 */
export function planAlerts(
  rules: readonly AlertRule[],
  findings: readonly AlertFinding[],
  history: readonly AlertState[],
  now: number,
): AlertPlan {
  const byRule = new Map(rules.map((r) => [r.id, r]));
  const open = new Map<string, AlertState>();
  const lastFired = new Map<string, number>();
  for (const a of history) {
    if (a.status !== "resolved") open.set(a.dedupKey, a);
    lastFired.set(a.dedupKey, Math.max(lastFired.get(a.dedupKey) ?? Number.NEGATIVE_INFINITY, a.firedAt));
  }
  const fire: AlertFinding[] = [];
  const still: { alert: AlertState; finding: AlertFinding }[] = [];
  const resolve: { alert: AlertState; finding: AlertFinding }[] = [];
  const cooling: AlertFinding[] = [];
  for (const f of findings) {
    const alert = open.get(f.dedupKey);
    if (alert !== undefined) {
      (f.firing ? still : resolve).push({ alert, finding: f });
      continue;
    }
    if (!f.firing) continue;
    const cooldownMs = (byRule.get(f.ruleId)?.cooldownMinutes ?? DEFAULT_COOLDOWN_MINUTES) * 60_000;
    const last = lastFired.get(f.dedupKey);
    if (last !== undefined && now - last < cooldownMs) cooling.push(f);
    else fire.push(f);
  }
  return { fire, still, resolve, cooling };
}
