import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rm, stat } from "node:fs/promises";
import { writeFileAtomic, isIdLike, readTable, tableFormat, writeTable } from "../data/index.js";
import path from "node:path";
import type { Column, Frame } from "../data/index.js";
import { InvalidParameterError, InvalidStateError, NotFoundError } from "../errors.js";
import { loadPredictor } from "./load-model.js";
import type { Predictor } from "./predictor.js";

/**
 * Batch scoring of a CSV/Parquet file with any supported model, in chunks, resumable.
 *
 * Progress lives next to the output in `<output>.parts/`: one `chunk-NNNNNN.f64` file of scores
 * per finished chunk (little-endian float64, written to a temporary name, fsynced, renamed) and a
 * `manifest.json` (same temp-fsync-rename discipline) recording the model's and the input's
 * sha256, the chunk size and the finished chunks. `resume` reuses every finished chunk of a job
 * whose manifest matches; the final output is written (temp then rename) only when all chunks are
 * done, and the parts folder is removed after.
 */
export interface BatchScoreOptions {
  readonly modelPath: string;
  /** Input names, in feature order, for a model file that carries none (an XGBoost legacy binary). */
  readonly featureNames?: readonly string[];
  readonly inputPath: string;
  readonly outputPath: string;
  /** Rows per chunk (default 100,000). */
  readonly chunkSize?: number;
  /** Continue an interrupted job instead of refusing to overwrite it. */
  readonly resume?: boolean;
  /** Row id column carried to the output (default: the first id-like column that is not a model input). */
  readonly idColumn?: string;
  /** Scoring threads (default 1). */
  readonly threads?: number;
  /** Called after each chunk with rows done so far (reused chunks included) and the total. */
  readonly onProgress?: (rowsDone: number, rowsTotal: number) => void;
  /** Stops the job after the chunk in progress; finished chunks stay for `resume`. */
  readonly signal?: AbortSignal;
}

export interface BatchScoreResult {
  readonly status: "completed" | "interrupted";
  readonly rows: number;
  readonly chunks: number;
  readonly chunksScored: number;
  readonly chunksReused: number;
  readonly idColumn: string | null;
  readonly model: { readonly format: string; readonly task: string; readonly sha256: string };
  readonly output: string;
}

const MANIFEST_VERSION = 1;

interface Manifest {
  readonly version: number;
  readonly modelSha256: string;
  readonly inputSha256: string;
  readonly chunkSize: number;
  readonly nRows: number;
  readonly completed: number[];
}

async function sha256File(file: string, field: string): Promise<string> {
  const h = createHash("sha256");
  try {
    for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  } catch (e) {
    throw new NotFoundError(`--${field} ${file} cannot be read (${(e as Error).message})`, {
      cause: e,
      details: { field, value: file },
    });
  }
  return h.digest("hex");
}

function chunkFile(dir: string, k: number): string {
  return path.join(dir, `chunk-${String(k).padStart(6, "0")}.f64`);
}

/** Rows [start, end) of a frame as views (no copy). */
export function sliceRows(frame: Frame, start: number, end: number): Frame {
  const columns: Column[] = frame.columns.map((c) => {
    const valid = c.valid === undefined ? {} : { valid: c.valid.subarray(start, end) };
    return c.kind === "numeric"
      ? { kind: "numeric", name: c.name, values: c.values.subarray(start, end), ...valid }
      : { kind: "categorical", name: c.name, codes: c.codes.subarray(start, end), dictionary: c.dictionary, ...valid };
  });
  return { nRows: end - start, columns };
}

/** The row id column to carry to an output: the one requested, or the first id-like column that is not a model input. */
export function pickIdColumn(
  frame: Frame,
  predictor: Pick<Predictor, "signature">,
  requested: string | undefined,
): Column | undefined {
  if (requested !== undefined) {
    const col = frame.columns.find((c) => c.name === requested);
    if (col === undefined) {
      throw new InvalidParameterError(`--id-column "${requested}": no such column in the input`, {
        details: { field: "id-column", value: requested, rule: "must name an input column" },
      });
    }
    return col;
  }
  const inputs = new Set(predictor.signature.inputs.map((c) => c.name));
  return frame.columns.find((c) => !inputs.has(c.name) && isIdLike(c, frame.nRows));
}

async function readManifest(file: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as Manifest;
  } catch (e) {
    throw new InvalidStateError(`batch manifest ${file} is not valid JSON; delete its folder to start over`, {
      cause: e,
      details: { field: "manifest", value: file, rule: "valid JSON" },
    });
  }
}

export async function batchScore(opts: BatchScoreOptions): Promise<BatchScoreResult> {
  const chunkSize = opts.chunkSize ?? 100_000;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new InvalidParameterError(`--chunk-size = ${chunkSize}: must be an integer ≥ 1`, {
      details: { field: "chunk-size", value: chunkSize, rule: "integer >= 1" },
    });
  }
  // Validates the output extension before any work is done.
  tableFormat(opts.outputPath);
  const partsDir = `${opts.outputPath}.parts`;
  const manifestPath = path.join(partsDir, "manifest.json");
  const [modelSha256, inputSha256] = await Promise.all([
    sha256File(opts.modelPath, "model"),
    sha256File(opts.inputPath, "input"),
  ]);
  const frame = await readTable(opts.inputPath);
  const nRows = frame.nRows;
  const nChunks = Math.ceil(nRows / chunkSize);

  const existing = await readManifest(manifestPath);
  const done = new Set<number>();
  if (existing !== undefined) {
    if (opts.resume !== true) {
      throw new InvalidStateError(
        `an interrupted job for ${opts.outputPath} exists (${partsDir}); pass --resume to continue it or delete that folder`,
        { details: { field: "output", value: opts.outputPath, rule: "resume or remove the unfinished job" } },
      );
    }
    const mismatch =
      existing.version !== MANIFEST_VERSION
        ? ["manifest version", existing.version, MANIFEST_VERSION]
        : existing.modelSha256 !== modelSha256
          ? ["model sha256", existing.modelSha256, modelSha256]
          : existing.inputSha256 !== inputSha256
            ? ["input sha256", existing.inputSha256, inputSha256]
            : existing.chunkSize !== chunkSize
              ? ["chunk size", existing.chunkSize, chunkSize]
              : undefined;
    if (mismatch !== undefined) {
      throw new InvalidStateError(
        `cannot resume ${opts.outputPath}: ${String(mismatch[0])} was ${String(mismatch[1])}, now ${String(mismatch[2])}; delete ${partsDir} to start over`,
        { details: { field: String(mismatch[0]), value: mismatch[2], rule: "must match the interrupted job" } },
      );
    }
    for (const k of existing.completed) {
      const rows = Math.min(chunkSize, nRows - k * chunkSize);
      // A chunk counts only if its file is whole; anything else is scored again.
      const st = await stat(chunkFile(partsDir, k)).catch(() => undefined);
      if (st !== undefined && st.size === rows * 8) done.add(k);
    }
  }
  await mkdir(partsDir, { recursive: true });

  const predictor = await loadPredictor(opts.modelPath, {
    ...(opts.threads === undefined ? {} : { threads: opts.threads }),
    ...(opts.featureNames === undefined ? {} : { featureNames: opts.featureNames }),
  });
  let chunksScored = 0;
  const chunksReused = done.size;
  let idCol: Column | undefined;
  try {
    idCol = pickIdColumn(frame, predictor, opts.idColumn);
    if (idCol?.name === "score") {
      throw new InvalidParameterError('id column "score": the output adds a column named score; rename the id column', {
        details: { field: "id-column", value: "score", rule: "must differ from the score column" },
      });
    }
    const writeManifest = (): Promise<void> =>
      writeFileAtomic(
        manifestPath,
        JSON.stringify({
          version: MANIFEST_VERSION,
          modelSha256,
          inputSha256,
          chunkSize,
          nRows,
          completed: [...done].sort((a, b) => a - b),
        } satisfies Manifest),
      );
    await writeManifest();
    const rowsDone = (): number => [...done].reduce((s, k) => s + Math.min(chunkSize, nRows - k * chunkSize), 0);
    opts.onProgress?.(rowsDone(), nRows);
    for (let k = 0; k < nChunks; k++) {
      if (done.has(k)) continue;
      if (opts.signal?.aborted === true) {
        return {
          status: "interrupted",
          rows: nRows,
          chunks: nChunks,
          chunksScored,
          chunksReused,
          idColumn: idCol?.name ?? null,
          model: { format: predictor.format, task: predictor.task, sha256: modelSha256 },
          output: opts.outputPath,
        };
      }
      const start = k * chunkSize;
      const end = Math.min(nRows, start + chunkSize);
      const scores = await predictor.predict(sliceRows(frame, start, end));
      const bytes = new Uint8Array(scores.buffer, scores.byteOffset, scores.byteLength);
      await writeFileAtomic(chunkFile(partsDir, k), bytes);
      done.add(k);
      chunksScored++;
      await writeManifest();
      opts.onProgress?.(rowsDone(), nRows);
    }
  } finally {
    await predictor.close();
  }

  const all = new Float64Array(nRows);
  for (let k = 0; k < nChunks; k++) {
    const buf = await readFile(chunkFile(partsDir, k));
    const start = k * chunkSize;
    const rows = Math.min(chunkSize, nRows - start);
    if (buf.byteLength !== rows * 8) {
      throw new InvalidStateError(
        `chunk file ${chunkFile(partsDir, k)} has ${buf.byteLength} bytes, expected ${rows * 8}`,
      );
    }
    all.set(new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)), start);
  }
  const columns: Column[] = [];
  if (idCol !== undefined) columns.push(idCol);
  columns.push({ kind: "numeric", name: "score", values: all });
  await writeTable({ nRows, columns }, opts.outputPath);
  await rm(partsDir, { recursive: true, force: true });
  return {
    status: "completed",
    rows: nRows,
    chunks: nChunks,
    chunksScored,
    chunksReused,
    idColumn: idCol?.name ?? null,
    model: { format: predictor.format, task: predictor.task, sha256: modelSha256 },
    output: opts.outputPath,
  };
}
