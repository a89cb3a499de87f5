import type { DuckDBConnection, DuckDBResult, DuckDBVector } from "@duckdb/node-api";
import { existsSync } from "node:fs";
import { extname } from "node:path";
import { InvalidParameterError, NotFoundError } from "../errors.js";
import { categoricalColumn, numericColumn } from "./columns.js";
import { plainCsvPath, readPlainCsv } from "./csv-reader.js";
import { readPlainCsvInParallel, readPlainCsvOnWorker } from "./csv-parallel.js";
import { sortEachColumn } from "./sort.js";
import type { Column, Frame } from "./frame.js";

export { categoricalColumn, categoricalFromStrings, numericColumn } from "./columns.js";

export type TableFormat = "csv" | "parquet";

export interface ReadOptions {
  readonly format?: TableFormat;
  /**
   * Where a plain CSV is parsed: "split" (default) in two halves, on this thread and a worker;
   * "worker" whole on a worker thread, leaving this one free to read another file at the same
   * time; "this" whole on this thread.
   */
  readonly threads?: "split" | "worker" | "this";
  /**
   * Each numeric column sorted ascending in place, nulls last (sortEachColumn): rows no longer line
   * up, for a caller that needs only each column's distribution. A worker sorts its own file.
   */
  readonly sortedColumns?: boolean;
  /**
   * A plain CSV read whole (threads "worker" or "this") may leave out its identifier columns —
   * text with a distinct value in every row, which isIdLike would set aside anyway — and name them
   * in the Frame's `identifiers`, so that their values never become strings.
   */
  readonly skipIdentifiers?: boolean;
}

/** CSV or Parquet, from the file extension (`.csv`, `.tsv`, `.parquet`, `.pq`). */
export function tableFormat(path: string): TableFormat {
  const ext = extname(path).toLowerCase();
  if (ext === ".csv" || ext === ".tsv") return "csv";
  if (ext === ".parquet" || ext === ".pq") return "parquet";
  throw new InvalidParameterError(`file ${path}: extension "${ext}" is not supported; use .csv or .parquet`, {
    details: { field: "path", value: path, rule: "extension must be .csv, .tsv, .parquet or .pq" },
  });
}

/** DuckDB's API, loaded on first use: a plain CSV is read without it, and loading it costs a native addon. */
const duckdbApi = () => import("@duckdb/node-api");

/** DuckDB's numeric (and boolean) types, read into Float64 columns. */
async function numericTypes(): Promise<Set<number>> {
  const { DuckDBTypeId: T } = await duckdbApi();
  return new Set([
    T.BOOLEAN,
    T.TINYINT,
    T.SMALLINT,
    T.INTEGER,
    T.BIGINT,
    T.UTINYINT,
    T.USMALLINT,
    T.UINTEGER,
    T.UBIGINT,
    T.HUGEINT,
    T.UHUGEINT,
    T.FLOAT,
    T.DOUBLE,
    T.DECIMAL,
  ]);
}

export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

export function ident(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

export async function withConnection<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
  const { DuckDBInstance } = await duckdbApi();
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await instance.connect();
  try {
    return await fn(conn);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

export function source(path: string, format: TableFormat): string {
  // No BOOLEAN candidate: DuckDB would read yes/no text as true/false, losing the class names a
  // string target is reported by.
  return format === "csv"
    ? `read_csv(${sqlString(path)}, auto_type_candidates = ['BIGINT', 'DOUBLE', 'DATE', 'TIMESTAMP', 'VARCHAR'])`
    : `read_parquet(${sqlString(path)})`;
}

/**
 * Reads a CSV or Parquet file into a Frame. DuckDB infers the types: numeric and boolean columns
 * become Float64 (NaN + mask for nulls), everything else (strings, dates) becomes a categorical
 * whose dictionary is sorted, so the codes do not depend on row order.
 *
 * Values do not cross into JavaScript one by one where DuckDB can hand over whole vectors: it
 * casts numbers to DOUBLE (NaN for null) and turns a string column of few distinct values into an
 * ENUM whose codes arrive as INTEGER; each chunk's vector memory is then copied straight into the
 * typed arrays. Only such a column's distinct values, and the values of a string column of many
 * distinct values (ids, where an ENUM would cost more than it saves), are read as strings.
 * A plain `.csv` (see readPlainCsv) skips DuckDB altogether: the same Frame, parsed in one pass
 * (two halves on two threads for a large file, unless `threads` says otherwise).
 */
export async function readTable(path: string, options: ReadOptions = {}): Promise<Frame> {
  if (!existsSync(path)) {
    throw new NotFoundError(`file ${path} does not exist`, { details: { field: "path", value: path } });
  }
  const format = options.format ?? tableFormat(path);
  const sorted = options.sortedColumns === true;
  if (format === "csv" && plainCsvPath(path)) {
    // On a worker, the worker sorts; undefined (not a plain CSV) goes to DuckDB below.
    const skipIdentifiers = options.skipIdentifiers === true;
    if (options.threads === "worker") {
      const frame = await readPlainCsvOnWorker(path, { sorted, skipIdentifiers });
      if (frame !== undefined) return frame;
    } else {
      const frame =
        options.threads === "this" ? readPlainCsv(path, { skipIdentifiers }) : await readPlainCsvInParallel(path);
      if (frame !== undefined) return sorted ? sortEachColumn(frame) : frame;
    }
  }
  const frame = await readWithDuckDb(path, format);
  return sorted ? sortEachColumn(frame) : frame;
}

async function readWithDuckDb(path: string, format: TableFormat): Promise<Frame> {
  const numericTypeIds = await numericTypes();
  return withConnection(async (conn) => {
    const src = source(path, format);
    const schema = await conn.runAndReadAll(`SELECT * FROM ${src} LIMIT 0`);
    const names = schema.columnNames();
    const numeric = schema.columnTypes().map((t) => numericTypeIds.has(t.typeId));
    // String columns are read twice (distinct values, then codes): parse the file once.
    const from = numeric.every(Boolean) ? src : "keel_read";
    if (from !== src) await conn.run(`CREATE TEMP TABLE keel_read AS SELECT * FROM ${src}`);
    const plans: ColumnPlan[] = [];
    for (let c = 0; c < names.length; c++) {
      const col = ident(names[c] as string);
      if (numeric[c] === true) {
        plans.push({ kind: "number", sql: `COALESCE(CAST(${col} AS DOUBLE), CAST('NaN' AS DOUBLE))` });
        continue;
      }
      const text = `CAST(${col} AS VARCHAR)`;
      const dictionary = await enumDictionary(conn, `keel_dict_${c}`, text);
      plans.push(
        dictionary === undefined
          ? { kind: "string", sql: text }
          : {
              kind: "code",
              dictionary,
              sql:
                dictionary.length === 0
                  ? "CAST(-1 AS INTEGER)"
                  : `COALESCE(CAST(enum_code(CAST(${text} AS keel_dict_${c})) AS INTEGER), -1)`,
            },
      );
    }
    const result = await conn.run(`SELECT ${plans.map((p) => p.sql).join(", ")} FROM ${from}`);
    const { nRows, arrays, stringCodes } = await readColumns(result, plans);
    const columns: Column[] = names.map((name, c) => {
      const plan = plans[c] as ColumnPlan;
      const values = arrays[c] as Float64Array | Int32Array;
      if (plan.kind === "number") return numericColumn(name, values as Float64Array);
      const dict = plan.kind === "code" ? new Map(plan.dictionary.map((v, code) => [v, code])) : stringCodes[c];
      return categoricalColumn(name, values as Int32Array, dict as Map<string, number>);
    });
    return { nRows, columns };
  });
}

/** How one column is selected and read: raw DOUBLEs, raw ENUM codes, or strings coded here. */
type ColumnPlan =
  | { readonly kind: "number"; readonly sql: string }
  | { readonly kind: "code"; readonly sql: string; readonly dictionary: readonly string[] }
  | { readonly kind: "string"; readonly sql: string };

/** Above this many distinct values (approximately) a string column is coded in JavaScript. */
const MAX_ENUM_VALUES = 4096;

/**
 * Creates ENUM `type` over the distinct non-null values of `expr` in keel_read and returns them
 * in code order; undefined when there are too many for an ENUM to pay off.
 */
async function enumDictionary(conn: DuckDBConnection, type: string, expr: string): Promise<string[] | undefined> {
  const count = await conn.runAndReadAll(`SELECT approx_count_distinct(${expr}) FROM keel_read`);
  const approx = Number(count.getRows()[0]?.[0] ?? 0);
  if (approx > MAX_ENUM_VALUES) return undefined;
  const distinct = `SELECT DISTINCT ${expr} FROM keel_read WHERE ${expr} IS NOT NULL`;
  if (approx === 0) return [];
  await conn.run(`CREATE TYPE ${type} AS ENUM (${distinct})`);
  const values = await conn.runAndReadAll(`SELECT unnest(enum_range(NULL::${type}))`);
  return values.getRows().map((r) => String(r[0]));
}

/**
 * Streams the result into one typed array per column: Float64 for "number", Int32 codes for
 * "code" and "string" (the latter's dictionary, in first-seen order, in `stringCodes`). Raw
 * vectors are copied byte for byte. Arrays grow by doubling: the row count is known only at the end.
 */
async function readColumns(
  result: DuckDBResult,
  plans: readonly ColumnPlan[],
): Promise<{ nRows: number; arrays: (Float64Array | Int32Array)[]; stringCodes: (Map<string, number> | undefined)[] }> {
  let cap = 4096;
  let n = 0;
  let arrays = plans.map((p) => (p.kind === "number" ? new Float64Array(cap) : new Int32Array(cap)));
  const stringCodes = plans.map((p) => (p.kind === "string" ? new Map<string, number>() : undefined));
  const { default: duckdb } = await import("@duckdb/node-bindings");
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    const rows = chunk.rowCount;
    if (n + rows > cap) {
      while (n + rows > cap) cap *= 2;
      arrays = arrays.map((a) => {
        const grown = a instanceof Float64Array ? new Float64Array(cap) : new Int32Array(cap);
        grown.set(a.subarray(0, n));
        return grown;
      });
    }
    for (let c = 0; c < arrays.length; c++) {
      const a = arrays[c] as Float64Array | Int32Array;
      const dict = stringCodes[c];
      if (dict !== undefined) {
        codeStrings(chunk.getColumnVector(c) as DuckDBVector<string>, rows, a as Int32Array, n, dict);
        continue;
      }
      const width = a.BYTES_PER_ELEMENT;
      const bytes = duckdb.vector_get_data(duckdb.data_chunk_get_vector(chunk.chunk, c), rows * width);
      // Byte copy: DuckDB's buffer need not be aligned for a typed view of its own.
      new Uint8Array(a.buffer, a.byteOffset + n * width, rows * width).set(bytes.subarray(0, rows * width));
    }
    n += rows;
  }
  return { nRows: n, arrays: arrays.map((a) => a.slice(0, n)), stringCodes };
}

/** Codes `rows` strings of a vector into `codes[at..]`, adding new values to `dict` (-1 for null). */
function codeStrings(
  vec: DuckDBVector<string>,
  rows: number,
  codes: Int32Array,
  at: number,
  dict: Map<string, number>,
): void {
  for (let i = 0; i < rows; i++) {
    const v = vec.getItem(i);
    if (v === null) {
      codes[at + i] = -1;
      continue;
    }
    let code = dict.get(v);
    if (code === undefined) {
      code = dict.size;
      dict.set(v, code);
    }
    codes[at + i] = code;
  }
}

/**
 * Writes a Frame as CSV (with header) or Parquet. Numeric columns are written as DOUBLE,
 * categoricals as VARCHAR, nulls as empty cells / Parquet nulls. The file is written to a
 * temporary name first, so a reader never sees half a file.
 */
export async function writeTable(frame: Frame, path: string, options: { format?: TableFormat } = {}): Promise<void> {
  const format = options.format ?? tableFormat(path);
  if (frame.columns.length === 0) {
    throw new InvalidParameterError(`writeTable ${path}: frame has no columns`, {
      details: { field: "frame.columns", value: 0, rule: "must have at least one column" },
    });
  }
  const { rename } = await import("node:fs/promises");
  const tmp = `${path}.tmp-${process.pid}`;
  await withConnection(async (conn) => {
    const cols = frame.columns.map((c) => `${ident(c.name)} ${c.kind === "numeric" ? "DOUBLE" : "VARCHAR"}`);
    await conn.run(`CREATE TABLE t (${cols.join(", ")})`);
    const app = await conn.createAppender("t");
    const nCols = frame.columns.length;
    for (let r = 0; r < frame.nRows; r++) {
      for (let c = 0; c < nCols; c++) {
        const col = frame.columns[c] as Column;
        if (col.kind === "numeric") {
          const v = col.values[r] as number;
          if (v !== v) app.appendNull();
          else app.appendDouble(v);
        } else {
          const k = col.codes[r] as number;
          if (k < 0) app.appendNull();
          else app.appendVarchar(col.dictionary[k] as string);
        }
      }
      app.endRow();
    }
    app.flushSync();
    app.closeSync();
    const opts = format === "csv" ? "FORMAT csv, HEADER true" : "FORMAT parquet";
    await conn.run(`COPY t TO ${sqlString(tmp)} (${opts})`);
  });
  await rename(tmp, path);
}
