import { createRequire } from "node:module";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { UnavailableError } from "../../errors.js";
import { WorkerRpc } from "../../runtime/index.js";
import { decisionRowFields, storedShadows } from "../decision-chain.js";
import { linkDigest, type ChainKey } from "../hash-chain.js";
import type { InferenceLogWriter, RowBatch } from "../inference-log-sql.js";
import type { InferenceRecord } from "../inference-log.js";

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
/** Rows per insert statement on the writer thread. */
const INSERT_CHUNK = 16;
const CHAIN_COLUMNS = ["seq", "prev_hash", "hash", "key_id"] as const;
/** The kinds of an encoded batch's cells (see EncodedRowBatch). */
const CELL = { null: 0, number: 1, string: 2, true: 3, false: 4, object: 5, array: 6 } as const;
// A batch arrives as the three values of EncodedRowBatch, cut back into each row's values here;
// an object's or array's cells become its JSON text, as JSON.stringify writes it on any thread.
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
const W = ALL.length;
// Rows go in CHUNK at a time, one statement each: a statement per row cost about a fifth more CPU
// (SQLite's per-statement work and a binding call per row). A batch's last rows go one by one.
const CHUNK = ${INSERT_CHUNK};
const insertRows = (n) =>
  db.prepare(
    "insert into inference_log (" + ALL.join(", ") + ") values " +
      Array.from({ length: n }, () => "(" + ALL.map(() => "?").join(", ") + ")").join(", ")
  );
const insertChunk = insertRows(CHUNK);
const insertOne = insertRows(1);
const head = db.prepare("select seq, hash from decision_head where id = 1");
const moveHead = db.prepare("update decision_head set seq = ?, hash = ? where id = 1");
const writeAll = db.transaction((m) => {
  const h = head.get();
  let seq = Number(h.seq);
  let prev = h.hash;
  const { kinds, numbers, text, keyId, secret } = m;
  const values = new Array(W * CHUNK);
  let at = 0;
  let cell = 0;
  // Objects get no prototype: a "__proto__" key stays an entry, as it was in the record.
  const value = () => {
    const kind = kinds[cell];
    const number = numbers[cell++];
    if (kind === ${CELL.number}) return number;
    if (kind === ${CELL.string}) return text.slice(at, (at = number));
    if (kind === ${CELL.object}) {
      const o = Object.create(null);
      for (let e = 0; e < number; e++) {
        const key = value();
        o[key] = value();
      }
      return o;
    }
    if (kind === ${CELL.array}) {
      const a = new Array(number);
      for (let e = 0; e < number; e++) a[e] = value();
      return a;
    }
    return kind === ${CELL.true} ? true : kind === ${CELL.false} ? false : null;
  };
  const chunked = m.rows - (m.rows % CHUNK);
  for (let r = 0; r < m.rows; r++) {
    const row = {};
    const o = (r % CHUNK) * W;
    for (let i = 0; i < N; i++) {
      const kind = kinds[cell];
      values[o + i] = kind === ${CELL.object} || kind === ${CELL.array} ? JSON.stringify(value()) : value();
      row[COLUMNS[i]] = values[o + i];
    }
    seq++;
    const hash = linkDigest(crypto, prev, JSON.stringify(decisionRowFields(row, seq)), keyId, secret);
    values[o + N] = seq;
    values[o + N + 1] = prev;
    values[o + N + 2] = hash;
    values[o + N + 3] = keyId === undefined ? null : keyId;
    if (r < chunked) {
      if (o === W * (CHUNK - 1)) insertChunk.run(values);
    } else insertOne.run(values.slice(o, o + W));
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

/** A batch's cells as three flat values (see EncodedRowBatch). */
export interface EncodedRows {
  /** Per cell (see CELL): null, number, string, true, false, object or array. */
  readonly kinds: Uint8Array;
  /** Per cell: the number, a string's end offset in `text`, an object's entry count or an array's length. */
  readonly numbers: Float64Array;
  /** Every string cell, end to end. */
  readonly text: string;
  /** Rows in the batch. */
  readonly rows: number;
}

/**
 * Records encoded as each is added — while its values are still in the cache, and so that no
 * record object waits for the batch's write — into three values that cost one copy each to send to
 * the worker: copying a long string and two typed arrays costs a fraction of cloning an array of
 * thousands of strings, and of parsing them back out of JSON. A record is its COLUMNS' cells in
 * order; the JSON columns (`features`, `outputs`, `shadows`, `scored`, `reasons`) go as cells of
 * their structure (see `json`), so the worker, not the serving thread, writes their JSON text and
 * formats their numbers. Strings are cut back out by their offsets, unchanged.
 */
export class EncodedRowBatch implements RowBatch {
  private kinds = new Uint8Array(64 * N);
  private numbers = new Float64Array(64 * N);
  private readonly parts: string[] = [];
  private end = 0;
  private cells = 0;
  private rows = 0;

  get length(): number {
    return this.rows;
  }

  add(r: InferenceRecord): void {
    const cells = this.cells;
    const parts = this.parts.length;
    const end = this.end;
    try {
      this.addCells(r);
    } catch (e) {
      // A value JSON cannot hold (a BigInt) leaves the batch as it was.
      this.rewind(cells, parts, end);
      throw e;
    }
    this.rows++;
  }

  private addCells(r: InferenceRecord): void {
    this.string(r.requestId);
    this.number(r.time);
    this.string(r.endpoint);
    this.string(r.modelName);
    this.string(r.modelVersion);
    this.string(r.route);
    this.optionalString(r.entityId);
    this.json(r.features);
    this.json(r.outputs);
    this.number(r.latencyMs);
    this.json(storedShadows(r.shadows));
    this.optionalString(r.caller);
    this.optionalString(r.artifactSha256);
    if (r.threshold === undefined) this.cell(CELL.null, 0);
    else this.number(r.threshold);
    if (r.scored === undefined) this.cell(CELL.null, 0);
    else this.json(r.scored);
    if (r.reasons === undefined) this.cell(CELL.null, 0);
    else this.json(r.reasons);
  }

  encoded(): EncodedRows {
    return {
      kinds: this.kinds.subarray(0, this.cells),
      numbers: this.numbers.subarray(0, this.cells),
      text: this.parts.join(""),
      rows: this.rows,
    };
  }

  private cell(kind: number, value: number): void {
    if (this.cells === this.kinds.length) this.grow();
    this.kinds[this.cells] = kind;
    this.numbers[this.cells++] = value;
  }

  private number(v: number): void {
    this.cell(CELL.number, v);
  }

  private string(v: string): void {
    this.end += v.length;
    this.cell(CELL.string, this.end);
    this.parts.push(v);
  }

  private optionalString(v: string | undefined): void {
    if (v === undefined) this.cell(CELL.null, 0);
    else this.string(v);
  }

  /**
   * A JSON column's value as cells: an object is its entry count, then each entry's key and value
   * in its own key order (the order JSON.stringify writes); an array, its length and its items.
   * A value JSON.stringify would write in some other way (a Date, a function, a Map) sends the
   * whole value as its JSON text instead.
   */
  private json(v: unknown): void {
    const cells = this.cells;
    const parts = this.parts.length;
    const end = this.end;
    if (this.value(v)) return;
    this.rewind(cells, parts, end);
    this.string(JSON.stringify(v));
  }

  /** Writes `v`'s cells; false when it holds something only JSON.stringify knows how to write. */
  private value(v: unknown): boolean {
    if (typeof v === "number") this.number(v);
    else if (typeof v === "string") this.string(v);
    else if (v === null) this.cell(CELL.null, 0);
    else if (v === true) this.cell(CELL.true, 0);
    else if (v === false) this.cell(CELL.false, 0);
    else if (Array.isArray(v)) {
      this.cell(CELL.array, v.length);
      for (const item of v as unknown[]) if (!this.value(item === undefined ? null : item)) return false;
    } else if (typeof v === "object" && isPlain(v)) {
      const head = this.cells;
      this.cell(CELL.object, 0);
      let count = 0;
      for (const key in v) {
        const item = (v as Record<string, unknown>)[key];
        if (item === undefined) continue; // JSON.stringify leaves such keys out too
        this.string(key);
        if (!this.value(item)) return false;
        count++;
      }
      this.numbers[head] = count;
    } else return false;
    return true;
  }

  /** Back to an earlier end of the batch: its cell count, string parts and text length then. */
  private rewind(cells: number, parts: number, end: number): void {
    this.cells = cells;
    this.parts.length = parts;
    this.end = end;
  }

  private grow(): void {
    const kinds = new Uint8Array(4 * this.kinds.length);
    const numbers = new Float64Array(4 * this.numbers.length);
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

/** An object JSON.stringify writes as its own enumerable entries: no prototype but Object's, and no toJSON. */
function isPlain(o: object): boolean {
  const proto = Object.getPrototypeOf(o) as unknown;
  return (proto === Object.prototype || proto === null) && !("toJSON" in o);
}
