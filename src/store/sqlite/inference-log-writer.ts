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
// A batch arrives as the three values of encodeRows, cut back into each row's values here.
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
  const { kinds, numbers, text } = m;
  const values = new Array(N);
  let at = 0;
  for (let cell = 0; cell < kinds.length; ) {
    for (let i = 0; i < N; i++, cell++) {
      const kind = kinds[cell];
      if (kind === 0) values[i] = null;
      else if (kind === 1) values[i] = numbers[cell];
      else values[i] = text.slice(at, (at = numbers[cell]));
    }
    insert.run(values);
  }
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

/** A batch's column values as three flat values (see encodeRows). */
export interface EncodedRows {
  /** Per cell, row after row in COLUMNS order: 0 null, 1 number, 2 string. */
  readonly kinds: Uint8Array;
  /** Per cell: the number, or for a string the offset in `text` where it ends. */
  readonly numbers: Float64Array;
  /** Every string cell, end to end. */
  readonly text: string;
}

/**
 * Rows as three values that cost one copy each to send to the worker: copying a long string and
 * two typed arrays costs a fraction of cloning an array of thousands of strings, and of parsing
 * them back out of JSON. Strings are cut back out by their offsets, unchanged.
 */
export function encodeRows(rows: readonly InferenceLogTable[]): EncodedRows {
  const kinds = new Uint8Array(rows.length * N);
  const numbers = new Float64Array(rows.length * N);
  const parts: string[] = [];
  let end = 0;
  let cell = 0;
  for (const r of rows) {
    for (const c of COLUMNS) {
      const v = r[c];
      if (typeof v === "string") {
        kinds[cell] = 2;
        end += v.length;
        numbers[cell] = end;
        parts.push(v);
      } else if (typeof v === "number") {
        kinds[cell] = 1;
        numbers[cell] = v;
      } else if (v !== null) {
        throw new TypeError(`inference log: column ${c} holds a ${typeof v}`);
      }
      cell++;
    }
  }
  return { kinds, numbers, text: parts.join("") };
}

type WriterRequest =
  (EncodedRows & { readonly expected: ChainHead; readonly next: ChainHead }) | { readonly close: true };

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

  write(rows: readonly InferenceLogTable[], expected: ChainHead, next: ChainHead): Promise<ChainHead | undefined> {
    return this.start().request({ ...encodeRows(rows), expected, next });
  }

  async close(): Promise<void> {
    const rpc = this.rpc;
    if (rpc === undefined) return;
    this.rpc = undefined;
    if (rpc.alive) await rpc.request({ close: true });
    await rpc.terminate();
  }
}
