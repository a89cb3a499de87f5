import { eventTime, labelValue, windowText } from "../monitoring/index.js";
import type { GroupPerformance, PerformanceReport } from "../monitoring/index.js";
import type { LabelInput } from "../store/index.js";
import type { GroupPerformanceJson, PerformanceJson } from "../wire/index.js";
import { REQUEST_LIMITS } from "../spec-fields.js";
import { specError } from "../spec-fields.js";

/** Labels one request may carry; larger files go in several requests (the CLI sends 5,000 at a time). */
export const MAX_LABELS_PER_REQUEST = REQUEST_LIMITS.labelsPerRequest;

function idOf(field: string, v: unknown): string {
  if (typeof v === "number" && Number.isSafeInteger(v)) return String(v);
  if (typeof v !== "string" || v === "" || v.length > 255) {
    throw specError(field, v ?? null, "must be a non-empty string of at most 255 characters");
  }
  return v;
}

/**
 * The `labels` array of `POST /api/keel/labels`: each item `{request_id, label}` or
 * `{entity_id, time, label}` (time as epoch ms or ISO-8601). Errors name the item's field.
 */
export function parseLabelItems(raw: unknown, options: { source: string; positive?: string }): LabelInput[] {
  if (!Array.isArray(raw)) throw specError("labels", raw ?? null, "must be a JSON array of label items");
  if (raw.length === 0) throw specError("labels", raw, "must hold at least one label item");
  if (raw.length > MAX_LABELS_PER_REQUEST) {
    throw specError("labels", `${raw.length} items`, `must hold at most ${MAX_LABELS_PER_REQUEST} items per request`);
  }
  return (raw as unknown[]).map((item, i): LabelInput => {
    const at = `labels[${i}]`;
    if (typeof item !== "object" || item === null || Array.isArray(item))
      throw specError(at, item, "must be an object");
    const o = item as Record<string, unknown>;
    const label = labelValue(o.label, `${at}.label`, options.positive);
    const hasRequest = o.request_id !== undefined && o.request_id !== null;
    const hasEntity = o.entity_id !== undefined && o.entity_id !== null;
    if (hasRequest && hasEntity) {
      throw specError(`${at}.entity_id`, o.entity_id, "must be absent when request_id is given (a label has one key)");
    }
    if (hasRequest) return { requestId: idOf(`${at}.request_id`, o.request_id), label, source: options.source };
    if (!hasEntity) throw specError(`${at}.request_id`, null, "is required (or entity_id and time)");
    if (o.time === undefined || o.time === null) throw specError(`${at}.time`, null, "is required with entity_id");
    return {
      entityId: idOf(`${at}.entity_id`, o.entity_id),
      time: eventTime(o.time, `${at}.time`),
      label,
      source: options.source,
    };
  });
}

/** `7d` → 7. */
export function parseWindow(value: string, field = "window"): number {
  const m = /^([1-9]\d{0,5})([mhd])$/.exec(value.trim());
  const days = m === null ? NaN : Number(m[1]) / (m[2] === "d" ? 1 : m[2] === "h" ? 24 : 1440);
  if (!(days <= 365))
    throw specError(field, value, "must be a number of minutes, hours or days such as 4h, 7d or 30d (1m to 365d)");
  return days;
}

function groupJson(g: GroupPerformance): GroupPerformanceJson {
  return {
    ...(g.segment !== undefined ? { segment: g.segment } : {}),
    ...(g.modelVersion !== undefined ? { model_version: g.modelVersion } : {}),
    ...(g.routes !== undefined ? { routes: [...g.routes] } : {}),
    predictions: g.predictions,
    labelled: g.labelled,
    positives: g.positives,
    auc: g.auc,
    precision: g.precision,
    recall: g.recall,
    fnr: g.fnr,
    ece: g.ece,
    decision_rate: g.decisionRate,
    reliability: g.reliability.map((b) => ({
      lower: b.lower,
      upper: b.upper,
      count: b.count,
      mean_predicted: b.count === 0 ? null : b.meanPredicted,
      fraction_positive: b.count === 0 ? null : b.fractionPositive,
    })),
  };
}

/** The performance report as the API and `keel labels report --json` answer it. */
export function performanceJson(r: PerformanceReport): PerformanceJson {
  return {
    model: r.modelName,
    window: windowText(r.windowDays),
    window_start: r.windowStart,
    window_end: r.windowEnd,
    threshold: r.threshold,
    overall: groupJson(r.overall),
    decision_rate: {
      current: r.decisionRate.current,
      previous: r.decisionRate.previous,
      relative_change: r.decisionRate.relativeChange,
      difference: r.decisionRate.difference,
    },
    segments: r.segments.map(groupJson),
    versions: r.versions.map(groupJson),
    fairness:
      r.fairness === null
        ? null
        : {
            column: r.fairness.column,
            demographic_parity_gap: r.fairness.demographicParityGap,
            equal_opportunity_gap: r.fairness.equalOpportunityGap,
          },
  };
}
