import { Worker } from "node:worker_threads";
import { InvalidParameterError, UnavailableError } from "../errors.js";
import { WorkerRpc } from "../runtime/index.js";
import { binnedTreesMarginsKernel, type BinnedTrees } from "./binned-trees.js";
import { completeTreesMarginsKernel, type CompleteTrees } from "./complete-trees.js";
import { applyLink, checkMatrix, scoreMarginsKernel, type CompiledEnsemble } from "./tree-ensemble.js";

/** What a scorer runs: binned or complete trees (shallow ensembles) or generated code (any other). */
export type EnsembleEvaluator = CompiledEnsemble | CompleteTrees | BinnedTrees;

/** Margins of rows [start, end) with whichever kernel the evaluator has. */
function scoreMargins(
  c: EnsembleEvaluator,
  x: Float32Array | Float64Array,
  start: number,
  end: number,
  out: Float64Array,
): void {
  if (!("kind" in c)) scoreMarginsKernel(c, x, start, end, out);
  else if (c.kind === "complete-trees") completeTreesMarginsKernel(c, x, start, end, out);
  else binnedTreesMarginsKernel(c, x, start, end, out);
}

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
const completeTreesMarginsKernel = ${completeTreesMarginsKernel.toString()};
const binnedTreesMarginsKernel = ${binnedTreesMarginsKernel.toString()};
const applyLink = ${applyLink.toString()};
let ensemble;
parentPort.on("message", (m) => {
  if (m.ensemble !== undefined) {
    if (m.ensemble.kind !== undefined) {
      ensemble = m.ensemble;
      return;
    }
    const groups = m.ensemble.sources.map((src) => new Function("x", "nf", "r0", "r1", "out", "bits", src));
    ensemble = { ...m.ensemble, groups };
    return;
  }
  try {
    const x = m.f32 ? new Float32Array(m.x) : new Float64Array(m.x);
    const out = new Float64Array(m.out);
    if (ensemble.kind === "binned-trees") binnedTreesMarginsKernel(ensemble, x, m.start, m.end, out);
    else if (ensemble.kind === "complete-trees") completeTreesMarginsKernel(ensemble, x, m.start, m.end, out);
    else scoreMarginsKernel(ensemble, x, m.start, m.end, out);
    applyLink(ensemble, out, m.start, m.end);
    parentPort.postMessage({ id: m.id });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
});`;
}

/** Rows [start, end) of the shared matrix `x`, scored into the shared `out`. */
interface ScoreJob {
  readonly f32: boolean;
  readonly x: ArrayBufferLike;
  readonly out: SharedArrayBuffer;
  readonly start: number;
  readonly end: number;
}

function workerFailed(message: string, cause?: unknown): Error {
  return new UnavailableError(`ensemble scorer: worker failed (${message})`, cause === undefined ? {} : { cause });
}

/**
 * Scores an ensemble (binned or complete trees, or generated code) over large matrices on `threads` worker threads (rows split evenly),
 * small ones on the calling thread. Workers start once and keep the ensemble; `close()` ends them.
 */
export class EnsembleScorer {
  readonly threads: number;
  private readonly workers: WorkerRpc<ScoreJob>[] = [];
  private closed = false;

  constructor(
    private readonly ensemble: EnsembleEvaluator,
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
      // Functions do not cross threads: the worker rebuilds them from their sources.
      const c = this.ensemble;
      // Spreading also leaves out a binned evaluator's module instance (not enumerable): workers instantiate their own.
      const portable = "kind" in c ? { ...c } : (({ groups: _groups, ...rest }) => rest)(c);
      w.postMessage({ ensemble: portable });
      this.workers.push(new WorkerRpc<ScoreJob>(w, workerFailed));
    }
  }

  /** Scores `nRows` rows of row-major `x`; returns probabilities (sigmoid link) or predictions. */
  async score(x: Float32Array | Float64Array, nRows: number): Promise<Float64Array> {
    if (this.closed) throw new UnavailableError("ensemble scorer is closed");
    const c = this.ensemble;
    if (this.threads === 1 || nRows * c.nTrees < PARALLEL_MIN_WORK || nRows < this.threads) {
      const out = new Float64Array(nRows);
      checkMatrix(c, x, nRows, out);
      scoreMargins(c, x, 0, nRows, out);
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
      const worker = this.workers[i];
      if (worker === undefined) break;
      jobs.push(worker.request({ f32: shared instanceof Float32Array, x: shared.buffer, out: outBuf, start, end }));
    }
    await Promise.all(jobs);
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    const ws = this.workers.splice(0);
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
