import { createRequire } from "node:module";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { UnavailableError } from "../../errors.js";
import { WorkerRpc } from "../../runtime/index.js";
import { decisionRowFields, shadowsJson } from "../decision-chain.js";
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
const CHAIN_COLUMNS = ["seq", "prev_hash", "hash", "key_id"] as const;
/** The kinds of an encoded batch's cells (see EncodedRowBatch). */
const CELL = { null: 0, number: 1, string: 2, true: 3, false: 4, object: 5 } as const;
// A batch arrives as the three values of EncodedRowBatch, cut back into each row's values here;
// a flat object's cells become its JSON text, as JSON.stringify writes it on any thread.
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
  let cell = 0;
  const scalar = () => {
    const kind = kinds[cell];
    const number = numbers[cell++];
    if (kind === ${CELL.number}) return number;
    if (kind === ${CELL.string}) return text.slice(at, (at = number));
    return kind === ${CELL.true} ? true : kind === ${CELL.false} ? false : null;
  };
  for (let r = 0; r < m.rows; r++) {
    const row = {};
    for (let i = 0; i < N; i++) {
      if (kinds[cell] === ${CELL.object}) {
        const count = numbers[cell++];
        // No prototype: a "__proto__" key stays an entry, as it was in the record.
        const o = Object.create(null);
        for (let e = 0; e < count; e++) {
          const key = scalar();
          o[key] = scalar();
        }
        values[i] = JSON.stringify(o);
      } else values[i] = scalar();
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

/** A batch's cells as three flat values (see EncodedRowBatch). */
export interface EncodedRows {
  /** Per cell (see CELL): null, number, string, true, false, or a flat object's entry count. */
  readonly kinds: Uint8Array;
  /** Per cell: the number, a string's end offset in `text`, or an object's entry count. */
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
 * order; `features`, `outputs` and `scored` (flat objects of scalars) go as an entry count followed
 * by key and value cells, so the worker, not the serving thread, formats their numbers into JSON
 * text. Strings are cut back out by their offsets, unchanged.
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
      this.cells = cells;
      this.parts.length = parts;
      this.end = end;
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
    this.flatObject(r.features);
    this.flatObject(r.outputs);
    this.number(r.latencyMs);
    this.optionalString(shadowsJson(r.shadows) ?? undefined);
    this.optionalString(r.caller);
    this.optionalString(r.artifactSha256);
    if (r.threshold === undefined) this.cell(CELL.null, 0);
    else this.number(r.threshold);
    if (r.scored === undefined) this.cell(CELL.null, 0);
    else this.flatObject(r.scored);
    this.optionalString(r.reasons === undefined ? undefined : JSON.stringify(r.reasons));
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
   * An entry count, then each entry's key and value, in the object's own key order (the order
   * JSON.stringify writes). A value that is not a scalar sends the whole object as its JSON text.
   */
  private flatObject(o: Readonly<Record<string, unknown>>): void {
    const head = this.cells;
    this.cell(CELL.object, 0);
    const parts = this.parts.length;
    const end = this.end;
    let count = 0;
    for (const key in o) {
      const v = o[key];
      if (v === undefined) continue; // JSON.stringify leaves such keys out too
      const t = typeof v;
      if (t !== "number" && t !== "string" && t !== "boolean" && v !== null) {
        this.cells = head;
        this.parts.length = parts;
        this.end = end;
        this.string(JSON.stringify(o));
        return;
      }
      this.string(key);
      if (t === "number") this.number(v as number);
      else if (t === "string") this.string(v as string);
      else this.cell(v === null ? CELL.null : v === true ? CELL.true : CELL.false, 0);
      count++;
    }
    this.numbers[head] = count;
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
