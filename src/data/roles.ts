import { IDENTIFIER_MIN_ROWS } from "./frame.js";
import type { Column, Frame } from "./frame.js";
import { specError } from "../spec-fields.js";

/** What the target column turned into: 0/1 labels (binary) or raw values (regression). */
export interface PreparedTarget {
  readonly task: "binary" | "regression";
  /** One label per row; binary targets are 0/1 with 1 = the positive class. */
  readonly y: Float64Array;
  /** The class that is 1 (binary only), as the data spells it. */
  readonly positiveClass?: string;
  readonly negativeClass?: string;
}

/** How columns were assigned: features, the row id (if any), the target, the rest left out. */
export interface ColumnRoles {
  readonly target: string;
  readonly features: readonly string[];
  readonly idColumn?: string;
  /** Left out, with the reason (`id-like`, `excluded`, `constant`). */
  readonly dropped: readonly { readonly name: string; readonly reason: string }[];
}

function requireColumn(frame: Frame, name: string, field: string): Column {
  const c = frame.columns.find((x) => x.name === name);
  if (!c) throw specError(field, name, `no such column; columns are ${frame.columns.map((x) => x.name).join(", ")}`);
  return c;
}

/**
 * Turns the target column into labels. A categorical target must have exactly two classes; the
 * positive one is `positive` when given, else the minority class (ties: the later one in sorted
 * order). A numeric target with only the values 0 and 1 is binary with 1 positive (`positive`
 * may say "0"); any other numeric target is a regression target. Rows with a null target are an
 * error: a label cannot be guessed.
 */
export function prepareTarget(frame: Frame, target: string, options: { positive?: string } = {}): PreparedTarget {
  const col = requireColumn(frame, target, "target");
  const n = frame.nRows;
  const y = new Float64Array(n);
  if (col.kind === "categorical") {
    const counts = new Float64Array(col.dictionary.length);
    for (let i = 0; i < n; i++) {
      const k = col.codes[i] as number;
      if (k < 0) throw specError("target", target, `row ${i} has no value; every training row needs a label`);
      counts[k] = (counts[k] as number) + 1;
    }
    const present = col.dictionary.filter((_, k) => (counts[k] as number) > 0);
    if (present.length !== 2) {
      throw specError(
        "target",
        target,
        `a string target needs exactly 2 classes, found ${present.length} (${present.slice(0, 5).join(", ")})`,
      );
    }
    let pos: number;
    if (options.positive !== undefined) {
      pos = col.dictionary.indexOf(options.positive);
      if (pos < 0 || counts[pos] === 0)
        throw specError("positive", options.positive, `must be one of the target's classes: ${present.join(", ")}`);
    } else {
      const a = col.dictionary.indexOf(present[0] as string);
      const b = col.dictionary.indexOf(present[1] as string);
      pos = (counts[a] as number) < (counts[b] as number) ? a : b;
    }
    for (let i = 0; i < n; i++) y[i] = col.codes[i] === pos ? 1 : 0;
    const positiveClass = col.dictionary[pos] as string;
    const negativeClass = present.find((c) => c !== positiveClass) as string;
    return { task: "binary", y, positiveClass, negativeClass };
  }
  let binary = true;
  for (let i = 0; i < n; i++) {
    const v = col.values[i] as number;
    if (v !== v) throw specError("target", target, `row ${i} has no value; every training row needs a label`);
    if (v !== 0 && v !== 1) binary = false;
    y[i] = v;
  }
  if (!binary) {
    if (options.positive !== undefined) {
      throw specError(
        "positive",
        options.positive,
        `only applies to a binary target; ${target} is numeric with values other than 0 and 1`,
      );
    }
    return { task: "regression", y };
  }
  if (options.positive !== undefined && options.positive !== "0" && options.positive !== "1") {
    throw specError("positive", options.positive, "a 0/1 target's positive class must be 0 or 1");
  }
  if (options.positive === "0") for (let i = 0; i < n; i++) y[i] = 1 - (y[i] as number);
  const positiveClass = options.positive ?? "1";
  return { task: "binary", y, positiveClass, negativeClass: positiveClass === "1" ? "0" : "1" };
}

const ID_NAME = /(^id$|_id$|^id_|Id$|ID$|_key$|^uuid$)/;

/**
 * Is this column an identifier rather than a feature? A string column with a distinct value in
 * every row is; so is a column named like an id (`id`, `*_id`, `*Id`, `*_key`, `uuid`) whose
 * non-null values are all distinct. Needs at least 20 rows to say so.
 */
export function isIdLike(col: Column, nRows: number): boolean {
  if (nRows < IDENTIFIER_MIN_ROWS) return false;
  if (col.kind === "categorical") {
    if (col.dictionary.length < nRows)
      return ID_NAME.test(col.name) && allDistinctCodes(col.codes, col.dictionary.length);
    return allDistinctCodes(col.codes, col.dictionary.length);
  }
  if (!ID_NAME.test(col.name)) return false;
  const seen = new Set<number>();
  for (let i = 0; i < nRows; i++) {
    const v = col.values[i] as number;
    if (v !== v) continue;
    if (seen.has(v)) return false;
    seen.add(v);
  }
  return seen.size > 0;
}

function allDistinctCodes(codes: Int32Array, size: number): boolean {
  const seen = new Uint8Array(size);
  let any = false;
  for (let i = 0; i < codes.length; i++) {
    const k = codes[i] as number;
    if (k < 0) continue;
    if (seen[k] === 1) return false;
    seen[k] = 1;
    any = true;
  }
  return any;
}

/**
 * Assigns columns: the target, the row id (`idColumn`, else the first id-like column), features
 * (everything else, minus `exclude`, other id-like columns and columns with a single value).
 */
export function assignRoles(
  frame: Frame,
  target: string,
  options: { idColumn?: string; exclude?: readonly string[] } = {},
): ColumnRoles {
  requireColumn(frame, target, "target");
  if (options.idColumn !== undefined) {
    requireColumn(frame, options.idColumn, "id-column");
    if (options.idColumn === target) throw specError("id-column", options.idColumn, "cannot be the target column");
  }
  const exclude = new Set(options.exclude ?? []);
  for (const e of exclude) {
    requireColumn(frame, e, "exclude");
    if (e === target) throw specError("exclude", e, "cannot exclude the target column");
  }
  let idColumn = options.idColumn;
  const features: string[] = [];
  const dropped: { name: string; reason: string }[] = [];
  for (const c of frame.columns) {
    if (c.name === target || c.name === options.idColumn) continue;
    if (exclude.has(c.name)) {
      dropped.push({ name: c.name, reason: "excluded" });
      continue;
    }
    if (isIdLike(c, frame.nRows)) {
      if (idColumn === undefined) idColumn = c.name;
      dropped.push({ name: c.name, reason: "id-like" });
      continue;
    }
    if (isConstant(c, frame.nRows)) {
      dropped.push({ name: c.name, reason: "constant" });
      continue;
    }
    features.push(c.name);
  }
  if (features.length === 0)
    throw specError("features", [], `no feature columns left after removing target ${target}, ids and exclusions`);
  return idColumn === undefined ? { target, features, dropped } : { target, features, idColumn, dropped };
}

function isConstant(c: Column, n: number): boolean {
  if (c.kind === "categorical") {
    const first = c.codes[0] as number;
    for (let i = 1; i < n; i++) if (c.codes[i] !== first) return false;
    return true;
  }
  const first = c.values[0] as number;
  const firstNaN = first !== first;
  for (let i = 1; i < n; i++) {
    const v = c.values[i] as number;
    if (v !== v ? !firstNaN : firstNaN || v !== first) return false;
  }
  return true;
}

/** A frame holding only the named columns, in that order. */
export function selectColumns(frame: Frame, names: readonly string[]): Frame {
  return { nRows: frame.nRows, columns: names.map((n) => requireColumn(frame, n, "column")) };
}

/** The rows at `idx`, in that order (typed-array gathers, dictionaries shared). */
export function takeRows(frame: Frame, idx: Int32Array | Uint32Array): Frame {
  const m = idx.length;
  const columns: Column[] = frame.columns.map((c) => {
    if (c.kind === "numeric") {
      const values = new Float64Array(m);
      for (let i = 0; i < m; i++) values[i] = c.values[idx[i] as number] as number;
      if (!c.valid) return { kind: "numeric", name: c.name, values };
      const valid = new Uint8Array(m);
      for (let i = 0; i < m; i++) valid[i] = c.valid[idx[i] as number] as number;
      return { kind: "numeric", name: c.name, values, valid };
    }
    const codes = new Int32Array(m);
    for (let i = 0; i < m; i++) codes[i] = c.codes[idx[i] as number] as number;
    if (!c.valid) return { kind: "categorical", name: c.name, codes, dictionary: c.dictionary };
    const valid = new Uint8Array(m);
    for (let i = 0; i < m; i++) valid[i] = c.valid[idx[i] as number] as number;
    return { kind: "categorical", name: c.name, codes, dictionary: c.dictionary, valid };
  });
  return { nRows: m, columns };
}
