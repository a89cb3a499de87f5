import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { extname } from "node:path";
import { ByteDictionary, hashStep, mightBeTyped } from "./byte-dictionary.js";
import { categoricalColumn, numericColumn } from "./columns.js";
import { IDENTIFIER_MIN_ROWS } from "./frame.js";
import type { Column, Frame } from "./frame.js";

/** Whether readPlainCsv may take the file: a `.csv` (a `.tsv` always goes to DuckDB). */
export function plainCsvPath(path: string): boolean {
  return extname(path).toLowerCase() === ".csv";
}

/**
 * A CSV reader for the plain files most tables are: comma-separated, a header row, `"`-quoted
 * fields. It parses bytes straight into typed arrays (numbers as Float64, strings as dictionary
 * codes, hashed on their bytes so a repeated value never becomes a JavaScript string again) and
 * gives the Frame DuckDB's `read_csv` would give. Whatever it cannot be sure DuckDB's sniffer would
 * read the same way — another delimiter, a header that could be data, padded or leading-zero
 * numbers, dates, ragged rows, `'` quotes, backslash escapes — makes it return undefined and the
 * caller reads the file through DuckDB. Exactness: a number is parsed with Clinger's fast path
 * (≤ 15 digits, |exponent| ≤ 22, one correctly rounded operation) else by `Number`, both
 * correctly rounded as DuckDB's parser is.
 */
export function readPlainCsv(path: string, options: { readonly skipIdentifiers?: boolean } = {}): Frame | undefined {
  let stringColumns: number[] = [];
  // A column first read as numbers that turns out to hold text is read again from the start.
  for (;;) {
    const part = parseCsvPart(path, undefined, stringColumns, options.skipIdentifiers === true);
    const outcome = part === undefined || "restartAsString" in part ? part : frameOfParts([part]);
    if (outcome === undefined || "frame" in outcome) return outcome?.frame;
    stringColumns = [...stringColumns, outcome.restartAsString];
  }
}

/** The columns of one byte range of a CSV file as parsed, before they become a Frame. */
export interface CsvPart {
  readonly names: string[];
  readonly nRows: number;
  readonly columns: PartColumn[];
  /** Text columns left out as identifiers (see parseCsvPart). */
  readonly identifiers?: string[];
}

export interface PartColumn {
  /** "empty" while no value was seen; DuckDB types an all-empty column as text. */
  readonly kind: "empty" | "number" | "string";
  /** Numbers (NaN for empty) unless kind is "string"; may be longer than nRows. */
  readonly values: Float64Array;
  /** Codes into `strings` (-1 for empty) when kind is "string"; may be longer than nRows. */
  readonly codes: Int32Array;
  readonly strings: string[];
  /** A value had a fraction or exponent: DuckDB reads the column as DOUBLE (else BIGINT, where -0 is 0). */
  readonly double: boolean;
  readonly negativeZero: boolean;
  /** Some value is text DuckDB could not read as a number, date or timestamp. */
  readonly sawText: boolean;
}

export type PartOutcome = CsvPart | { readonly restartAsString: number } | undefined;

/**
 * Parses the records in bytes [range.start, range.end) of the file (the whole file when range is
 * undefined; a range must begin at a record) with `stringColumns` read as text from the start.
 * `skipIdentifiers` (whole files only): a text column holding a distinct value in every one of at
 * least IDENTIFIER_MIN_ROWS rows is left out and named in `identifiers`.
 */
export function parseCsvPart(
  path: string,
  range: { readonly start: number; readonly end: number } | undefined,
  stringColumns: readonly number[],
  skipIdentifiers = false,
): PartOutcome {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const outcome = parseFile(fd, range?.start ?? 0, range?.end ?? size, new Set(stringColumns));
    if (outcome === undefined || "restartAsString" in outcome) return outcome;
    const names: string[] = [];
    const columns: PartColumn[] = [];
    const identifiers: string[] = [];
    for (const [k, c] of outcome.cols.entries()) {
      const name = outcome.names[k] as string;
      // A whole file's text column of one distinct value per row: its values never become strings.
      const distinct = (c.dict as ByteDictionary).distinct;
      if (
        skipIdentifiers &&
        range === undefined &&
        c.kind === "string" &&
        distinct === outcome.nRows &&
        distinct >= IDENTIFIER_MIN_ROWS
      ) {
        identifiers.push(name);
        continue;
      }
      const dict = (c.dict as ByteDictionary).finish();
      // Bytes that are not UTF-8: DuckDB decides what to make of them.
      if (dict === undefined) return undefined;
      const { kind, values, codes, double, negativeZero } = c;
      names.push(name);
      columns.push({ kind, values, codes, strings: dict.strings, double, negativeZero, sawText: dict.sawText });
    }
    return { names, nRows: outcome.nRows, columns, ...(identifiers.length > 0 ? { identifiers } : {}) };
  } finally {
    closeSync(fd);
  }
}

const BLOCK = 8 << 20;
const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;

/** The fields splitRecord found: byte ranges (quotes excluded) and whether each was quoted. */
let fieldStarts = new Int32Array(256);
let fieldEnds = new Int32Array(256);
let fieldQuoted = new Uint8Array(256);
let fieldCount = 0;

function pushField(start: number, end: number, quoted: boolean): void {
  if (fieldCount === fieldStarts.length) {
    const n = fieldCount * 2;
    const starts = new Int32Array(n);
    const ends = new Int32Array(n);
    const quotedFlags = new Uint8Array(n);
    starts.set(fieldStarts);
    ends.set(fieldEnds);
    quotedFlags.set(fieldQuoted);
    fieldStarts = starts;
    fieldEnds = ends;
    fieldQuoted = quotedFlags;
  }
  fieldStarts[fieldCount] = start;
  fieldEnds[fieldCount] = end;
  fieldQuoted[fieldCount] = quoted ? 1 : 0;
  fieldCount++;
}

/** Parsing state of one column. */
interface ColumnState {
  /** "empty" until a non-empty value is seen; DuckDB types an all-empty column as text. */
  kind: "empty" | "number" | "string";
  values: Float64Array;
  codes: Int32Array;
  dict: ByteDictionary | undefined;
  /** A value had a fraction or exponent: DuckDB reads the column as DOUBLE (else BIGINT, where -0 is 0). */
  double: boolean;
  negativeZero: boolean;
}

type Outcome = { frame: Frame } | { restartAsString: number } | undefined;
type FileOutcome = { names: string[]; cols: ColumnState[]; nRows: number } | { restartAsString: number } | undefined;

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
/** Set by parseNumber: the text had a fraction or exponent. */
let lastWasDouble = false;

/**
 * The number in buf[start, end) written as DuckDB types it BIGINT or DOUBLE without any doubt
 * (`-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`), or undefined.
 */
function parseNumber(buf: Buffer, start: number, end: number): number | undefined {
  let i = start;
  const negative = buf[i] === 45;
  if (negative) i++;
  const intStart = i;
  let mantissa = 0;
  let digits = 0;
  while (i < end && (buf[i] as number) >= 48 && (buf[i] as number) <= 57) {
    mantissa = mantissa * 10 + ((buf[i] as number) - 48);
    i++;
  }
  digits = i - intStart;
  if (digits === 0 || (digits > 1 && buf[intStart] === 48)) return undefined;
  let exponent = 0;
  lastWasDouble = false;
  if (i < end && buf[i] === 46) {
    i++;
    const fracStart = i;
    while (i < end && (buf[i] as number) >= 48 && (buf[i] as number) <= 57) {
      mantissa = mantissa * 10 + ((buf[i] as number) - 48);
      i++;
    }
    if (i === fracStart) return undefined;
    digits += i - fracStart;
    exponent = fracStart - i;
    lastWasDouble = true;
  }
  if (i < end && (buf[i] === 101 || buf[i] === 69)) {
    i++;
    let expNegative = false;
    if (buf[i] === 43 || buf[i] === 45) expNegative = buf[i++] === 45;
    const expStart = i;
    let e = 0;
    while (i < end && (buf[i] as number) >= 48 && (buf[i] as number) <= 57 && e < 100000) {
      e = e * 10 + ((buf[i] as number) - 48);
      i++;
    }
    if (i === expStart) return undefined;
    exponent += expNegative ? -e : e;
    lastWasDouble = true;
  }
  if (i !== end) return undefined;
  let value: number;
  if (digits <= 15 && exponent >= -22 && exponent <= 22) {
    value = exponent >= 0 ? mantissa * (POW10[exponent] as number) : mantissa / (POW10[-exponent] as number);
  } else {
    // The sign is part of the text here.
    value = Number(buf.toString("latin1", start, end));
    // Beyond BIGINT's range DuckDB falls back to DOUBLE.
    if (!lastWasDouble && (value > 2 ** 63 || value < -(2 ** 63))) lastWasDouble = true;
    return value;
  }
  return negative ? -value : value;
}

function newState(capacity: number, asString: boolean): ColumnState {
  return {
    kind: asString ? "string" : "empty",
    // Only the array of the column's kind is allocated: a wide numeric table pays for no codes.
    values: new Float64Array(asString ? 0 : capacity),
    codes: new Int32Array(asString ? capacity : 0),
    dict: new ByteDictionary(),
    double: false,
    negativeZero: false,
  };
}

function grow(cols: ColumnState[], capacity: number): void {
  for (const c of cols) {
    if (c.kind !== "string") {
      const v = new Float64Array(capacity);
      v.set(c.values);
      c.values = v;
    } else {
      const k = new Int32Array(capacity);
      k.set(c.codes);
      c.codes = k;
    }
  }
}

/**
 * One pass over the file. Fields are found byte by byte; a record may straddle two blocks, so
 * each block is parsed up to its last complete line and the rest moves to the next block's front.
 */
function parseFile(fd: number, start: number, end: number, stringColumns: ReadonlySet<number>): FileOutcome {
  // A Buffer decodes a field to a string without a view object per field.
  let buf = Buffer.allocUnsafe(Math.min(BLOCK, end + 1));
  let filled = 0;
  let pos = 0;
  let names: string[] | undefined;
  let cols: ColumnState[] = [];
  let textFields = new Int32Array(0);
  let nRows = 0;
  let capacity = 0;
  let fileOffset = 0;
  let dataStart = 0;
  blocks: for (;;) {
    if (pos > 0) {
      buf.copyWithin(0, pos, filled);
      filled -= pos;
      pos = 0;
    }
    if (filled === buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    const got = readSync(fd, buf, filled, Math.max(0, Math.min(buf.length - filled, end - fileOffset)), fileOffset);
    fileOffset += got;
    filled += got;
    const atEnd = got === 0 || fileOffset >= end;
    if (names === undefined && fileOffset - got === 0 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
    for (;;) {
      if (names !== undefined) {
        if (nRows === capacity) {
          // Sized once from the bytes per row so far (5 % spare), then by half again if short.
          const consumed = fileOffset - (filled - pos) - dataStart;
          capacity = Math.max(Math.ceil(capacity * 1.5), Math.ceil(((end - dataStart) / consumed) * nRows * 1.05));
          grow(cols, capacity);
        }
        const fast = plainRecord(cols, buf, pos, filled, nRows, textFields);
        if (fast >= 0) {
          nRows++;
          pos = fast;
          continue;
        }
      }
      const next = splitRecord(buf, pos, filled, atEnd);
      if (next === -1) break;
      if (next === -2) return undefined;
      if (names === undefined) {
        names = headerNames(buf);
        if (names === undefined) return undefined;
        capacity = 4096;
        cols = names.map((_, c) => newState(capacity, stringColumns.has(c)));
        textFields = new Int32Array(4 * cols.length);
        dataStart = next;
        if (start > 0) {
          // A later part: the header gives the names, the records begin at `start`.
          if (start < next) return undefined;
          dataStart = fileOffset = start;
          filled = pos = 0;
          continue blocks;
        }
      } else {
        if (fieldCount !== cols.length) return undefined;
        for (let c = 0; c < cols.length; c++) {
          const r = storeField(
            cols[c] as ColumnState,
            buf,
            fieldStarts[c] as number,
            fieldEnds[c] as number,
            fieldQuoted[c] === 1,
            nRows,
          );
          if (r === "restart") return { restartAsString: c };
          if (r === "unsure") return undefined;
        }
        nRows++;
      }
      pos = next;
    }
    if (atEnd) break;
  }
  if (names === undefined) return undefined;
  return { names, cols, nRows };
}

/**
 * The common record in one pass: every column already typed, each field a plain number
 * (`-?digits(.digits)?`, at most 15 digits) or unquoted non-empty text, ended by a comma or, for
 * the last, a line end. Numbers are stored as parseNumber would store them; the text fields are
 * coded only once the whole record has matched. Returns where the next record begins, or -1 for
 * anything else (splitRecord and storeField then take the record, with the same result).
 */
function plainRecord(
  cols: ColumnState[],
  buf: Buffer,
  pos: number,
  filled: number,
  row: number,
  textFields: Int32Array,
): number {
  let i = pos;
  let nText = 0;
  const last = cols.length - 1;
  for (let c = 0; c <= last; c++) {
    const col = cols[c] as ColumnState;
    const start = i;
    if (col.kind === "number") {
      const negative = buf[i] === 45;
      if (negative) i++;
      const intStart = i;
      let mantissa = 0;
      let b = 0;
      while (i < filled && (b = buf[i] as number) >= 48 && b <= 57) {
        mantissa = mantissa * 10 + (b - 48);
        i++;
      }
      let digits = i - intStart;
      if (digits === 0 || (digits > 1 && buf[intStart] === 48)) return -1;
      let fraction = 0;
      if (i < filled && buf[i] === 46) {
        const fracStart = ++i;
        while (i < filled && (b = buf[i] as number) >= 48 && b <= 57) {
          mantissa = mantissa * 10 + (b - 48);
          i++;
        }
        fraction = i - fracStart;
        if (fraction === 0) return -1;
        digits += fraction;
      }
      if (digits > 15) return -1;
      const value = fraction === 0 ? mantissa : mantissa / (POW10[fraction] as number);
      col.values[row] = negative ? -value : value;
      if (fraction > 0) col.double = true;
      else if (negative && mantissa === 0) col.negativeZero = true;
    } else if (col.kind === "string") {
      if (buf[i] === 39) return -1;
      let b = 0;
      let hash = 0;
      while (i < filled && (b = buf[i] as number) !== COMMA && b !== LF && b !== CR && b !== QUOTE) {
        hash = hashStep(hash, b);
        i++;
      }
      if (i === start) return -1;
      textFields[nText++] = c;
      textFields[nText++] = start;
      textFields[nText++] = i;
      textFields[nText++] = hash;
    } else return -1;
    if (i >= filled) return -1;
    const end = buf[i] as number;
    if (c < last) {
      if (end !== COMMA) return -1;
      i++;
    } else if (end === LF) i++;
    else if (end === CR && i + 1 < filled && buf[i + 1] === LF) i += 2;
    else return -1;
  }
  for (let k = 0; k < nText; k += 4) {
    const col = cols[textFields[k] as number] as ColumnState;
    const dict = col.dict as ByteDictionary;
    col.codes[row] = dict.codeHashed(
      buf,
      textFields[k + 1] as number,
      textFields[k + 2] as number,
      textFields[k + 3] as number,
    );
  }
  return i;
}

/**
 * Finds the fields of the record at buf[pos..] (into fieldStarts, fieldEnds, fieldQuoted) and
 * returns where the next record begins, -1 when the record is not complete in the buffer, -2 for
 * what this reader does not handle.
 */
function splitRecord(buf: Buffer, pos: number, filled: number, atEnd: boolean): number {
  fieldCount = 0;
  if (pos >= filled) return -1;
  let i = pos;
  for (;;) {
    if (buf[i] === QUOTE) {
      const s = ++i;
      for (;;) {
        if (i >= filled) return atEnd ? -2 : -1;
        const b = buf[i] as number;
        if (b === QUOTE) {
          if (i + 1 >= filled && !atEnd) return -1;
          if (buf[i + 1] === QUOTE) {
            i += 2;
            continue;
          }
          break;
        }
        if (b === 92) return -2;
        i++;
      }
      pushField(s, i, true);
      i++;
    } else {
      const s = i;
      while (i < filled) {
        const b = buf[i] as number;
        if (b === COMMA || b === LF || b === CR) break;
        if (b === QUOTE || (b === 39 && i === s)) return -2;
        i++;
      }
      if (i >= filled && !atEnd) return -1;
      pushField(s, i, false);
    }
    if (i >= filled) return i;
    const b = buf[i] as number;
    if (b === COMMA) {
      i++;
      continue;
    }
    if (b === CR) {
      if (i + 1 >= filled) return atEnd ? i + 1 : -1;
      if (buf[i + 1] !== LF) return -2;
      return i + 2;
    }
    if (b === LF) return i + 1;
    return -2;
  }
}

/** The header's names, or undefined when DuckDB might not take the first row for a header. */
function headerNames(buf: Buffer): string[] | undefined {
  if (fieldCount < 2) return undefined;
  const names = Array.from(fieldStarts.subarray(0, fieldCount), (s, c) => {
    const raw = buf.toString("utf8", s, fieldEnds[c]);
    return fieldQuoted[c] === 1 ? raw.replaceAll('""', '"') : raw;
  });
  const ok = names.every((n) => n.length > 0 && n.trim() === n && !/[;\t|#]/.test(n) && !mightBeTyped(n));
  return ok && new Set(names).size === names.length ? names : undefined;
}

/** Stores one field; "restart" when a number column meets text, "unsure" for text DuckDB might type. */
function storeField(
  col: ColumnState,
  buf: Buffer,
  start: number,
  end: number,
  quoted: boolean,
  row: number,
): "ok" | "restart" | "unsure" {
  if (start === end) {
    if (col.kind !== "string") col.values[row] = NaN;
    else col.codes[row] = -1;
    return "ok";
  }
  if (col.kind !== "string") {
    const v = parseNumber(buf, start, end);
    if (v !== undefined) {
      col.kind = "number";
      col.values[row] = v;
      if (lastWasDouble) col.double = true;
      else if (v === 0 && 1 / v < 0) col.negativeZero = true;
      return "ok";
    }
    if (col.kind === "number") {
      const text = buf.toString("utf8", start, end);
      return mightBeTyped(quoted ? text.replaceAll('""', '"') : text) ? "unsure" : "restart";
    }
    // Every row so far was empty.
    col.kind = "string";
    col.codes = new Int32Array(col.values.length).fill(-1, 0, row);
    col.values = new Float64Array(0);
  }
  col.codes[row] = (col.dict as ByteDictionary).code(buf, start, end);
  return "ok";
}

/**
 * The Frame of consecutive parts of one file: numbers and codes concatenated, each part's
 * dictionary merged into the first's; a column that is numbers in one part and text in another
 * must be read again as text.
 */
export function frameOfParts(parts: readonly CsvPart[]): Outcome {
  const first = parts[0] as CsvPart;
  const nRows = parts.reduce((n, p) => n + p.nRows, 0);
  const columns: Column[] = [];
  for (let c = 0; c < first.names.length; c++) {
    const name = first.names[c] as string;
    const cols = parts.map((p) => p.columns[c] as PartColumn);
    const kinds = new Set(cols.map((col) => col.kind));
    if (kinds.has("number") && kinds.has("string")) return { restartAsString: c };
    if (kinds.has("number")) {
      const values = concat(parts, (p) => (p.columns[c] as PartColumn).values, Float64Array);
      // BIGINT has no negative zero.
      if (cols.some((col) => col.negativeZero) && !cols.some((col) => col.double)) {
        for (let i = 0; i < nRows; i++) if (values[i] === 0) values[i] = 0;
      }
      columns.push(numericColumn(name, values));
      continue;
    }
    if (kinds.has("string") && !cols.some((col) => col.sawText)) return undefined;
    // The parts' dictionaries one after another (one part's as it is); categoricalColumn merges
    // repeated values as it sorts.
    const strings: string[] = parts.length === 1 ? (cols[0] as PartColumn).strings : [];
    const codes = concat(
      parts,
      (p) => {
        const part = p.columns[c] as PartColumn;
        if (part.kind === "empty") return new Int32Array(p.nRows).fill(-1);
        if (parts.length === 1) return part.codes;
        const offset = strings.length;
        for (const v of part.strings) strings.push(v);
        if (offset === 0) return part.codes;
        return part.codes.subarray(0, p.nRows).map((code) => (code < 0 ? -1 : code + offset));
      },
      Int32Array,
    );
    columns.push(categoricalColumn(name, codes, strings));
  }
  const identifiers = parts.flatMap((p) => p.identifiers ?? []);
  return { frame: { nRows, columns, ...(identifiers.length > 0 ? { identifiers } : {}) } };
}

/** One part's array as it is (no copy), or the parts' arrays one after another. */
function concat<A extends Float64Array | Int32Array>(
  parts: readonly CsvPart[],
  arrayOf: (p: CsvPart, k: number) => A,
  Ctor: { new (n: number): A },
): A {
  if (parts.length === 1) return arrayOf(parts[0] as CsvPart, 0).subarray(0, (parts[0] as CsvPart).nRows) as A;
  const out = new Ctor(parts.reduce((n, p) => n + p.nRows, 0));
  let at = 0;
  parts.forEach((p, k) => {
    out.set(arrayOf(p, k).subarray(0, p.nRows), at);
    at += p.nRows;
  });
  return out;
}
