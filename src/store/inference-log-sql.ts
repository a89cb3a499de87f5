import { sql, type Kysely } from "kysely";
import { DataIntegrityError, InvalidParameterError } from "../errors.js";
import type { InferenceLog, InferenceQuery, InferenceRecord } from "./inference-log.js";

/** Row shape of the `inference_log` table (migration 0010). */
export type InferenceLogTable = {
  request_id: string;
  time: number | string | bigint;
  endpoint: string;
  model_name: string;
  model_version: string;
  route: string;
  entity_id: string | null;
  features: string;
  outputs: string;
  latency_ms: number;
};

export type InferenceLogDatabase = {
  inference_log: InferenceLogTable;
};

/** Writes one batch in one transaction; resolves once it has committed. */
export interface InferenceLogWriter {
  write(records: readonly InferenceRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface SqlInferenceLogOptions {
  /** Records written per transaction at most (default 256). */
  readonly batchSize?: number;
  /** Longest an async record waits in memory before being written (default 50 ms). */
  readonly flushIntervalMs?: number;
  /**
   * Where batches are written; default: a transaction on `db`. For SQLite, keel passes a
   * worker-thread writer so inserts and fsyncs stay off the serving thread.
   */
  readonly writer?: InferenceLogWriter;
}

/** SQLite and PostgreSQL hold at most 32,766 / 65,535 bind parameters per statement. */
const ROWS_PER_INSERT = 400;

/**
 * Inference log on the metadata database (SQLite or PostgreSQL through Kysely). Async appends are
 * buffered and written in batches, one transaction per flush; a `durability: "sync"` append
 * triggers a flush and resolves only after the transaction holding its records has committed.
 * Flushes are serialised, so records commit in append order.
 */
export class SqlInferenceLog implements InferenceLog {
  private buffer: InferenceRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly writer: InferenceLogWriter | undefined;

  private readonly db: Kysely<InferenceLogDatabase>;

  /** `db`: the metadata database's Kysely instance (any schema type), migrated to 0010 or later. */
  constructor(db: Kysely<unknown>, options: SqlInferenceLogOptions = {}) {
    this.db = db as Kysely<InferenceLogDatabase>;
    this.batchSize = options.batchSize ?? 256;
    this.flushIntervalMs = options.flushIntervalMs ?? 50;
    this.writer = options.writer;
  }

  append(records: readonly InferenceRecord[], options: { durability?: "sync" | "async" } = {}): Promise<void> {
    if (this.closed) return Promise.reject(new InvalidParameterError("inference log: append after close"));
    for (const r of records) this.buffer.push(r);
    if (options.durability === "sync" || this.buffer.length >= this.batchSize) return this.flush();
    if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush().catch(() => undefined);
      }, this.flushIntervalMs);
      this.timer.unref();
    }
    return Promise.resolve();
  }

  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.buffer;
    this.buffer = [];
    const run = this.writing.catch(() => undefined).then(() => (batch.length > 0 ? this.write(batch) : undefined));
    this.writing = run;
    return run;
  }

  private async write(batch: readonly InferenceRecord[]): Promise<void> {
    if (this.writer !== undefined) return this.writer.write(batch);
    const rows = batch.map((r) => ({
      request_id: r.requestId,
      time: r.time,
      endpoint: r.endpoint,
      model_name: r.modelName,
      model_version: r.modelVersion,
      route: r.route,
      entity_id: r.entityId ?? null,
      features: JSON.stringify(r.features),
      outputs: JSON.stringify(r.outputs),
      latency_ms: r.latencyMs,
    }));
    await this.db.transaction().execute(async (tx) => {
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        await tx
          .insertInto("inference_log")
          .values(rows.slice(i, i + ROWS_PER_INSERT))
          .execute();
      }
    });
  }

  async query(q: InferenceQuery): Promise<readonly InferenceRecord[]> {
    await this.flush();
    let s = this.db.selectFrom("inference_log").selectAll();
    if (q.endpoint !== undefined) s = s.where("endpoint", "=", q.endpoint);
    if (q.modelName !== undefined) s = s.where("model_name", "=", q.modelName);
    if (q.modelVersion !== undefined) s = s.where("model_version", "=", q.modelVersion);
    if (q.route !== undefined) s = s.where("route", "=", q.route);
    if (q.entityId !== undefined) s = s.where("entity_id", "=", q.entityId);
    if (q.from !== undefined) s = s.where("time", ">=", q.from);
    if (q.to !== undefined) s = s.where("time", "<", q.to);
    if (q.requestIds !== undefined) {
      if (q.requestIds.length === 0) return [];
      s = s.where("request_id", "in", [...q.requestIds]);
    }
    const limit = q.limit ?? 10_000;
    if (!Number.isInteger(limit) || limit < 1) {
      throw new InvalidParameterError(`limit: ${limit} must be a positive integer`, {
        details: { field: "limit", value: limit },
      });
    }
    const rows = await s
      .orderBy("time")
      .orderBy(sql`request_id`)
      .limit(limit)
      .execute();
    return rows.map(toRecord);
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    await this.writer?.close();
  }
}

function toRecord(row: InferenceLogTable): InferenceRecord {
  let features: InferenceRecord["features"];
  let outputs: InferenceRecord["outputs"];
  try {
    features = JSON.parse(row.features) as InferenceRecord["features"];
    outputs = JSON.parse(row.outputs) as InferenceRecord["outputs"];
  } catch (cause) {
    throw new DataIntegrityError(`inference log: record ${row.request_id} holds unreadable JSON`, { cause });
  }
  return {
    requestId: row.request_id,
    time: Number(row.time),
    endpoint: row.endpoint,
    modelName: row.model_name,
    modelVersion: row.model_version,
    route: row.route,
    ...(row.entity_id !== null ? { entityId: row.entity_id } : {}),
    features,
    outputs,
    latencyMs: Number(row.latency_ms),
  };
}

/** Migration body: the table and the indexes monitoring queries by. Dialect-neutral (schema builder). */
export async function createInferenceLogTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("inference_log")
    .ifNotExists()
    .addColumn("request_id", "varchar(255)", (c) => c.notNull())
    .addColumn("time", "bigint", (c) => c.notNull())
    .addColumn("endpoint", "varchar(255)", (c) => c.notNull())
    .addColumn("model_name", "varchar(255)", (c) => c.notNull())
    .addColumn("model_version", "varchar(64)", (c) => c.notNull())
    .addColumn("route", "varchar(32)", (c) => c.notNull())
    .addColumn("entity_id", "varchar(255)")
    .addColumn("features", "text", (c) => c.notNull())
    .addColumn("outputs", "text", (c) => c.notNull())
    .addColumn("latency_ms", "double precision", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("inference_log_endpoint_time")
    .ifNotExists()
    .on("inference_log")
    .columns(["endpoint", "time"])
    .execute();
  await db.schema
    .createIndex("inference_log_model_time")
    .ifNotExists()
    .on("inference_log")
    .columns(["model_name", "model_version", "time"])
    .execute();
  await db.schema.createIndex("inference_log_request").ifNotExists().on("inference_log").column("request_id").execute();
  await db.schema.createIndex("inference_log_entity").ifNotExists().on("inference_log").column("entity_id").execute();
}
