/**
 * The retraining policy: when a model's champion should be retrained. Four triggers, as the seed
 * defines them — scheduled (the champion is older than a maximum age), drift (critical drift
 * reported by monitoring, or a retrain-tier alert), performance degraded (rolling metric more than
 * 5% below the validation metric recorded at registration) and data volume (at least N new
 * labelled rows since the last training). Pure rules over facts gathered elsewhere, clock passed in.
 */
import { parseCron, type CronSchedule } from "./cron.js";
import { specArray, specError, specNumber, specObject, specRequired, specString } from "../spec-fields.js";

export type TriggerKind = "schedule" | "drift" | "performance" | "data_volume";
export const TRIGGER_KINDS: readonly TriggerKind[] = ["schedule", "drift", "performance", "data_volume"];

export interface ScheduleTrigger {
  /** Retrain once the champion version is this many days old (age ≥ maxAgeDays). */
  readonly maxAgeDays: number;
}

export interface DriftTrigger {
  /** Drift observations at these severities count (monitoring's PSI / p-value bands). */
  readonly severities: readonly string[];
  /** Fire when at least this many features drifted at those severities. */
  readonly minFeatures: number;
  /** Only observations whose window ended within this many hours count, and alerts as recent. */
  readonly lookbackHours: number;
}

export interface PerformanceTrigger {
  /** Rolling metric reported by monitoring (performance observations), e.g. `auc_7d`. */
  readonly rollingMetric: string;
  /** Metric of the champion's training run recorded at registration, e.g. `auc`. */
  readonly baselineMetric: string;
  /** Fire when (baseline − rolling) / baseline > this. */
  readonly maxRelativeDrop: number;
  /** Only a rolling value whose window ended within this many hours counts. */
  readonly lookbackHours: number;
}

export interface DataVolumeTrigger {
  /** Fire when at least this many new labelled rows arrived since the last training. */
  readonly minNewRows: number;
  /** Labelled data to count rows in (CSV or Parquet), resolved against the policy file's folder. */
  readonly data?: string;
  /** Column with each row's time (epoch ms, or an ISO date / timestamp). */
  readonly timeColumn?: string;
  /** Column holding the label; rows where it is empty are not counted. */
  readonly labelColumn?: string;
}

export interface RetrainingPolicy {
  /** Registered model whose champion the policy looks after. */
  readonly model: string;
  /** Pipeline file (JSON / YAML / TypeScript) a trigger runs, resolved against the policy file's folder. */
  readonly pipeline: string;
  /** When the check runs inside `keel server` (five-field cron, UTC). */
  readonly schedule: string;
  readonly cron: CronSchedule;
  /** Alias that says which version is in production. Default `champion`. */
  readonly championAlias: string;
  readonly triggers: {
    readonly schedule?: ScheduleTrigger;
    readonly drift?: DriftTrigger;
    readonly performance?: PerformanceTrigger;
    readonly dataVolume?: DataVolumeTrigger;
  };
}

export const RETRAINING_DEFAULTS = {
  schedule: { maxAgeDays: 30 },
  drift: { severities: ["major"], minFeatures: 1, lookbackHours: 24 },
  performance: { rollingMetric: "auc_7d", baselineMetric: "auc", maxRelativeDrop: 0.05, lookbackHours: 48 },
} as const;

/**
 * A relative drop within this of the threshold counts as exactly at it (and does not fire), so
 * that 0.76 against 0.80 is "5%" although (0.80 − 0.76) / 0.80 is 0.05000000000000004 in doubles.
 */
const RELATIVE_TOLERANCE = 1e-12;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const POLICY_KEYS = ["model", "pipeline", "schedule", "championAlias", "triggers"];
const TRIGGER_KEYS = ["schedule", "drift", "performance", "dataVolume"];

/** Parses one policy object; every error names the field (`policy.triggers.drift.minFeatures`), value and rule. */
export function parseRetrainingPolicy(json: unknown, path = "policy"): RetrainingPolicy {
  const obj = specObject(json, path, POLICY_KEYS);
  const model = specRequired(specString(obj, "model", path), `${path}.model`);
  const pipeline = specRequired(specString(obj, "pipeline", path), `${path}.pipeline`);
  const schedule = specRequired(specString(obj, "schedule", path), `${path}.schedule`);
  const cron = parseCron(schedule, `${path}.schedule`);
  const championAlias = specString(obj, "championAlias", path) ?? "champion";
  const t = obj.triggers;
  if (t === undefined) {
    return {
      model,
      pipeline,
      schedule,
      cron,
      championAlias,
      triggers: {
        schedule: RETRAINING_DEFAULTS.schedule,
        drift: RETRAINING_DEFAULTS.drift,
        performance: RETRAINING_DEFAULTS.performance,
      },
    };
  }
  const tp = `${path}.triggers`;
  const triggers = specObject(t, tp, TRIGGER_KEYS);
  if (Object.keys(triggers).length === 0)
    throw specError(tp, t, `must enable at least one of ${TRIGGER_KEYS.join(", ")}`);
  const out: {
    schedule?: ScheduleTrigger;
    drift?: DriftTrigger;
    performance?: PerformanceTrigger;
    dataVolume?: DataVolumeTrigger;
  } = {};
  if (triggers.schedule !== undefined) {
    const p = `${tp}.schedule`;
    const s = specObject(triggers.schedule, p, ["maxAgeDays"]);
    out.schedule = {
      maxAgeDays: specNumber(s, "maxAgeDays", p, { positive: true }) ?? RETRAINING_DEFAULTS.schedule.maxAgeDays,
    };
  }
  if (triggers.drift !== undefined) {
    const p = `${tp}.drift`;
    const d = specObject(triggers.drift, p, ["severities", "minFeatures", "lookbackHours"]);
    const severities =
      d.severities === undefined
        ? RETRAINING_DEFAULTS.drift.severities
        : specArray(d.severities, `${p}.severities`).map((v, i) => {
            if (typeof v !== "string" || v === "")
              throw specError(`${p}.severities[${i}]`, v, "must be a non-empty string");
            return v;
          });
    if (severities.length === 0) throw specError(`${p}.severities`, d.severities, "must list at least one severity");
    out.drift = {
      severities,
      minFeatures: specNumber(d, "minFeatures", p, { integer: true, min: 1 }) ?? RETRAINING_DEFAULTS.drift.minFeatures,
      lookbackHours: specNumber(d, "lookbackHours", p, { positive: true }) ?? RETRAINING_DEFAULTS.drift.lookbackHours,
    };
  }
  if (triggers.performance !== undefined) {
    const p = `${tp}.performance`;
    const d = specObject(triggers.performance, p, [
      "rollingMetric",
      "baselineMetric",
      "maxRelativeDrop",
      "lookbackHours",
    ]);
    const D = RETRAINING_DEFAULTS.performance;
    out.performance = {
      rollingMetric: specString(d, "rollingMetric", p) ?? D.rollingMetric,
      baselineMetric: specString(d, "baselineMetric", p) ?? D.baselineMetric,
      maxRelativeDrop: specNumber(d, "maxRelativeDrop", p, { min: 0, max: 1 }) ?? D.maxRelativeDrop,
      lookbackHours: specNumber(d, "lookbackHours", p, { positive: true }) ?? D.lookbackHours,
    };
  }
  if (triggers.dataVolume !== undefined) {
    const p = `${tp}.dataVolume`;
    const d = specObject(triggers.dataVolume, p, ["minNewRows", "data", "timeColumn", "labelColumn"]);
    const data = specString(d, "data", p);
    const timeColumn = specString(d, "timeColumn", p);
    const labelColumn = specString(d, "labelColumn", p);
    if (data !== undefined && timeColumn === undefined)
      throw specError(
        `${p}.timeColumn`,
        undefined,
        "is required with data (rows are new when their time is after the last training)",
      );
    out.dataVolume = {
      minNewRows: specRequired(specNumber(d, "minNewRows", p, { integer: true, min: 1 }), `${p}.minNewRows`),
      ...(data === undefined ? {} : { data }),
      ...(timeColumn === undefined ? {} : { timeColumn }),
      ...(labelColumn === undefined ? {} : { labelColumn }),
    };
  }
  return { model, pipeline, schedule, cron, championAlias, triggers: out };
}

/** A policy file holds one policy object or an array of them. */
export function parseRetrainingPolicies(json: unknown, path = "policy"): readonly RetrainingPolicy[] {
  if (!Array.isArray(json)) return [parseRetrainingPolicy(json, path)];
  if (json.length === 0) throw specError(path, json, "must hold at least one policy");
  const policies = json.map((p, i) => parseRetrainingPolicy(p, `${path}[${i}]`));
  const seen = new Set<string>();
  policies.forEach((p, i) => {
    if (seen.has(p.model))
      throw specError(`${path}[${i}].model`, p.model, "has a policy already; one policy per model");
    seen.add(p.model);
  });
  return policies;
}

/** A drift result from monitoring, as the policy needs it. */
export interface DriftFinding {
  readonly feature: string;
  readonly metric: string;
  readonly value: number;
  readonly severity: string;
  /** Epoch ms at which the observed window ended. */
  readonly windowEnd: number;
}

/** What the policy is evaluated on; anything unknown is left out and its trigger says so. */
export interface RetrainingFacts {
  /** The version the champion alias points at, with its registration time. */
  readonly champion?: { readonly version: string; readonly registeredAt: number };
  readonly drift?: readonly DriftFinding[];
  /** Retrain-tier alerts that fired for this model. */
  readonly alerts?: readonly { readonly reason: string; readonly at: number }[];
  /** Latest rolling value of the performance trigger's metric. */
  readonly rolling?: { readonly value: number; readonly windowEnd: number };
  /** The champion's validation value of the baseline metric, recorded at registration. */
  readonly baseline?: number;
  /** When the model was last trained (its newest version's registration). */
  readonly lastTrainingAt?: number;
  /** Labelled rows that arrived after `lastTrainingAt`. */
  readonly newLabelledRows?: number;
}

export interface TriggerResult {
  readonly trigger: TriggerKind;
  readonly fired: boolean;
  /** Why it fired, or why not (including "not evaluated: …" when a fact is missing). */
  readonly reason: string;
  readonly observed?: number;
  readonly threshold?: number;
}

export interface RetrainingDecision {
  readonly model: string;
  /** Epoch ms the decision was made at. */
  readonly at: number;
  readonly retrain: boolean;
  /** Triggers that fired, in the order of TRIGGER_KINDS. */
  readonly fired: readonly TriggerKind[];
  /** Every enabled trigger's result. */
  readonly triggers: readonly TriggerResult[];
}

const iso = (ms: number) => new Date(ms).toISOString();
const round = (x: number, digits: number) => Number(x.toFixed(digits));

function scheduleRule(t: ScheduleTrigger, facts: RetrainingFacts, now: number): TriggerResult {
  const threshold = t.maxAgeDays;
  if (facts.champion === undefined)
    return { trigger: "schedule", fired: false, reason: "not evaluated: the model has no champion version", threshold };
  const ageMs = now - facts.champion.registeredAt;
  const days = ageMs / DAY;
  const fired = ageMs >= t.maxAgeDays * DAY;
  return {
    trigger: "schedule",
    fired,
    reason: `champion version ${facts.champion.version} registered ${iso(facts.champion.registeredAt)} is ${round(days, 2)} days old; maximum age ${t.maxAgeDays} days`,
    observed: days,
    threshold,
  };
}

function driftRule(t: DriftTrigger, facts: RetrainingFacts, now: number): TriggerResult {
  const since = now - t.lookbackHours * HOUR;
  const alerts = (facts.alerts ?? []).filter((a) => a.at > since && a.at <= now);
  const drifted = new Map<string, DriftFinding>();
  for (const f of facts.drift ?? []) {
    if (f.windowEnd <= since || f.windowEnd > now || !t.severities.includes(f.severity)) continue;
    const seen = drifted.get(f.feature);
    if (seen === undefined || f.windowEnd > seen.windowEnd) drifted.set(f.feature, f);
  }
  const features = [...drifted.values()].sort((a, b) => a.feature.localeCompare(b.feature));
  const parts: string[] = [];
  if (features.length > 0) {
    parts.push(
      `${features.length} feature(s) with ${t.severities.join("/")} drift in the last ${t.lookbackHours} h (${features
        .map((f) => `${f.feature} ${f.metric}=${round(f.value, 4)} ${f.severity}`)
        .join(", ")}); at least ${t.minFeatures} needed`,
    );
  } else if (facts.drift === undefined) {
    parts.push("no drift observations available");
  } else {
    parts.push(`no feature with ${t.severities.join("/")} drift in the last ${t.lookbackHours} h`);
  }
  if (alerts.length > 0) parts.push(`retrain alert: ${alerts.map((a) => a.reason).join("; ")}`);
  return {
    trigger: "drift",
    fired: features.length >= t.minFeatures || alerts.length > 0,
    reason: parts.join("; "),
    observed: features.length,
    threshold: t.minFeatures,
  };
}

function performanceRule(t: PerformanceTrigger, facts: RetrainingFacts, now: number): TriggerResult {
  const threshold = t.maxRelativeDrop;
  if (facts.baseline === undefined || !(facts.baseline > 0)) {
    return {
      trigger: "performance",
      fired: false,
      reason: `not evaluated: no baseline ${t.baselineMetric} recorded for the champion`,
      threshold,
    };
  }
  const since = now - t.lookbackHours * HOUR;
  if (facts.rolling === undefined || facts.rolling.windowEnd <= since) {
    return {
      trigger: "performance",
      fired: false,
      reason: `not evaluated: no ${t.rollingMetric} from monitoring in the last ${t.lookbackHours} h`,
      threshold,
    };
  }
  const drop = (facts.baseline - facts.rolling.value) / facts.baseline;
  const fired = drop > threshold + RELATIVE_TOLERANCE;
  return {
    trigger: "performance",
    fired,
    reason: `${t.rollingMetric} ${round(facts.rolling.value, 4)} is ${round(drop * 100, 2)}% below the baseline ${t.baselineMetric} ${round(facts.baseline, 4)}; fires above ${round(threshold * 100, 2)}%`,
    observed: drop,
    threshold,
  };
}

function dataVolumeRule(t: DataVolumeTrigger, facts: RetrainingFacts): TriggerResult {
  const threshold = t.minNewRows;
  if (facts.newLabelledRows === undefined) {
    return { trigger: "data_volume", fired: false, reason: "not evaluated: no count of new labelled rows", threshold };
  }
  const since = facts.lastTrainingAt === undefined ? "ever" : `since ${iso(facts.lastTrainingAt)}`;
  return {
    trigger: "data_volume",
    fired: facts.newLabelledRows >= t.minNewRows,
    reason: `${facts.newLabelledRows} new labelled rows ${since}; fires at ${t.minNewRows}`,
    observed: facts.newLabelledRows,
    threshold,
  };
}

/** Which triggers fire for `facts` at time `now` (epoch ms), and why each did or did not. */
export function evaluateRetrainingPolicy(
  policy: RetrainingPolicy,
  facts: RetrainingFacts,
  now: number,
): RetrainingDecision {
  const t = policy.triggers;
  const results: TriggerResult[] = [];
  if (t.schedule !== undefined) results.push(scheduleRule(t.schedule, facts, now));
  if (t.drift !== undefined) results.push(driftRule(t.drift, facts, now));
  if (t.performance !== undefined) results.push(performanceRule(t.performance, facts, now));
  if (t.dataVolume !== undefined) results.push(dataVolumeRule(t.dataVolume, facts));
  const fired = results.filter((r) => r.fired).map((r) => r.trigger);
  return { model: policy.model, at: now, retrain: fired.length > 0, fired, triggers: results };
}
