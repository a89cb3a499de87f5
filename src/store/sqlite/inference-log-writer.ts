import { createRequire } from "node:module";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { UnavailableError } from "../../errors.js";
import { WorkerRpc } from "../../runtime/index.js";
import type { InferenceRecord } from "../inference-log.js";
import { shadowsJson, type InferenceLogWriter } from "../inference-log-sql.js";

// Runs in a worker thread with its own connection, so inserts and their fsyncs (better-sqlite3 is
// synchronous) never stall the serving thread. Same durability pragmas as the main connection.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.pragma("busy_timeout = 10000");
const insert = db.prepare(
  "insert into inference_log (request_id, time, endpoint, model_name, model_version, route, entity_id, features, outputs, latency_ms, shadows) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
);
const writeAll = db.transaction((flat) => {
  for (let i = 0; i < flat.length; i += 11) {
    insert.run(flat[i], flat[i + 1], flat[i + 2], flat[i + 3], flat[i + 4], flat[i + 5], flat[i + 6], flat[i + 7], flat[i + 8], flat[i + 9], flat[i + 10]);
  }
});
parentPort.on("message", (m) => {
  if (m.close) {
    db.close();
    parentPort.postMessage({ id: m.id });
    return;
  }
  try {
    writeAll(m.rows);
    parentPort.postMessage({ id: m.id });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
});
`;

type WriterRequest = { readonly rows: readonly (string | number | null)[] } | { readonly close: true };

/**
 * Inference-log writes for a SQLite metadata database on a worker thread. `write` resolves once
 * the worker's transaction has committed (fsynced), so `durability: "sync"` keeps its meaning.
 */
export class SqliteInferenceLogWriter implements InferenceLogWriter {
  private rpc: WorkerRpc<WriterRequest> | undefined;

  /** `file`: the database file (see `sqlitePath`); relative paths resolve against the process cwd. */
  constructor(private readonly file: string) {}

  /** The worker, started on first use and again after one has failed. */
  private start(): WorkerRpc<WriterRequest> {
    if (this.rpc?.alive) return this.rpc;
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file: path.resolve(this.file) } });
    this.rpc = new WorkerRpc<WriterRequest>(w, (message, cause) =>
      cause === undefined
        ? new UnavailableError(`inference log: write failed (${message})`)
        : new UnavailableError(`inference log: writer failed (${message})`, { cause }),
    );
    return this.rpc;
  }

  /**
   * Records travel as one flat array of column values (features and outputs already JSON text):
   * copying primitives to the worker costs far less than copying nested objects.
   */
  write(records: readonly InferenceRecord[]): Promise<void> {
    const rows = new Array<string | number | null>(records.length * 11);
    let o = 0;
    for (const r of records) {
      rows[o++] = r.requestId;
      rows[o++] = r.time;
      rows[o++] = r.endpoint;
      rows[o++] = r.modelName;
      rows[o++] = r.modelVersion;
      rows[o++] = r.route;
      rows[o++] = r.entityId ?? null;
      rows[o++] = JSON.stringify(r.features);
      rows[o++] = JSON.stringify(r.outputs);
      rows[o++] = r.latencyMs;
      rows[o++] = shadowsJson(r.shadows);
    }
    return this.start().request({ rows });
  }

  async close(): Promise<void> {
    const rpc = this.rpc;
    if (rpc === undefined) return;
    this.rpc = undefined;
    if (rpc.alive) await rpc.request({ close: true });
    await rpc.terminate();
  }
}
