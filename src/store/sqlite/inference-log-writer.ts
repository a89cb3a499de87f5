import { createRequire } from "node:module";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { UnavailableError } from "../../errors.js";
import { WorkerRpc } from "../../runtime/index.js";
import type { ChainHead } from "../decision-chain.js";
import type { InferenceLogWriter } from "../inference-log-sql.js";
import type { InferenceLogTable } from "../schema.js";

// Runs in a worker thread with its own connection, so inserts and their fsyncs (better-sqlite3 is
// synchronous) never stall the serving thread. Same durability pragmas as the main connection. The
// rows arrive linked into the decision chain after an expected head; an immediate transaction
// checks that head and moves it with the inserts, or writes nothing and answers the head it found.
const COLUMNS = [
  "request_id",
  "time",
  "endpoint",
  "model_name",
  "model_version",
  "route",
  "entity_id",
  "features",
  "outputs",
  "latency_ms",
  "shadows",
  "caller",
  "artifact_sha256",
  "threshold",
  "scored",
  "reasons",
  "seq",
  "prev_hash",
  "hash",
  "key_id",
] as const;
const N = COLUMNS.length;
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.pragma("busy_timeout = 10000");
const N = ${N};
const insert = db.prepare(
  "insert into inference_log (${COLUMNS.join(", ")}) values (${COLUMNS.map(() => "?").join(", ")})"
);
const head = db.prepare("select seq, hash from decision_head where id = 1");
const moveHead = db.prepare("update decision_head set seq = ?, hash = ? where id = 1");
const writeAll = db.transaction((m) => {
  const h = head.get();
  if (Number(h.seq) !== m.expected.seq || h.hash !== m.expected.hash) return { seq: Number(h.seq), hash: h.hash };
  const flat = m.rows;
  for (let i = 0; i < flat.length; i += N) insert.run(flat.slice(i, i + N));
  moveHead.run(m.next.seq, m.next.hash);
  return undefined;
});
parentPort.on("message", (m) => {
  if (m.close) {
    db.close();
    parentPort.postMessage({ id: m.id });
    return;
  }
  try {
    parentPort.postMessage({ id: m.id, result: writeAll.immediate(m) });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
});
`;

type WriterRequest =
  | { readonly rows: readonly (string | number | null)[]; readonly expected: ChainHead; readonly next: ChainHead }
  | { readonly close: true };

/**
 * Inference-log writes for a SQLite metadata database on a worker thread. `write` resolves once
 * the worker's transaction has committed (fsynced), so `durability: "sync"` keeps its meaning.
 */
export class SqliteInferenceLogWriter implements InferenceLogWriter {
  private rpc: WorkerRpc<WriterRequest, ChainHead | undefined> | undefined;

  /** `file`: the database file (see `sqlitePath`); relative paths resolve against the process cwd. */
  constructor(private readonly file: string) {}

  /** The worker, started on first use and again after one has failed. */
  private start(): WorkerRpc<WriterRequest, ChainHead | undefined> {
    if (this.rpc?.alive) return this.rpc;
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file: path.resolve(this.file) } });
    this.rpc = new WorkerRpc<WriterRequest, ChainHead | undefined>(w, (message, cause) =>
      cause === undefined
        ? new UnavailableError(`inference log: write failed (${message})`)
        : new UnavailableError(`inference log: writer failed (${message})`, { cause }),
    );
    return this.rpc;
  }

  /**
   * Rows travel as one flat array of column values (JSON columns already text): copying
   * primitives to the worker costs far less than copying nested objects.
   */
  write(rows: readonly InferenceLogTable[], expected: ChainHead, next: ChainHead): Promise<ChainHead | undefined> {
    const flat = new Array<string | number | null>(rows.length * N);
    let o = 0;
    for (const r of rows) for (const c of COLUMNS) flat[o++] = r[c] as string | number | null;
    return this.start().request({ rows: flat, expected, next });
  }

  async close(): Promise<void> {
    const rpc = this.rpc;
    if (rpc === undefined) return;
    this.rpc = undefined;
    if (rpc.alive) await rpc.request({ close: true });
    await rpc.terminate();
  }
}
