import { Worker } from "node:worker_threads";
import { InvalidParameterError, UnavailableError } from "../errors.js";
import { applyLink, checkMatrix, scoreMarginsKernel, type CompiledEnsemble } from "./tree-ensemble.js";

/**
 * Below this many node visits (rows × trees) a batch is scored on the calling thread: handing it to
 * workers costs more (copying the matrix, a message round trip) than it saves.
 */
const PARALLEL_MIN_WORK = 2_000_000;

/** Worker source: the kernels' own source text, so the workers need no file of their own. */
function workerSource(): string {
  return `"use strict";
const { parentPort } = require("node:worker_threads");
const scoreMarginsKernel = ${scoreMarginsKernel.toString()};
const applyLink = ${applyLink.toString()};
let ensemble;
parentPort.on("message", (m) => {
  if (m.ensemble !== undefined) {
    const groups = m.ensemble.sources.map((src) => new Function("x", "nf", "r0", "r1", "out", "bits", src));
    ensemble = { ...m.ensemble, groups };
    return;
  }
  const x = m.f32 ? new Float32Array(m.x) : new Float64Array(m.x);
  const out = new Float64Array(m.out);
  scoreMarginsKernel(ensemble, x, m.start, m.end, out);
  applyLink(ensemble, out, m.start, m.end);
  parentPort.postMessage(m.id);
});`;
}

interface Pending {
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Scores a compiled ensemble over large matrices on `threads` worker threads (rows split evenly),
 * small ones on the calling thread. Workers start once and keep the ensemble; `close()` ends them.
 */
export class EnsembleScorer {
  readonly threads: number;
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly ensemble: CompiledEnsemble,
    options: { threads: number },
  ) {
    const { threads } = options;
    if (!Number.isInteger(threads) || threads < 1) {
      throw new InvalidParameterError(`threads = ${threads}: must be an integer ≥ 1`, {
        details: { field: "threads", value: threads, rule: "integer ≥ 1" },
      });
    }
    this.threads = threads;
  }

  private startWorkers(): void {
    if (this.workers.length > 0) return;
    const src = workerSource();
    for (let i = 0; i < this.threads; i++) {
      const w = new Worker(src, { eval: true });
      w.on("message", (id: number) => {
        const p = this.pending.get(id);
        this.pending.delete(id);
        p?.resolve();
      });
      w.on("error", (err) => {
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
      // Functions do not cross threads: the worker rebuilds them from their sources.
      const { groups: _groups, ...portable } = this.ensemble;
      w.postMessage({ ensemble: portable });
      // Idle workers must not keep the process alive.
      w.unref();
      this.workers.push(w);
    }
  }

  /** Scores `nRows` rows of row-major `x`; returns probabilities (sigmoid link) or predictions. */
  async score(x: Float32Array | Float64Array, nRows: number): Promise<Float64Array> {
    if (this.closed) throw new UnavailableError("ensemble scorer is closed");
    const c = this.ensemble;
    if (this.threads === 1 || nRows * c.nTrees < PARALLEL_MIN_WORK || nRows < this.threads) {
      const out = new Float64Array(nRows);
      checkMatrix(c, x, nRows, out);
      scoreMarginsKernel(c, x, 0, nRows, out);
      applyLink(c, out, 0, nRows);
      return out;
    }
    const outBuf = new SharedArrayBuffer(nRows * 8);
    const out = new Float64Array(outBuf);
    checkMatrix(c, x, nRows, out);
    this.startWorkers();
    const width = c.nFeatures;
    let shared: Float32Array | Float64Array;
    if (x.buffer instanceof SharedArrayBuffer && x.byteOffset === 0) {
      shared = x;
    } else {
      const f32 = x instanceof Float32Array;
      const buf = new SharedArrayBuffer(nRows * width * (f32 ? 4 : 8));
      shared = f32 ? new Float32Array(buf) : new Float64Array(buf);
      shared.set(x.subarray(0, nRows * width));
    }
    const per = Math.ceil(nRows / this.threads);
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < this.threads; i++) {
      const start = i * per;
      const end = Math.min(nRows, start + per);
      if (start >= end) break;
      const id = this.nextId++;
      const worker = this.workers[i];
      if (worker === undefined) break;
      jobs.push(
        new Promise<void>((resolve, reject) => {
          this.pending.set(id, { resolve, reject });
          worker.ref();
          worker.postMessage({
            id,
            f32: shared instanceof Float32Array,
            x: shared.buffer,
            out: outBuf,
            start,
            end,
          });
        }),
      );
    }
    try {
      await Promise.all(jobs);
    } finally {
      for (const w of this.workers) w.unref();
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    const ws = this.workers.splice(0);
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
