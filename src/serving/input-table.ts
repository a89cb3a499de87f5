import { specError } from "../spec-fields.js";

/**
 * What every protocol decoder produces before the signature check: raw values per column, as the
 * client sent them. The validator turns it into a typed `Frame` in one pass per column.
 */
export type RawValue = string | number | boolean | null | undefined;

export interface InputTable {
  readonly nRows: number;
  /** Column name → one raw value per row. Columns the model does not know are ignored. */
  readonly columns: ReadonlyMap<string, ArrayLike<RawValue>>;
  /** Where each column came from, for error messages (e.g. `inputs[2]`); defaults to the column name. */
  readonly sources?: ReadonlyMap<string, string>;
  /** Values arrived as text (CSV): numbers and booleans are parsed by the declared column type. */
  readonly textual?: boolean;
  /** The column naming each row's entity when the endpoint sets no `entityKey` (a feature service's join key). */
  readonly entityColumn?: string;
}

/** Column-major table from row objects (`dataframe_records`, keel's predict API). */
export function tableFromRecords(records: readonly unknown[], field: string): InputTable {
  const columns = new Map<string, RawValue[]>();
  const n = records.length;
  for (let i = 0; i < n; i++) {
    const rec = records[i];
    if (rec === null || typeof rec !== "object" || Array.isArray(rec)) {
      throw specError(`${field}[${i}]`, rec, "must be a JSON object of column name to value");
    }
    const r = rec as Record<string, unknown>;
    // Object.keys, not Object.entries: one array per record instead of one per field.
    for (const k of Object.keys(r)) {
      let col = columns.get(k);
      if (col === undefined) {
        col = n === 1 ? [undefined] : new Array<RawValue>(n).fill(undefined);
        columns.set(k, col);
      }
      const v = r[k];
      // The field's path is only spelled out for an error message.
      if (!isRaw(v)) throw notRaw(v, `${field}[${i}].${k}`);
      col[i] = v;
    }
  }
  return { nRows: n, columns };
}

/** Column-major table from `{columns, data}` (MLflow `dataframe_split`, CSV). */
export function tableFromSplit(names: readonly string[], rows: readonly unknown[], field: string): InputTable {
  const columns = new Map<string, RawValue[]>();
  const n = rows.length;
  const cols = names.map((name) => {
    const c = new Array<RawValue>(n);
    columns.set(name, c);
    return c;
  });
  for (let i = 0; i < n; i++) {
    const row = rows[i];
    if (!Array.isArray(row) || row.length !== names.length) {
      throw specError(`${field}.data[${i}]`, row, `must be an array of ${names.length} values, one per column`);
    }
    for (let j = 0; j < cols.length; j++) {
      const v: unknown = row[j];
      if (!isRaw(v)) throw notRaw(v, `${field}.data[${i}][${j}]`);
      (cols[j] as RawValue[])[i] = v;
    }
  }
  return { nRows: n, columns };
}

/** Column-major table from `{column: [values...]}` (MLflow `inputs` / `instances` in columnar form). */
export function tableFromColumns(obj: Record<string, unknown>, field: string): InputTable {
  const columns = new Map<string, RawValue[]>();
  let n = -1;
  for (const [k, v] of Object.entries(obj)) {
    const values = Array.isArray(v) ? v : [v];
    if (n === -1) n = values.length;
    else if (values.length !== n) {
      throw specError(`${field}.${k}`, values.length, `must hold ${n} values like the other columns`);
    }
    columns.set(
      k,
      values.map((x: unknown, i) => {
        if (!isRaw(x)) throw notRaw(x, `${field}.${k}[${i}]`);
        return x;
      }),
    );
  }
  return { nRows: Math.max(n, 0), columns };
}

function isRaw(v: unknown): v is RawValue {
  return v === null || v === undefined || typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

function notRaw(v: unknown, field: string): Error {
  return specError(field, v, "must be a number, string, boolean or null");
}
