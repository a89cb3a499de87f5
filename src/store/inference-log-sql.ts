import { sql, type SelectQueryBuilder } from "kysely";
import { DataIntegrityError, InvalidParameterError, UnavailableError } from "../errors.js";
import { deferred, type Deferred } from "../runtime/index.js";
import { appendChained, inferenceLogRow } from "./decision-chain.js";
import type { AppendOptions, InferenceLog, InferenceQuery, InferenceRecord, WriteRetryEvent } from "./inference-log.js";
import type { ChainKey } from "./hash-chain.js";
import type { MetadataDb } from "./metadata-db.js";
import type { InferenceLogTable, KeelDatabase } from "./schema.js";

/** The records of one transaction as they are gathered, in whatever form their writer sends them. */
export interface RowBatch {
  add(record: InferenceRecord): void;
  readonly length: number;
}

/**
 * Writes one batch of rows (gathered in a batch of its own making) in one transaction, linked into
 * the decision chain after the head it finds there, each sealed with `key` when there is one;
 * resolves once it has committed.
 */
export interface InferenceLogWriter<B extends RowBatch = RowBatch> {
  newBatch(): B;
  write(batch: B, key: ChainKey | undefined): Promise<void>;
  close(): Promise<void>;
}

/** Rows gathered as they are, for a transaction on the metadata database. */
class RowList implements RowBatch {
  readonly rows: InferenceLogTable[] = [];

  get length(): number {
    return this.rows.length;
  }

  add(record: InferenceRecord): void {
    this.rows.push(inferenceLogRow(record));
  }
}

/** The default writer: the batch's transaction on the metadata database itself (appendChained). */
function metadataWriter(metadata: MetadataDb): InferenceLogWriter<RowList> {
  return {
    newBatch: () => new RowList(),
    write: (batch, key) => metadata.transaction((tx) => appendChained(tx, batch.rows, key)),
    close: () => Promise.resolve(),
  };
}

export interface SqlInferenceLogOptions {
  /** Records written per transaction at most (default 256). */
  readonly batchSize?: number;
  /** Longest an async record waits in memory before being written (default 50 ms). */
  readonly flushIntervalMs?: number;
  /**
   * Where batches are written; default: a transaction on the metadata database. For SQLite, keel passes a
   * worker-thread writer so inserts and fsyncs stay off the serving thread.
   */
  readonly writer?: InferenceLogWriter;
  /**
   * Async records held in memory at most while their writes fail (default 100,000); past it the
   * oldest held batches are dropped and their appends fail.
   */
  readonly retryLimit?: number;
  /** Wait before writing held records again after a failure (default 1 s), doubled per failure up to 30 s. */
  readonly retryDelayMs?: number;
}

/** An async batch cut from the buffer and not yet committed, with the commit its appenders await. */
interface UnwrittenBatch {
  readonly batch: RowBatch;
  readonly commit: Deferred<void> | undefined;
}

const MAX_RETRY_DELAY_MS = 30_000;

/**
 * Inference log on the metadata database (SQLite or PostgreSQL through Kysely). Async appends are
 * buffered and written in batches, one transaction per flush; a `durability: "sync"` append
 * triggers a flush and resolves only after the transaction holding its records has committed, as
 * does an async append with `awaitCommit`.
 * Flushes are serialised, so records commit in append order. An async batch whose write fails
 * (the database unreachable, the disk full) is held in memory, in order, and written again after
 * a back-off, so a database restart loses no acknowledged prediction's record; a sync batch is
 * never held (its caller is told it failed and answers so).
 */
export class SqlInferenceLog implements InferenceLog {
  /**
   * Records waiting for their transaction, already in their writer's form (a row of flat columns
   * with JSON as text, or the worker writer's flat cells): far fewer objects for the garbage
   * collector to carry through the wait than the records with their nested features and outputs.
   */
  private buffer: RowBatch;
  /** Settles when the buffered records' transaction has committed (or failed), for `awaitCommit`. */
  private bufferCommit: Deferred<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;
  /** Async batches cut from the buffer and not yet written, oldest first: held ones after a failure. */
  private readonly unwritten: UnwrittenBatch[] = [];
  private unwrittenRecords = 0;
  /** 0 while writes succeed; after a failure, the back-off before the next attempt. */
  private retryDelayMs = 0;
  /** Set while held batches wait for their next attempt: new batches queue behind them unattempted. */
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly retryListeners: ((event: WriteRetryEvent) => void)[] = [];
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly retryLimit: number;
  private readonly firstRetryDelayMs: number;
  private readonly writer: InferenceLogWriter;

  private readonly metadata: MetadataDb;

  /** `metadata`: migrated to 0010 or later. */
  constructor(metadata: MetadataDb, options: SqlInferenceLogOptions = {}) {
    this.metadata = metadata;
    this.batchSize = options.batchSize ?? 256;
    this.flushIntervalMs = options.flushIntervalMs ?? 50;
    this.retryLimit = options.retryLimit ?? 100_000;
    this.firstRetryDelayMs = options.retryDelayMs ?? 1000;
    this.writer = options.writer ?? metadataWriter(metadata);
    this.buffer = this.writer.newBatch();
  }

  append(records: readonly InferenceRecord[], options: AppendOptions = {}): Promise<void> {
    if (this.closed) return Promise.reject(new InvalidParameterError("inference log: append after close"));
    if (options.durability === "sync") {
      // Buffered async records go in a transaction of their own: a failed sync write is not held
      // (its caller answers with the failure), and it must not take them down with it.
      if (this.buffer.length > 0) void this.flush();
      for (const r of records) this.buffer.add(r);
      return this.flushBatch(true);
    }
    for (const r of records) this.buffer.add(r);
    const commit = options.awaitCommit === true ? (this.bufferCommit ??= deferred()).promise : undefined;
    if (this.buffer.length >= this.batchSize) void this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.flushIntervalMs);
      this.timer.unref();
    }
    return commit ?? Promise.resolve();
  }

  /**
   * Cuts the buffer into a batch and writes it after the batches before it, with any held ones
   * whose back-off has passed. Resolves once written or held for retry.
   */
  flush(): Promise<void> {
    return this.flushBatch(false);
  }

  /** Listen for failed async writes held for retry, and for the write that resumes them. */
  onWriteRetry(listener: (event: WriteRetryEvent) => void): void {
    this.retryListeners.push(listener);
  }

  private flushBatch(sync: boolean): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.buffer;
    const commit = this.bufferCommit;
    this.buffer = this.writer.newBatch();
    this.bufferCommit = undefined;
    const run = this.writing.then(() => (sync ? this.writeSync(batch) : this.writeAsync({ batch, commit })));
    this.writing = run.catch(() => undefined);
    return run;
  }

  private async writeSync(batch: RowBatch): Promise<void> {
    if (batch.length > 0) await this.write(batch);
  }

  private async writeAsync(next: UnwrittenBatch): Promise<void> {
    if (next.batch.length > 0) {
      this.unwritten.push(next);
      this.unwrittenRecords += next.batch.length;
      this.dropPastLimit();
    }
    if (this.retryTimer === undefined) await this.writeUnwritten();
  }

  /** Writes the held batches now, after the writes before, whatever the back-off. */
  private retry(): Promise<void> {
    const run = this.writing.then(() => this.writeUnwritten());
    this.writing = run;
    return run;
  }

  /** Writes the unwritten batches in order; on a failure holds them and backs off. Never rejects. */
  private async writeUnwritten(): Promise<void> {
    let written = 0;
    for (let next = this.unwritten[0]; next !== undefined; next = this.unwritten[0]) {
      try {
        await this.write(next.batch);
      } catch (e) {
        this.held(e);
        return;
      }
      this.unwritten.shift();
      this.unwrittenRecords -= next.batch.length;
      written += next.batch.length;
      next.commit?.resolve();
    }
    if (this.retryDelayMs === 0) return;
    this.retryDelayMs = 0;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.emit({ kind: "resumed", written });
  }

  private held(error: unknown): void {
    if (this.closed) return; // close drops what its last attempt could not write
    this.retryDelayMs =
      this.retryDelayMs === 0 ? this.firstRetryDelayMs : Math.min(2 * this.retryDelayMs, MAX_RETRY_DELAY_MS);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.retry();
    }, this.retryDelayMs);
    this.retryTimer.unref();
    this.emit({ kind: "held", error, heldRecords: this.unwrittenRecords, retryInMs: this.retryDelayMs });
  }

  /** Past the retry limit the oldest held batches go, failing their appends: memory stays bounded. */
  private dropPastLimit(): void {
    while (this.unwrittenRecords > this.retryLimit && this.unwritten.length > 1)
      this.drop("more than the retry limit of " + this.retryLimit + " records held");
  }

  private drop(why: string): void {
    const oldest = this.unwritten.shift();
    if (oldest === undefined) return;
    this.unwrittenRecords -= oldest.batch.length;
    oldest.commit?.reject(
      new UnavailableError(`inference log: ${oldest.batch.length} records dropped unwritten (${why})`),
    );
  }

  private emit(event: WriteRetryEvent): void {
    for (const listener of this.retryListeners) listener(event);
  }

  /** Every row is a decision record, linked into the hash chain in its batch's transaction (docs/decisions.md). */
  private write(batch: RowBatch): Promise<void> {
    return this.writer.write(batch, this.metadata.chainKeyring?.current);
  }

  /**
   * Records matching every filter, ordered by time then request id. Rows carrying shadow answers
   * are read by a second query (on the partial index of such rows) and expanded into one record
   * per answer; the two ordered reads are merged and cut at `limit`.
   */
  async query(q: InferenceQuery): Promise<readonly InferenceRecord[]> {
    await this.flush();
    const limit = q.limit ?? 10_000;
    if (!Number.isInteger(limit) || limit < 1) {
      throw new InvalidParameterError(`limit: ${limit} must be a positive integer`, {
        details: { field: "limit", value: limit },
      });
    }
    if (q.requestIds !== undefined && q.requestIds.length === 0) return [];
    const common = (s: SelectQueryBuilder<KeelDatabase, "inference_log", InferenceLogTable>) => {
      if (q.endpoint !== undefined) s = s.where("endpoint", "=", q.endpoint);
      if (q.entityId !== undefined) s = s.where("entity_id", "=", q.entityId);
      if (q.from !== undefined) s = s.where("time", ">=", q.from);
      if (q.to !== undefined) s = s.where("time", "<", q.to);
      if (q.requestIds !== undefined) s = s.where("request_id", "in", [...q.requestIds]);
      return s
        .orderBy("time")
        .orderBy(sql`request_id`)
        .limit(limit);
    };
    const db = this.metadata.db;
    let primary = db.selectFrom("inference_log").selectAll();
    if (q.modelName !== undefined) primary = primary.where("model_name", "=", q.modelName);
    if (q.modelVersion !== undefined) primary = primary.where("model_version", "=", q.modelVersion);
    if (q.route !== undefined) primary = primary.where("route", "=", q.route);
    const records = (await this.metadata.query(() => common(primary).execute())).map(toRecord);
    if (q.route !== undefined && q.route !== "shadow") return records;

    let carriers = db.selectFrom("inference_log").selectAll().where("shadows", "is not", null);
    // Exact, case-sensitive substring tests of the JSON text (LIKE folds case on SQLite).
    const needle = shadowNeedle(q.modelName, q.modelVersion);
    if (needle !== undefined) {
      carriers = carriers.where(
        this.metadata.dialect === "sqlite"
          ? sql<boolean>`instr(shadows, ${needle}) > 0`
          : sql<boolean>`strpos(shadows, ${needle}) > 0`,
      );
    }
    const shadowRecords: InferenceRecord[] = [];
    for (const row of await this.metadata.query(() => common(carriers).execute())) {
      for (const r of shadowRecordsOf(row)) {
        if (q.modelName !== undefined && r.modelName !== q.modelName) continue;
        if (q.modelVersion !== undefined && r.modelVersion !== q.modelVersion) continue;
        shadowRecords.push(r);
      }
    }
    if (shadowRecords.length === 0) return records;
    return mergeOrdered(records, shadowRecords, limit);
  }

  /** Writes what is buffered and held (one last attempt, back-off or not), then drops what still fails. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.unwritten.length > 0) await this.retry();
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    while (this.unwritten.length > 0) this.drop("the log closed while its writes failed");
    await this.writer.close();
  }
}

function shadowNeedle(modelName: string | undefined, modelVersion: string | undefined): string | undefined {
  if (modelName === undefined && modelVersion === undefined) return undefined;
  if (modelVersion === undefined) return `{"model":${JSON.stringify(modelName)},`;
  if (modelName === undefined) return `,"version":${JSON.stringify(modelVersion)},"outputs":`;
  return `{"model":${JSON.stringify(modelName)},"version":${JSON.stringify(modelVersion)},"outputs":`;
}

function parseJson<T>(text: string, row: InferenceLogTable): T {
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new DataIntegrityError(`inference log: record ${row.request_id} holds unreadable JSON`, { cause });
  }
}

function toRecord(row: InferenceLogTable): InferenceRecord {
  return {
    requestId: row.request_id,
    time: Number(row.time),
    endpoint: row.endpoint,
    modelName: row.model_name,
    modelVersion: row.model_version,
    route: row.route,
    ...(row.entity_id !== null ? { entityId: row.entity_id } : {}),
    features: parseJson<InferenceRecord["features"]>(row.features, row),
    outputs: parseJson<InferenceRecord["outputs"]>(row.outputs, row),
    latencyMs: Number(row.latency_ms),
  };
}

/** The row's shadow answers, each as the record it stands for (route "shadow"). */
function shadowRecordsOf(row: InferenceLogTable): InferenceRecord[] {
  if (row.shadows === null) return [];
  const stored = parseJson<
    { model: string; version: string; outputs: InferenceRecord["outputs"]; latency_ms: number }[]
  >(row.shadows, row);
  const features = parseJson<InferenceRecord["features"]>(row.features, row);
  return stored.map((s) => ({
    requestId: row.request_id,
    time: Number(row.time),
    endpoint: row.endpoint,
    modelName: s.model,
    modelVersion: s.version,
    route: "shadow",
    ...(row.entity_id !== null ? { entityId: row.entity_id } : {}),
    features,
    outputs: s.outputs,
    latencyMs: s.latency_ms,
  }));
}

/** The first `limit` records of two lists ordered by (time, request id); ties keep `a` first. */
function mergeOrdered(a: readonly InferenceRecord[], b: readonly InferenceRecord[], limit: number): InferenceRecord[] {
  const out: InferenceRecord[] = [];
  let i = 0;
  let j = 0;
  while (out.length < limit && (i < a.length || j < b.length)) {
    const x = a[i];
    const y = b[j];
    if (
      y === undefined ||
      (x !== undefined && (x.time < y.time || (x.time === y.time && x.requestId <= y.requestId)))
    ) {
      out.push(x as InferenceRecord);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  return out;
}
