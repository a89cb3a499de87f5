/**
 * Train / validation splits for pipelines: seeded random (optionally stratified by the label) or
 * time-based, where every training row is strictly earlier than every validation row.
 */
import type { Frame } from "../data/index.js";
import { mulberry32 } from "../data/index.js";
import { sampleIndices, trainValidSplit } from "../learn/index.js";
import type { SplitSpec } from "./definition.js";
import { specError } from "../spec-fields.js";

export interface Split {
  /** Row indices, ascending. */
  readonly train: Int32Array;
  readonly valid: Int32Array;
  /** Time splits: the boundary (rows before it train) and the latest training / earliest validation time. */
  readonly time?: { readonly cutoff: number; readonly trainMax: number; readonly validMin: number };
}

/** Per row, its time as a number: the numeric value, or epoch milliseconds of an ISO-8601 string. */
export function rowTimes(frame: Frame, column: string, field = "split.column"): Float64Array {
  const col = frame.columns.find((c) => c.name === column);
  if (col === undefined)
    throw specError(field, column, `no such column; columns are ${frame.columns.map((c) => c.name).join(", ")}`);
  const out = new Float64Array(frame.nRows);
  if (col.kind === "numeric") {
    for (let i = 0; i < frame.nRows; i++) {
      const v = col.values[i] as number;
      if (v !== v) throw specError(`${field} ${column} row ${i}`, null, "needs a time on every row");
      out[i] = v;
    }
    return out;
  }
  const parsed = col.dictionary.map((s) => Date.parse(s));
  for (let i = 0; i < frame.nRows; i++) {
    const k = col.codes[i] as number;
    if (k < 0) throw specError(`${field} ${column} row ${i}`, null, "needs a time on every row");
    const t = parsed[k] as number;
    if (Number.isNaN(t))
      throw specError(`${field} ${column} row ${i}`, col.dictionary[k], "must be a number or an ISO-8601 date/time");
    out[i] = t;
  }
  return out;
}

function timeSplit(frame: Frame, spec: Extract<SplitSpec, { kind: "time" }>): Split {
  const times = rowTimes(frame, spec.column);
  const n = frame.nRows;
  let cutoff: number;
  if (spec.cutoff !== undefined) {
    const col = frame.columns.find((c) => c.name === spec.column);
    if (typeof spec.cutoff === "string") {
      cutoff = col?.kind === "numeric" ? Number(spec.cutoff) : Date.parse(spec.cutoff);
      if (Number.isNaN(cutoff))
        throw specError("split.cutoff", spec.cutoff, "must be a number or an ISO-8601 date/time");
    } else {
      if (col?.kind !== "numeric")
        throw specError("split.cutoff", spec.cutoff, `column ${spec.column} holds dates; give the cutoff as a date`);
      cutoff = spec.cutoff;
    }
  } else {
    const sorted = Float64Array.from(times).sort();
    // The earliest time of the latest `validFraction` share; ties at the boundary all validate.
    cutoff = sorted[Math.min(n - 1, Math.max(0, n - Math.round(n * (spec.validFraction ?? 0.2))))] as number;
  }
  let nTrain = 0;
  for (let i = 0; i < n; i++) if ((times[i] as number) < cutoff) nTrain++;
  const train = new Int32Array(nTrain);
  const valid = new Int32Array(n - nTrain);
  let a = 0;
  let b = 0;
  let trainMax = -Infinity;
  let validMin = Infinity;
  for (let i = 0; i < n; i++) {
    const t = times[i] as number;
    if (t < cutoff) {
      train[a++] = i;
      if (t > trainMax) trainMax = t;
    } else {
      valid[b++] = i;
      if (t < validMin) validMin = t;
    }
  }
  if (train.length < 2 || valid.length < 2) {
    throw specError(
      "split",
      { column: spec.column, cutoff },
      `leaves ${train.length} training and ${valid.length} validation rows; each part needs at least 2`,
    );
  }
  return { train, valid, time: { cutoff, trainMax, validMin } };
}

function stratifiedSplit(labels: Float64Array, fraction: number, seed: number): Split {
  const random = mulberry32(seed);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i] as number;
    let rows = byClass.get(y);
    if (rows === undefined) byClass.set(y, (rows = []));
    rows.push(i);
  }
  const isValid = new Uint8Array(labels.length);
  for (const y of [...byClass.keys()].sort((p, q) => p - q)) {
    const rows = byClass.get(y) as number[];
    const picked = sampleIndices(rows.length, Math.round(rows.length * fraction), random);
    for (let j = 0; j < picked.length; j++) isValid[rows[picked[j] as number] as number] = 1;
  }
  let nValid = 0;
  for (let i = 0; i < isValid.length; i++) nValid += isValid[i] as number;
  const train = new Int32Array(labels.length - nValid);
  const valid = new Int32Array(nValid);
  let a = 0;
  let b = 0;
  for (let i = 0; i < isValid.length; i++) {
    if (isValid[i] === 1) valid[b++] = i;
    else train[a++] = i;
  }
  return { train, valid };
}

/** Splits `frame` as `spec` says; `labels` (one per row) are needed for a stratified split. */
export function splitRows(frame: Frame, spec: SplitSpec, labels: Float64Array): Split {
  if (spec.kind === "time") return timeSplit(frame, spec);
  const split = spec.stratify
    ? stratifiedSplit(labels, spec.validFraction, spec.seed)
    : trainValidSplit(frame.nRows, spec.validFraction, spec.seed);
  if (split.train.length < 2 || split.valid.length < 2) {
    throw specError(
      "split.validFraction",
      spec.validFraction,
      `leaves ${split.train.length} training and ${split.valid.length} validation rows of ${frame.nRows}; each part needs at least 2`,
    );
  }
  return split;
}
