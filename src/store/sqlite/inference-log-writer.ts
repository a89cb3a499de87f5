import { createRequire } from "node:module";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { UnavailableError } from "../../errors.js";
import { WorkerRpc } from "../../runtime/index.js";
import { decisionRowFields } from "../decision-chain.js";
import { linkDigest, type ChainKey } from "../hash-chain.js";
import type { InferenceLogWriter, RowBatch } from "../inference-log-sql.js";
import type { InferenceLogTable } from "../schema.js";

// Runs in a worker thread with its own connection, so inserts, their fsyncs (better-sqlite3 is
// synchronous) and the decision chain's hashing never stall the serving thread. Same durability
// pragmas as the main connection. An immediate transaction reads the chain's head, links the rows
// after it and moves it: SQLite's write lock keeps any other writer out until the commit.
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
] as const;
const N = COLUMNS.length;
const CHAIN_COLUMNS = ["seq", "prev_hash", "hash", "key_id"] as const;
// A batch arrives as the three values of encodeRows, cut back into each row's values here.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const crypto = require("node:crypto");
const linkDigest = ${linkDigest.toString()};
const decisionRowFields = ${decisionRowFields.toString()};
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.pragma("busy_timeout = 10000");
const N = ${N};
const COLUMNS = ${JSON.stringify(COLUMNS)};
const ALL = [...COLUMNS, ...${JSON.stringify(CHAIN_COLUMNS)}];
const insert = db.prepare(
  "insert into inference_log (" + ALL.join(", ") + ") values (" + ALL.map(() => "?").join(", ") + ")"
);
const head = db.prepare("select seq, hash from decision_head where id = 1");
const moveHead = db.prepare("update decision_head set seq = ?, hash = ? where id = 1");
const writeAll = db.transaction((m) => {
  const h = head.get();
  let seq = Number(h.seq);
  let prev = h.hash;
  const { kinds, numbers, text, keyId, secret } = m;
  const values = new Array(ALL.length);
  let at = 0;
  for (let cell = 0; cell < kinds.length; ) {
    const row = {};
    for (let i = 0; i < N; i++, cell++) {
      const kind = kinds[cell];
      if (kind === 0) values[i] = null;
      else if (kind === 1) values[i] = numbers[cell];
      else values[i] = text.slice(at, (at = numbers[cell]));
      row[COLUMNS[i]] = values[i];
    }
    seq++;
    const hash = linkDigest(crypto, prev, JSON.stringify(decisionRowFields(row, seq)), keyId, secret);
    values[N] = seq;
    values[N + 1] = prev;
    values[N + 2] = hash;
    values[N + 3] = keyId === undefined ? null : keyId;
    insert.run(values);
    prev = hash;
  }
  moveHead.run(seq, prev);
});
parentPort.on("message", (m) => {
  if (m.close) {
    db.close();
    parentPort.postMessage({ id: m.id });
    return;
  }
  try {
    writeAll.immediate(m);
    parentPort.postMessage({ id: m.id });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
});
`;

/** A batch's column values as three flat values (see EncodedRowBatch). */
export interface EncodedRows {
  /** Per cell, row after row in COLUMNS order: 0 null, 1 number, 2 string. */
  readonly kinds: Uint8Array;
  /** Per cell: the number, or for a string the offset in `text` where it ends. */
  readonly numbers: Float64Array;
  /** Every string cell, end to end. */
  readonly text: string;
}

/**
 * Rows' data columns (the chain's own are the worker's to fill), encoded as each row is added —
 * while its values are still in the cache, and so that no row object waits for the batch's write —
 * into three values that cost one copy each to send to the worker: copying a long string and two
 * typed arrays costs a fraction of cloning an array of thousands of strings, and of parsing them
 * back out of JSON. Strings are cut back out by their offsets, unchanged.
 */
export class EncodedRowBatch implements RowBatch {
  private kinds = new Uint8Array(64 * N);
  private numbers = new Float64Array(64 * N);
  private readonly parts: string[] = [];
  private end = 0;
  private cells = 0;

  get length(): number {
    return this.cells / N;
  }

  add(row: InferenceLogTable): void {
    if (this.cells + N > this.kinds.length) this.grow();
    const kinds = this.kinds;
    const numbers = this.numbers;
    let cell = this.cells;
    for (const c of COLUMNS) {
      const v = row[c];
      if (typeof v === "string") {
        kinds[cell] = 2;
        this.end += v.length;
        numbers[cell] = this.end;
        this.parts.push(v);
      } else if (typeof v === "number") {
        kinds[cell] = 1;
        numbers[cell] = v;
      } else if (v === null) {
        kinds[cell] = 0;
      } else {
        throw new TypeError(`inference log: column ${c} holds a ${typeof v}`);
      }
      cell++;
    }
    this.cells = cell;
  }

  encoded(): EncodedRows {
    return {
      kinds: this.kinds.subarray(0, this.cells),
      numbers: this.numbers.subarray(0, this.cells),
      text: this.parts.join(""),
    };
  }

  private grow(): void {
    const kinds = new Uint8Array(2 * this.kinds.length);
    const numbers = new Float64Array(2 * this.numbers.length);
    kinds.set(this.kinds);
    numbers.set(this.numbers);
    this.kinds = kinds;
    this.numbers = numbers;
  }
}

type WriterRequest =
  (EncodedRows & { readonly keyId?: string; readonly secret?: Uint8Array }) | { readonly close: true };

/**
 * Inference-log writes for a SQLite metadata database on a worker thread. `write` resolves once
 * the worker's transaction has committed (fsynced), so `durability: "sync"` keeps its meaning.
 */
export class SqliteInferenceLogWriter implements InferenceLogWriter<EncodedRowBatch> {
  private rpc: WorkerRpc<WriterRequest, void> | undefined;

  /** `file`: the database file (see `sqlitePath`); relative paths resolve against the process cwd. */
  constructor(private readonly file: string) {}

  /** The worker, started on first use and again after one has failed. */
  private start(): WorkerRpc<WriterRequest, void> {
    if (this.rpc?.alive) return this.rpc;
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file: path.resolve(this.file) } });
    this.rpc = new WorkerRpc<WriterRequest, void>(w, (message, cause) =>
      cause === undefined
        ? new UnavailableError(`inference log: write failed (${message})`)
        : new UnavailableError(`inference log: writer failed (${message})`, { cause }),
    );
    return this.rpc;
  }

  newBatch(): EncodedRowBatch {
    return new EncodedRowBatch();
  }

  write(batch: EncodedRowBatch, key: ChainKey | undefined): Promise<void> {
    const encoded = batch.encoded();
    return this.start().request(key === undefined ? encoded : { ...encoded, keyId: key.id, secret: key.secret });
  }

  async close(): Promise<void> {
    const rpc = this.rpc;
    if (rpc === undefined) return;
    this.rpc = undefined;
    if (rpc.alive) await rpc.request({ close: true });
    await rpc.terminate();
  }
}
