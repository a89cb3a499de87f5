import type { Clock } from "../runtime/index.js";
import type { ChainKey } from "./hash-chain.js";
import { appendAudit } from "./audit.js";
import type { LabelInput, LabelKey, LabelStore, LabelWriteResult, StoredLabel } from "./labels.js";
import type { MetadataDb } from "./metadata-db.js";
import type { Transaction } from "kysely";
import type { KeelDatabase, LabelsTable } from "./schema.js";
import { specError } from "../spec-fields.js";

/** 7 columns a row, 500 keys an IN list: well under both backends' bind-parameter limits. */
const ROWS_PER_INSERT = 400;
const KEYS_PER_QUERY = 500;

function checkId(field: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 255) {
    throw specError(field, value, "must be a non-empty string of at most 255 characters");
  }
  return value;
}

export function labelKeyOf(k: LabelKey): string {
  return k.requestId !== undefined
    ? JSON.stringify(["request", k.requestId])
    : JSON.stringify(["entity", k.entityId, k.time]);
}

function toRow(l: LabelInput, i: number, now: number): LabelsTable {
  const at = `labels[${i}]`;
  if (l.requestId !== undefined) {
    checkId(`${at}.requestId`, l.requestId);
    const entityId = (l as { entityId?: unknown }).entityId;
    if (entityId !== undefined) throw specError(`${at}.entityId`, entityId, "must be absent when requestId is given");
  } else {
    checkId(`${at}.entityId`, l.entityId);
    if (!Number.isSafeInteger(l.time)) throw specError(`${at}.time`, l.time, "must be epoch milliseconds");
  }
  if (l.label !== 0 && l.label !== 1) throw specError(`${at}.label`, l.label, "must be 0 or 1");
  checkId(`${at}.source`, l.source);
  return {
    label_key: labelKeyOf(l),
    request_id: l.requestId ?? null,
    entity_id: l.requestId === undefined ? l.entityId : null,
    event_time: l.requestId === undefined ? l.time : null,
    label: l.label,
    received_at: now,
    source: l.source,
  };
}

function toLabel(r: LabelsTable): StoredLabel {
  return {
    ...(r.request_id !== null ? { requestId: r.request_id } : {}),
    ...(r.entity_id !== null ? { entityId: r.entity_id } : {}),
    ...(r.event_time !== null ? { time: Number(r.event_time) } : {}),
    label: Number(r.label),
    receivedAt: Number(r.received_at),
    source: r.source,
  };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Writes labels inside the caller's transaction (the label store's `put`, and a reviewer's verdict
 * together with the verdict itself): see `LabelStore.put` for the rules.
 */
export async function writeLabels(
  tx: Transaction<KeelDatabase>,
  labels: readonly LabelInput[],
  actor: string,
  now: number,
  key: ChainKey | undefined,
): Promise<LabelWriteResult> {
  const byKey = new Map<string, LabelsTable>();
  labels.forEach((l, i) => {
    const row = toRow(l, i, now);
    // Last one wins within a batch, as a re-ingest of the key would.
    byKey.delete(row.label_key);
    byKey.set(row.label_key, row);
  });
  const rows = [...byKey.values()];
  const stored = new Map<string, LabelsTable>();
  for (const part of chunks(rows, KEYS_PER_QUERY)) {
    const found = await tx
      .selectFrom("labels")
      .selectAll()
      .where(
        "label_key",
        "in",
        part.map((r) => r.label_key),
      )
      .execute();
    for (const f of found) stored.set(f.label_key, f);
  }
  const fresh: LabelsTable[] = [];
  let updated = 0;
  let unchanged = 0;
  for (const row of rows) {
    const old = stored.get(row.label_key);
    if (old === undefined) fresh.push(row);
    else if (Number(old.label) === row.label) unchanged++;
    else {
      updated++;
      await tx
        .updateTable("labels")
        .set({ label: row.label, received_at: row.received_at, source: row.source })
        .where("label_key", "=", row.label_key)
        .execute();
      await appendAudit(
        tx,
        {
          actor,
          action: "label.update",
          targetType: "label",
          targetId: row.label_key,
          before: { label: Number(old.label), source: old.source, received_at: Number(old.received_at) },
          after: { label: row.label, source: row.source, received_at: row.received_at },
        },
        now,
        key,
      );
    }
  }
  for (const part of chunks(fresh, ROWS_PER_INSERT)) await tx.insertInto("labels").values(part).execute();
  const result = { inserted: fresh.length, updated, unchanged };
  if (rows.length > 0) {
    const sources = [...new Set(rows.map((r) => r.source))];
    await appendAudit(
      tx,
      {
        actor,
        action: "labels.ingest",
        targetType: "labels",
        targetId: sources.length === 1 ? (sources[0] as string) : `${sources.length} sources`,
        after: { ...result, sources: sources.slice(0, 20) },
      },
      now,
      key,
    );
  }
  return result;
}

/**
 * Label store on the metadata database (SQLite or PostgreSQL through Kysely). Labels and the
 * inference log live in the same database, so matching a label to its prediction is one indexed
 * query per 500 keys.
 */
export class SqlLabelStore implements LabelStore {
  private readonly clock: Clock;

  /** `metadata`: migrated to 0022 or later. */
  constructor(
    private readonly metadata: MetadataDb,
    options: { clock?: Clock } = {},
  ) {
    this.clock = options.clock ?? Date.now;
  }

  async put(labels: readonly LabelInput[], options: { actor: string }): Promise<LabelWriteResult> {
    const now = this.clock();
    return this.metadata.transaction((tx) =>
      writeLabels(tx, labels, options.actor, now, this.metadata.chainKeyring?.current),
    );
  }

  async byRequestIds(requestIds: readonly string[]): Promise<readonly StoredLabel[]> {
    return this.byColumn("request_id", requestIds);
  }

  async byEntityIds(entityIds: readonly string[]): Promise<readonly StoredLabel[]> {
    return this.byColumn("entity_id", entityIds);
  }

  private async byColumn(columnName: "request_id" | "entity_id", ids: readonly string[]): Promise<StoredLabel[]> {
    const out: StoredLabel[] = [];
    await this.metadata.query(async (db) => {
      for (const part of chunks([...new Set(ids)], KEYS_PER_QUERY)) {
        const rows = await db.selectFrom("labels").selectAll().where(columnName, "in", part).execute();
        for (const r of rows) out.push(toLabel(r));
      }
    });
    return out;
  }

  async matchInferenceLog(keys: readonly LabelKey[]): Promise<Uint8Array> {
    const out = new Uint8Array(keys.length);
    const requestIds = new Set<string>();
    const entityIds = new Set<string>();
    for (const k of keys) {
      if (k.requestId !== undefined) requestIds.add(k.requestId);
      else entityIds.add(k.entityId);
    }
    const logged = new Set<string>();
    const firstPrediction = new Map<string, number>();
    await this.metadata.query(async (db) => {
      for (const part of chunks([...requestIds], KEYS_PER_QUERY)) {
        const rows = await db
          .selectFrom("inference_log")
          .select("request_id")
          .distinct()
          .where("request_id", "in", part)
          .execute();
        for (const r of rows) logged.add(r.request_id);
      }
      for (const part of chunks([...entityIds], KEYS_PER_QUERY)) {
        const rows = await db
          .selectFrom("inference_log")
          .select((eb) => ["entity_id", eb.fn.min("time").as("first_time")])
          .where("entity_id", "in", part)
          .groupBy("entity_id")
          .execute();
        for (const r of rows) if (r.entity_id !== null) firstPrediction.set(r.entity_id, Number(r.first_time));
      }
    });
    keys.forEach((k, i) => {
      if (k.requestId !== undefined) out[i] = logged.has(k.requestId) ? 1 : 0;
      else {
        const first = firstPrediction.get(k.entityId);
        out[i] = first !== undefined && first <= k.time ? 1 : 0;
      }
    });
    return out;
  }
}

/** The label store over keel's metadata database (what `openStores` builds). */
export function createLabelStore(metadata: MetadataDb, options: { clock?: Clock } = {}): LabelStore {
  return new SqlLabelStore(metadata, options);
}
