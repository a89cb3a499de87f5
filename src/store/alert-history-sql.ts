import type { Clock } from "../runtime/index.js";
import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import { DataIntegrityError, InvalidStateError, NotFoundError } from "../errors.js";
import { ALERT_STATUSES } from "./alert-history.js";
import type { AlertQuery, AlertRecord, AlertStatus, AlertStore, NewAlert } from "./alert-history.js";
import { appendAudit } from "./audit.js";
import type { MetadataDb } from "./metadata-db.js";
import type { AlertsTable, KeelDatabase } from "./schema.js";
import { specError } from "../spec-fields.js";

const SYSTEM_ACTOR = "keel-monitoring";

function optional(v: string | null): string | undefined {
  return v === null ? undefined : v;
}

function toRecord(r: AlertsTable): AlertRecord {
  let detail: Record<string, unknown> | undefined;
  if (r.detail !== null) {
    try {
      detail = JSON.parse(r.detail) as Record<string, unknown>;
    } catch (cause) {
      throw new DataIntegrityError(`alert ${r.id} holds unreadable detail JSON`, { cause });
    }
  }
  const opt = <K extends string, V>(k: K, v: V | undefined) => (v === undefined ? {} : ({ [k]: v } as Record<K, V>));
  return {
    id: r.id,
    ruleId: r.rule_id,
    tier: r.tier,
    dedupKey: r.dedup_key,
    modelName: r.model_name,
    ...opt("modelVersion", optional(r.model_version)),
    ...opt("endpoint", optional(r.endpoint)),
    ...opt("feature", optional(r.feature)),
    ...opt("segment", optional(r.segment)),
    status: r.status as AlertStatus,
    summary: r.summary,
    value: Number(r.value),
    threshold: Number(r.threshold),
    windowStart: Number(r.window_start),
    windowEnd: Number(r.window_end),
    firedAt: Number(r.fired_at),
    lastSeenAt: Number(r.last_seen_at),
    ...opt("resolvedAt", r.resolved_at === null ? undefined : Number(r.resolved_at)),
    ...opt("acknowledgedAt", r.acknowledged_at === null ? undefined : Number(r.acknowledged_at)),
    ...opt("acknowledgedBy", optional(r.acknowledged_by)),
    ...opt("detail", detail),
  };
}

function auditSummary(a: AlertRecord) {
  return { status: a.status, rule: a.ruleId, tier: a.tier, dedup_key: a.dedupKey, value: a.value };
}

function checkNewAlert(a: NewAlert): void {
  for (const [field, v] of [
    ["ruleId", a.ruleId],
    ["tier", a.tier],
    ["dedupKey", a.dedupKey],
    ["modelName", a.modelName],
    ["summary", a.summary],
  ] as const) {
    if (typeof v !== "string" || v === "") throw specError(field, v, "must be a non-empty string");
  }
  if (!Number.isFinite(a.value)) throw specError("value", a.value, "must be a finite number");
  if (!Number.isFinite(a.threshold)) throw specError("threshold", a.threshold, "must be a finite number");
}

function newAlertRow(id: string, a: NewAlert, now: number): AlertsTable {
  return {
    id,
    rule_id: a.ruleId,
    tier: a.tier,
    dedup_key: a.dedupKey,
    model_name: a.modelName,
    model_version: a.modelVersion ?? null,
    endpoint: a.endpoint ?? null,
    feature: a.feature ?? null,
    segment: a.segment ?? null,
    status: "open",
    summary: a.summary.slice(0, 1024),
    value: a.value,
    threshold: a.threshold,
    window_start: a.windowStart,
    window_end: a.windowEnd,
    fired_at: now,
    last_seen_at: now,
    resolved_at: null,
    acknowledged_at: null,
    acknowledged_by: null,
    detail: a.detail === undefined ? null : JSON.stringify(a.detail),
  };
}

/** Alert history on the metadata database; state changes append audit rows in the same transaction. */
export function createAlertStore(metadata: MetadataDb, deps: { clock?: Clock } = {}): AlertStore {
  const clock = deps.clock ?? Date.now;

  async function getIn(tx: Kysely<KeelDatabase>, id: string): Promise<AlertRecord> {
    const row = await tx.selectFrom("alerts").selectAll().where("id", "=", id).executeTakeFirst();
    if (row === undefined) {
      throw new NotFoundError(`alert ${id} does not exist`, { details: { field: "id", value: id } });
    }
    return toRecord(row);
  }

  async function transition(
    id: string,
    action: string,
    actor: string,
    change: (a: AlertRecord, now: number) => Partial<AlertsTable> | null,
  ): Promise<AlertRecord> {
    return metadata.transaction(async (tx) => {
      const before = await getIn(tx, id);
      const now = clock();
      const set = change(before, now);
      if (set === null) return before;
      await tx.updateTable("alerts").set(set).where("id", "=", id).execute();
      const after = await getIn(tx, id);
      await appendAudit(
        tx,
        { actor, action, targetType: "alert", targetId: id, before: auditSummary(before), after: auditSummary(after) },
        now,
      );
      return after;
    });
  }

  return {
    async fire(a: NewAlert): Promise<AlertRecord> {
      checkNewAlert(a);
      const id = randomBytes(8).toString("hex");
      return metadata.transaction(async (tx) => {
        const now = clock();
        await tx
          .insertInto("alerts")
          .values(newAlertRow(id, a, now))
          .execute();
        const created = await getIn(tx, id);
        await appendAudit(
          tx,
          {
            actor: SYSTEM_ACTOR,
            action: "alert.fire",
            targetType: "alert",
            targetId: id,
            after: auditSummary(created),
          },
          now,
        );
        return created;
      });
    },

    async touch(id: string, at: number): Promise<void> {
      await metadata.query((db) => db.updateTable("alerts").set({ last_seen_at: at }).where("id", "=", id).execute());
    },

    resolve(id: string, actor?: { readonly userId: string }): Promise<AlertRecord> {
      return transition(id, "alert.resolve", actor?.userId ?? SYSTEM_ACTOR, (a, now) => {
        if (a.status === "resolved") {
          throw new InvalidStateError(`alert ${id} is already resolved`, {
            details: { field: "id", value: id, rule: "an unresolved alert" },
          });
        }
        return { status: "resolved", resolved_at: now };
      });
    },

    acknowledge(id: string, actor: { readonly userId: string }): Promise<AlertRecord> {
      return transition(id, "alert.acknowledge", actor.userId, (a, now) => {
        if (a.status === "resolved") {
          throw new InvalidStateError(`alert ${id} is resolved: only open alerts can be acknowledged`, {
            details: { field: "id", value: id, rule: "an open alert" },
          });
        }
        if (a.status === "acknowledged") return null;
        return { status: "acknowledged", acknowledged_at: now, acknowledged_by: actor.userId };
      });
    },

    get(id: string): Promise<AlertRecord> {
      return metadata.query((db) => getIn(db, id));
    },

    async list(q: AlertQuery = {}): Promise<readonly AlertRecord[]> {
      const limit = q.limit ?? 100;
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
        throw specError("limit", limit, "must be an integer from 1 to 10000");
      }
      if (q.status !== undefined && !ALERT_STATUSES.includes(q.status)) {
        throw specError("status", q.status, `must be one of ${ALERT_STATUSES.join(", ")}`);
      }
      let s = metadata.db.selectFrom("alerts").selectAll();
      if (q.modelName !== undefined) s = s.where("model_name", "=", q.modelName);
      if (q.ruleId !== undefined) s = s.where("rule_id", "=", q.ruleId);
      if (q.tier !== undefined) s = s.where("tier", "=", q.tier);
      if (q.dedupKey !== undefined) s = s.where("dedup_key", "=", q.dedupKey);
      if (q.status !== undefined) s = s.where("status", "=", q.status);
      if (q.unresolved === true) s = s.where("status", "!=", "resolved");
      if (q.from !== undefined) s = s.where("fired_at", ">=", q.from);
      if (q.to !== undefined) s = s.where("fired_at", "<", q.to);
      const rows = await metadata.query(() =>
        s.orderBy("fired_at", "desc").orderBy("id", "desc").limit(limit).execute(),
      );
      return rows.map(toRecord);
    },
  };
}
