import { InvalidStateError } from "../errors.js";
import { isServedPrediction, type InferenceLog, type InferenceRecord } from "../store/index.js";
import type { LabelInput, LabelStore, StoredLabel } from "../store/index.js";
import { specError } from "../spec-fields.js";

/**
 * A label as 0 or 1. Without `positive`: 0 / 1, true / false, or the strings "0", "1", "true",
 * "false". With `positive`: 1 when the value, as text, equals it, else 0 (e.g. `--positive default`
 * for a column of "default" / "repaid").
 */
export function labelValue(raw: unknown, field: string, positive?: string): 0 | 1 {
  if (positive !== undefined) {
    if (raw === null || raw === undefined || raw === "") throw specError(field, raw ?? null, "must be present");
    const text =
      typeof raw === "string"
        ? raw
        : typeof raw === "number" || typeof raw === "boolean"
          ? String(raw)
          : JSON.stringify(raw);
    return text === positive ? 1 : 0;
  }
  if (raw === 1 || raw === true || raw === "1" || raw === "true") return 1;
  if (raw === 0 || raw === false || raw === "0" || raw === "false") return 0;
  throw specError(field, raw ?? null, "must be 0 or 1 (or true / false; other values need `positive`)");
}

/**
 * An event time as epoch milliseconds: an integer (epoch ms) or an ISO-8601 text (a time without a
 * zone is read as UTC, as DuckDB reads CSV timestamps).
 */
export function eventTime(raw: unknown, field: string): number {
  if (typeof raw === "number") {
    if (!Number.isSafeInteger(raw))
      throw specError(field, raw, "must be epoch milliseconds (an integer) or an ISO-8601 time");
    return raw;
  }
  if (typeof raw === "string" && raw.trim() !== "") {
    const s = raw.trim();
    if (/^-?\d+$/.test(s)) return eventTime(Number(s), field);
    // DuckDB writes TIMESTAMPTZ as "… 10:00:00+00": complete the offset for Date.parse.
    const offset = /[+-]\d\d$/.test(s) && /\d[T ]\d/.test(s) ? `${s}:00` : s;
    const zoned = /(Z|[+-]\d\d:?\d\d)$/i.test(offset) || !/\d[T ]\d/.test(offset) ? offset : `${offset}Z`;
    const t = Date.parse(zoned.replace(" ", "T"));
    if (Number.isFinite(t)) return t;
  }
  throw specError(field, raw ?? null, "must be epoch milliseconds (an integer) or an ISO-8601 time");
}

export interface LabelIngestResult {
  readonly received: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  /** Labels with a logged prediction to join to (docs/monitoring.md, join rules). */
  readonly matched: number;
  /** Labels with none yet; they are kept and join once the prediction is logged. */
  readonly unmatched: number;
}

/** Stores labels (idempotently) and counts how many have a logged prediction to join to. */
export async function ingestLabels(
  store: LabelStore,
  labels: readonly LabelInput[],
  options: { actor: string },
): Promise<LabelIngestResult> {
  const written = await store.put(labels, options);
  const matches = await store.matchInferenceLog(labels);
  let matched = 0;
  for (let i = 0; i < matches.length; i++) matched += matches[i] as number;
  return { received: labels.length, ...written, matched, unmatched: labels.length - matched };
}

/**
 * The label of each prediction (NaN where it has none), by keel's join rules:
 * - a label keyed by request id belongs to every given prediction logged under that request id;
 * - a label keyed by entity id and time belongs to the latest given prediction for that entity at
 *   or before the label's time; when several entity labels land on one prediction, the one with
 *   the latest time wins (then the one received last);
 * - a request-id label takes precedence over an entity label for the same prediction.
 * Give the predictions of one model, so an entity's latest prediction is that model's.
 */
export function joinLabels(predictions: readonly InferenceRecord[], labels: readonly StoredLabel[]): Float64Array {
  const n = predictions.length;
  const out = new Float64Array(n).fill(NaN);
  const byRequest = new Map<string, number[]>();
  const byEntity = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const p = predictions[i] as InferenceRecord;
    const r = byRequest.get(p.requestId);
    if (r === undefined) byRequest.set(p.requestId, [i]);
    else r.push(i);
    if (p.entityId !== undefined) {
      const e = byEntity.get(p.entityId);
      if (e === undefined) byEntity.set(p.entityId, [i]);
      else e.push(i);
    }
  }
  for (const list of byEntity.values()) {
    list.sort((a, b) => (predictions[a] as InferenceRecord).time - (predictions[b] as InferenceRecord).time || a - b);
  }
  const entityTime = new Float64Array(n).fill(-Infinity);
  const entityReceived = new Float64Array(n).fill(-Infinity);
  const fromRequest = new Uint8Array(n);
  for (const l of labels) {
    if (l.requestId !== undefined) {
      for (const i of byRequest.get(l.requestId) ?? []) {
        out[i] = l.label;
        fromRequest[i] = 1;
      }
      continue;
    }
    if (l.entityId === undefined || l.time === undefined) continue;
    const list = byEntity.get(l.entityId);
    if (list === undefined) continue;
    // Last prediction with time ≤ label time (binary search over the entity's time-ordered list).
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((predictions[list[mid] as number] as InferenceRecord).time <= l.time) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) continue;
    const i = list[lo - 1] as number;
    if (fromRequest[i] === 1) continue;
    const t = entityTime[i] as number;
    if (l.time > t || (l.time === t && l.receivedAt >= (entityReceived[i] as number))) {
      out[i] = l.label;
      entityTime[i] = l.time;
      entityReceived[i] = l.receivedAt;
    }
  }
  return out;
}

export interface LabelledPredictions {
  /** The model's logged predictions in [from, to), oldest first. */
  readonly records: readonly InferenceRecord[];
  /** Prediction times (epoch ms), scores (`outputs.score`) and joined labels (NaN: none yet). */
  readonly times: Float64Array;
  readonly scores: Float64Array;
  readonly labels: Float64Array;
}

export interface LabelSources {
  readonly inferenceLog: Pick<InferenceLog, "query">;
  readonly labels: LabelStore;
}

/** Predictions read at most per evaluation, so a mistaken range fails fast instead of exhausting memory. */
export const MAX_PREDICTIONS = 2_000_000;

/**
 * The model's logged predictions in [from, to) with their labels joined (see `joinLabels`).
 * Shadow answers and predictions without a numeric `outputs.score` are left out. An entity label whose time is after
 * `to` may belong to a later prediction of the same entity, so those later predictions are read
 * for the join too (and then dropped).
 */
/** Served predictions with a finite score only: a shadow's answer shares its request's id and label. */
function scoredServed(rows: readonly InferenceRecord[]): InferenceRecord[] {
  return rows.filter(
    (r) => isServedPrediction(r) && typeof r.outputs.score === "number" && Number.isFinite(r.outputs.score),
  );
}

export async function loadLabelledPredictions(
  sources: LabelSources,
  q: {
    modelName: string;
    from: number;
    to: number;
    maxPredictions?: number;
    /** The window's log rows when the caller has read them already (they are not read again). */
    windowRows?: readonly InferenceRecord[];
  },
): Promise<LabelledPredictions> {
  const max = q.maxPredictions ?? MAX_PREDICTIONS;
  const read = async (from: number, to: number) => {
    const rows = await sources.inferenceLog.query({ modelName: q.modelName, from, to, limit: max + 1 });
    if (rows.length > max) {
      throw new InvalidStateError(
        `model ${JSON.stringify(q.modelName)} logged more than ${max} predictions from ${new Date(from).toISOString()} to ${new Date(to).toISOString()}; evaluate a shorter window`,
        { details: { field: "window", value: to - from, rule: `at most ${max} predictions` } },
      );
    }
    return scoredServed(rows);
  };
  const records = q.windowRows !== undefined ? scoredServed(q.windowRows) : await read(q.from, q.to);
  const requestLabels = await sources.labels.byRequestIds(records.map((r) => r.requestId));
  const entities = new Set<string>();
  for (const r of records) if (r.entityId !== undefined) entities.add(r.entityId);
  const entityLabels = await sources.labels.byEntityIds([...entities]);
  let latest = -Infinity;
  for (const l of entityLabels) if (l.time !== undefined && l.time > latest) latest = l.time;
  let joinable: readonly InferenceRecord[] = records;
  if (latest >= q.to) {
    const later = (await read(q.to, latest + 1)).filter((r) => r.entityId !== undefined && entities.has(r.entityId));
    joinable = [...records, ...later];
  }
  const joined = joinLabels(joinable, [...requestLabels, ...entityLabels]);
  const n = records.length;
  const times = new Float64Array(n);
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = records[i] as InferenceRecord;
    times[i] = r.time;
    scores[i] = r.outputs.score as number;
  }
  return { records, times, scores, labels: joined.slice(0, n) };
}
