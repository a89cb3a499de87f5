import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { frameOfParts, parseCsvPart, plainCsvPath, readPlainCsv } from "./csv-reader.js";
import type { CsvPart, PartOutcome } from "./csv-reader.js";
import type { Frame } from "./frame.js";
import { sortEachColumn } from "./sort.js";
import { unpackFrame, unpackPart } from "./thread-transfer.js";
import type { PackedFrame, PackedPart } from "./thread-transfer.js";

/** Below this size a second thread costs more than it saves. */
const PARALLEL_MIN_BYTES = 4 << 20;
/** Above this size the halves' arrays and their concatenation (twice the Frame) cost too much memory. */
const PARALLEL_MAX_BYTES = 256 << 20;

/** Parses one byte range of a file; the default runs it on a worker thread. */
export type PartRunner = (path: string, range: { start: number; end: number }) => Promise<PartOutcome>;

/** How readPlainCsvOnWorker reads a file: sorted (sortEachColumn) and without identifiers (see readPlainCsv). */
export interface WholeFileOptions {
  readonly sorted?: boolean;
  readonly skipIdentifiers?: boolean;
}

/** Runs readPlainCsv on a whole file on a worker thread, then sortEachColumn when `sorted`. */
export type FileRunner = (path: string, options: WholeFileOptions) => Promise<Frame | undefined>;

// Loads the reader, then takes one job: a part (range given) or a whole file's Frame, posted back
// packed (see thread-transfer.ts).
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const loaded = Promise.all([import(workerData.url), import(workerData.sortUrl), import(workerData.transferUrl)]);
parentPort.once("message", (job) => loaded.then(([{ parseCsvPart, readPlainCsv }, { sortEachColumn }, { packFrame, packPart }]) => {
  if (job.range === undefined) {
    const read = readPlainCsv(job.path, { skipIdentifiers: job.skipIdentifiers });
    const frame = read && job.sorted ? sortEachColumn(read) : read;
    const { packed, transfer } = frame ? packFrame(frame) : { packed: undefined, transfer: [] };
    parentPort.postMessage(packed, transfer);
    return;
  }
  const { packed, transfer } = packPart(parseCsvPart(job.path, job.range, []));
  parentPort.postMessage(packed, transfer);
}));
`;

/**
 * The compiled module can be imported by a worker; under a TypeScript loader (tests) it cannot,
 * and the file is read on this thread.
 */
const workerUrl = import.meta.url.endsWith(".js") ? new URL("./csv-reader.js", import.meta.url).href : undefined;
const sortUrl = new URL("./sort.js", import.meta.url).href;
const transferUrl = new URL("./thread-transfer.js", import.meta.url).href;

/** A worker started ahead of its job (see warmCsvWorker), until a job takes it. */
let warmWorker: Worker | undefined;

function startWorker(): Worker {
  return new Worker(WORKER_SOURCE, { eval: true, workerData: { url: workerUrl, sortUrl, transferUrl } });
}

/**
 * For a caller about to read `paths`: when one is a `.csv` large enough to be read on a worker,
 * starts the worker thread that read will take, so that its start-up (~50 ms) overlaps the
 * caller's own work instead of delaying the read. It does not keep the process alive, and a
 * worker that fails before a job takes it is dropped (the read then starts another).
 */
export function warmCsvWorker(paths: readonly string[]): void {
  if (warmWorker !== undefined || workerUrl === undefined) return;
  const worthIt = (p: string) => plainCsvPath(p) && existsSync(p) && worthAThread(statSync(p).size);
  if (!paths.some(worthIt)) return;
  const worker = startWorker();
  worker.unref();
  worker.once("error", () => {
    if (warmWorker === worker) warmWorker = undefined;
  });
  warmWorker = worker;
}

function inWorker<T>(
  path: string,
  range: { start: number; end: number } | undefined,
  options: WholeFileOptions = {},
): Promise<T> {
  return new Promise((resolve, reject) => {
    const worker = warmWorker ?? startWorker();
    warmWorker = undefined;
    worker.ref();
    worker.once("message", (result: T) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once("error", reject);
    worker.postMessage({ path, range, ...options });
  });
}

const partInWorker: PartRunner = (path, range) => inWorker<PackedPart>(path, range).then(unpackPart);
const fileInWorker: FileRunner = (path, options) =>
  inWorker<PackedFrame | undefined>(path, undefined, options).then((f) => f && unpackFrame(f));

/** The offset just past the first line end at or after `from`, or undefined. */
function lineStartAfter(path: string, from: number): number | undefined {
  const fd = openSync(path, "r");
  try {
    const buf = new Uint8Array(1 << 16);
    for (let at = from; ; at += buf.length) {
      const got = readSync(fd, buf, 0, buf.length, at);
      if (got === 0) return undefined;
      const i = buf.subarray(0, got).indexOf(10);
      if (i >= 0) return at + i + 1;
    }
  } finally {
    closeSync(fd);
  }
}

/** Whether a second thread pays for itself on this file and this machine. */
function worthAThread(size: number): boolean {
  return size >= PARALLEL_MIN_BYTES && availableParallelism() > 1;
}

/**
 * readPlainCsv of the whole file on a worker thread, leaving this thread free meanwhile (to read
 * another file): one thread per file, no halves to concatenate, so any size may go. With `sorted`,
 * the worker also sorts each numeric column (sortEachColumn). A small file, a single core or a
 * worker that fails reads on this thread.
 */
export async function readPlainCsvOnWorker(
  path: string,
  options: WholeFileOptions = {},
  runFile: FileRunner | undefined = workerUrl === undefined ? undefined : fileInWorker,
): Promise<Frame | undefined> {
  const here = (): Frame | undefined => {
    const frame = readPlainCsv(path, options);
    return frame && options.sorted === true ? sortEachColumn(frame) : frame;
  };
  if (runFile === undefined || !worthAThread(statSync(path).size)) return here();
  return runFile(path, options).catch(here);
}

/**
 * readPlainCsv with the file's second half parsed on a worker thread while this one parses the
 * first. The halves meet at a line end; the first half's parse, which knows the quoting from the
 * file's start, fails when that line end was inside a quoted field, and anything short of two clean
 * halves reads the whole file on this thread instead, so the Frame is always readPlainCsv's.
 */
export async function readPlainCsvInParallel(
  path: string,
  runPart: PartRunner | undefined = workerUrl === undefined ? undefined : partInWorker,
): Promise<Frame | undefined> {
  const size = statSync(path).size;
  const split = worthAThread(size) && size <= PARALLEL_MAX_BYTES ? lineStartAfter(path, size >> 1) : undefined;
  if (runPart === undefined || split === undefined || split >= size) return readPlainCsv(path);
  const second = runPart(path, { start: split, end: size });
  const first = parseCsvPart(path, { start: 0, end: split }, []);
  const parts = [first, await second.catch(() => undefined)];
  if (parts.every((p): p is CsvPart => p !== undefined && "columns" in p)) {
    const outcome = frameOfParts(parts);
    if (outcome !== undefined && "frame" in outcome) return outcome.frame;
  }
  return readPlainCsv(path);
}
