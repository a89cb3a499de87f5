import { DuckDBInstance, DuckDBTypeId } from "@duckdb/node-api";
import type { DuckDBConnection, DuckDBVector } from "@duckdb/node-api";
import { existsSync } from "node:fs";
import { extname } from "node:path";
import { InvalidParameterError, NotFoundError } from "../errors.js";
import type { CategoricalColumn, Column, Frame, NumericColumn } from "./frame.js";

export type TableFormat = "csv" | "parquet";

/** CSV or Parquet, from the file extension (`.csv`, `.tsv`, `.parquet`, `.pq`). */
export function tableFormat(path: string): TableFormat {
  const ext = extname(path).toLowerCase();
  if (ext === ".csv" || ext === ".tsv") return "csv";
  if (ext === ".parquet" || ext === ".pq") return "parquet";
  throw new InvalidParameterError(`file ${path}: extension "${ext}" is not supported; use .csv or .parquet`, {
    details: { field: "path", value: path, rule: "extension must be .csv, .tsv, .parquet or .pq" },
  });
}

const NUMERIC_TYPES = new Set<DuckDBTypeId>([
  DuckDBTypeId.BOOLEAN,
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.FLOAT,
  DuckDBTypeId.DOUBLE,
  DuckDBTypeId.DECIMAL,
]);

export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

export function ident(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

export async function withConnection<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
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
 */
export async function readTable(path: string, options: { format?: TableFormat } = {}): Promise<Frame> {
  if (!existsSync(path)) {
    throw new NotFoundError(`file ${path} does not exist`, { details: { field: "path", value: path } });
  }
  const format = options.format ?? tableFormat(path);
  return withConnection(async (conn) => {
    const src = source(path, format);
    const schema = await conn.runAndReadAll(`SELECT * FROM ${src} LIMIT 0`);
    const names = schema.columnNames();
    const types = schema.columnTypes();
    const numeric = types.map((t) => NUMERIC_TYPES.has(t.typeId));
    const select = names
      .map((n, i) => `CAST(${ident(n)} AS ${numeric[i] === true ? "DOUBLE" : "VARCHAR"}) AS ${ident(n)}`)
      .join(", ");
    const result = await conn.run(`SELECT ${select} FROM ${src}`);
    const nCols = names.length;
    // Grown by doubling while chunks arrive; the row count is known only at the end.
    let cap = 4096;
    let n = 0;
    const nums: (Float64Array | null)[] = numeric.map((isNum) => (isNum ? new Float64Array(cap) : null));
    const codes: (Int32Array | null)[] = numeric.map((isNum) => (isNum ? null : new Int32Array(cap)));
    const dicts: Map<string, number>[] = names.map(() => new Map<string, number>());
    for (;;) {
      const chunk = await result.fetchChunk();
      if (chunk === null || chunk.rowCount === 0) break;
      const rows = chunk.rowCount;
      if (n + rows > cap) {
        while (n + rows > cap) cap *= 2;
        for (let c = 0; c < nCols; c++) {
          const a = nums[c];
          if (a) {
            const b = new Float64Array(cap);
            b.set(a.subarray(0, n));
            nums[c] = b;
          }
          const k = codes[c];
          if (k) {
            const b = new Int32Array(cap);
            b.set(k.subarray(0, n));
            codes[c] = b;
          }
        }
      }
      for (let c = 0; c < nCols; c++) {
        const vec = chunk.getColumnVector(c) as DuckDBVector<number | string>;
        const a = nums[c];
        if (a) {
          for (let i = 0; i < rows; i++) {
            const v = vec.getItem(i);
            a[n + i] = v === null ? NaN : (v as number);
          }
          continue;
        }
        const k = codes[c] as Int32Array;
        const dict = dicts[c] as Map<string, number>;
        for (let i = 0; i < rows; i++) {
          const v = vec.getItem(i);
          if (v === null) {
            k[n + i] = -1;
            continue;
          }
          let code = dict.get(v as string);
          if (code === undefined) {
            code = dict.size;
            dict.set(v as string, code);
          }
          k[n + i] = code;
        }
      }
      n += rows;
    }
    const columns: Column[] = names.map((name, c) => {
      const a = nums[c];
      if (a) return numericColumn(name, a.slice(0, n));
      return categoricalColumn(name, (codes[c] as Int32Array).slice(0, n), dicts[c] as Map<string, number>);
    });
    return { nRows: n, columns };
  });
}

/** A numeric column from values with NaN for nulls; the mask is attached only when a null exists. */
export function numericColumn(name: string, values: Float64Array): NumericColumn {
  let valid: Uint8Array | undefined;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v !== v) {
      valid ??= new Uint8Array(values.length).fill(1);
      valid[i] = 0;
    }
  }
  return valid ? { kind: "numeric", name, values, valid } : { kind: "numeric", name, values };
}

/** Re-codes to a sorted dictionary (codes then do not depend on the order rows arrived in). */
function categoricalColumn(name: string, codes: Int32Array, dict: Map<string, number>): CategoricalColumn {
  const sorted = [...dict.keys()].sort();
  const remap = new Int32Array(dict.size);
  sorted.forEach((v, i) => {
    remap[dict.get(v) as number] = i;
  });
  let valid: Uint8Array | undefined;
  for (let i = 0; i < codes.length; i++) {
    const k = codes[i] as number;
    if (k < 0) {
      valid ??= new Uint8Array(codes.length).fill(1);
      valid[i] = 0;
    } else {
      codes[i] = remap[k] as number;
    }
  }
  return valid
    ? { kind: "categorical", name, codes, dictionary: sorted, valid }
    : { kind: "categorical", name, codes, dictionary: sorted };
}

/** A categorical column from strings (null for a missing value). */
export function categoricalFromStrings(name: string, values: readonly (string | null)[]): CategoricalColumn {
  const dict = new Map<string, number>();
  const codes = new Int32Array(values.length);
  values.forEach((v, i) => {
    if (v === null) {
      codes[i] = -1;
      return;
    }
    let code = dict.get(v);
    if (code === undefined) {
      code = dict.size;
      dict.set(v, code);
    }
    codes[i] = code;
  });
  return categoricalColumn(name, codes, dict);
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
