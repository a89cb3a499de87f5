import { sql } from "kysely";
import { DataIntegrityError } from "../errors.js";
import type { MetadataDb } from "./metadata-db.js";
import type { MonitorObservationsTable } from "./schema.js";
import type {
  MonitorObservation,
  ObservationKind,
  ObservationQuery,
  ObservationStore,
} from "./monitor-observations.js";
import { specError } from "../spec-fields.js";

import { OBSERVATION_KINDS } from "../wire/index.js";

export { OBSERVATION_KINDS };

/** The columns that identify one observation; writing the same key again replaces its value. */
const KEY_COLUMNS = [
  "model_name",
  "model_version",
  "endpoint",
  "window_start",
  "window_end",
  "kind",
  "metric",
  "feature",
  "segment",
] as const;

/** 12 columns a row: well under SQLite's and PostgreSQL's bind-parameter limits. */
const ROWS_PER_INSERT = 400;

export function isObservationKind(value: unknown): value is ObservationKind {
  return typeof value === "string" && (OBSERVATION_KINDS as readonly string[]).includes(value);
}

function checkName(field: string, value: string | undefined, max: number, required: boolean): void {
  if (value === undefined) {
    if (required) throw specError(field, value, "is required");
    return;
  }
  if (typeof value !== "string" || value.length === 0 || value.length > max) {
    throw specError(field, value, `must be a non-empty string of at most ${max} characters`);
  }
}

function toRow(o: MonitorObservation): MonitorObservationsTable {
  checkName("modelName", o.modelName, 255, true);
  checkName("modelVersion", o.modelVersion, 64, false);
  checkName("endpoint", o.endpoint, 255, false);
  checkName("metric", o.metric, 128, true);
  checkName("feature", o.feature, 255, false);
  checkName("segment", o.segment, 255, false);
  checkName("severity", o.severity, 32, false);
  if (!isObservationKind(o.kind)) throw specError("kind", o.kind, `must be one of ${OBSERVATION_KINDS.join(", ")}`);
  if (!Number.isSafeInteger(o.windowStart)) throw specError("windowStart", o.windowStart, "must be epoch milliseconds");
  if (!Number.isSafeInteger(o.windowEnd) || o.windowEnd <= o.windowStart) {
    throw specError("windowEnd", o.windowEnd, "must be epoch milliseconds after windowStart");
  }
  // SQLite stores NaN as NULL; a value that is not a number has no place in a time series.
  if (typeof o.value !== "number" || !Number.isFinite(o.value))
    throw specError("value", o.value, "must be a finite number");
  return {
    model_name: o.modelName,
    model_version: o.modelVersion ?? "",
    endpoint: o.endpoint ?? "",
    window_start: o.windowStart,
    window_end: o.windowEnd,
    kind: o.kind,
    metric: o.metric,
    feature: o.feature ?? "",
    segment: o.segment ?? "",
    value: o.value,
    severity: o.severity ?? null,
    detail: o.detail === undefined ? null : JSON.stringify(o.detail),
  };
}

function toObservation(r: MonitorObservationsTable): MonitorObservation {
  let detail: Record<string, unknown> | undefined;
  if (r.detail !== null) {
    try {
      detail = JSON.parse(r.detail) as Record<string, unknown>;
    } catch (cause) {
      throw new DataIntegrityError(`monitor observation ${r.model_name}/${r.metric} holds unreadable detail JSON`, {
        cause,
      });
    }
  }
  return {
    modelName: r.model_name,
    ...(r.model_version !== "" ? { modelVersion: r.model_version } : {}),
    ...(r.endpoint !== "" ? { endpoint: r.endpoint } : {}),
    windowStart: Number(r.window_start),
    windowEnd: Number(r.window_end),
    kind: r.kind as ObservationKind,
    metric: r.metric,
    ...(r.feature !== "" ? { feature: r.feature } : {}),
    ...(r.segment !== "" ? { segment: r.segment } : {}),
    value: Number(r.value),
    ...(r.severity !== null ? { severity: r.severity } : {}),
    ...(detail !== undefined ? { detail } : {}),
  };
}

function keyOf(r: MonitorObservationsTable): string {
  return JSON.stringify(KEY_COLUMNS.map((c) => String(r[c])));
}

/**
 * Observation store on the metadata database (SQLite or PostgreSQL through Kysely). One append is
 * one transaction; an observation whose key (model, version, endpoint, window, kind, metric,
 * feature, segment) is already stored replaces the stored one, so re-running a window is idempotent.
 */
export class SqlObservationStore implements ObservationStore {
  /** `metadata`: migrated to 0020 or later. */
  constructor(private readonly metadata: MetadataDb) {}

  async append(observations: readonly MonitorObservation[]): Promise<void> {
    // Last one wins within a batch too (PostgreSQL refuses to upsert one key twice in a statement).
    const byKey = new Map<string, MonitorObservationsTable>();
    for (const o of observations) {
      const row = toRow(o);
      byKey.set(keyOf(row), row);
    }
    const rows = [...byKey.values()];
    if (rows.length === 0) return;
    await this.metadata.transaction(async (tx) => {
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        await tx
          .insertInto("monitor_observations")
          .values(rows.slice(i, i + ROWS_PER_INSERT))
          .onConflict((oc) =>
            oc.columns([...KEY_COLUMNS]).doUpdateSet((eb) => ({
              value: eb.ref("excluded.value"),
              severity: eb.ref("excluded.severity"),
              detail: eb.ref("excluded.detail"),
            })),
          )
          .execute();
      }
    });
  }

  async query(q: ObservationQuery): Promise<readonly MonitorObservation[]> {
    const limit = q.limit ?? 10_000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) {
      throw specError("limit", limit, "must be an integer from 1 to 100000");
    }
    if (q.kind !== undefined && !isObservationKind(q.kind)) {
      throw specError("kind", q.kind, `must be one of ${OBSERVATION_KINDS.join(", ")}`);
    }
    for (const [field, v] of [
      ["from", q.from],
      ["to", q.to],
    ] as const) {
      if (v !== undefined && !Number.isSafeInteger(v)) throw specError(field, v, "must be epoch milliseconds");
    }
    let s = this.metadata.db.selectFrom("monitor_observations").selectAll();
    if (q.modelName !== undefined) s = s.where("model_name", "=", q.modelName);
    if (q.modelVersion !== undefined) s = s.where("model_version", "=", q.modelVersion);
    if (q.kind !== undefined) s = s.where("kind", "=", q.kind);
    if (q.metric !== undefined) s = s.where("metric", "=", q.metric);
    if (q.feature !== undefined) s = s.where("feature", "=", q.feature);
    if (q.segment !== undefined) s = s.where("segment", "=", q.segment);
    if (q.from !== undefined) s = s.where("window_start", ">=", q.from);
    if (q.to !== undefined) s = s.where("window_start", "<", q.to);
    const dir = q.order === "desc" ? "desc" : "asc";
    const rows = await this.metadata.query(() =>
      s
        .orderBy("window_start", dir)
        .orderBy("metric", dir)
        .orderBy("feature", dir)
        .orderBy("segment", dir)
        .orderBy("kind", dir)
        .orderBy("model_version", dir)
        .orderBy("endpoint", dir)
        .orderBy(sql`window_end`, dir)
        .limit(limit)
        .execute(),
    );
    return rows.map(toObservation);
  }
}

/** The observation store over keel's metadata database (what `openStores` builds). */
export function createObservationStore(metadata: MetadataDb): ObservationStore {
  return new SqlObservationStore(metadata);
}
