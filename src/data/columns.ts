import type { CategoricalColumn, NumericColumn } from "./frame.js";

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

/**
 * Re-codes to a sorted dictionary (codes then do not depend on the order rows arrived in).
 * `dict` maps each value to its code, or lists the values in code order (a value may be listed twice).
 */
export function categoricalColumn(
  name: string,
  codes: Int32Array,
  dict: ReadonlyMap<string, number> | readonly string[],
): CategoricalColumn {
  const values = Array.isArray(dict) ? dict : [...(dict as ReadonlyMap<string, number>).keys()];
  const codeOf = Array.isArray(dict) ? undefined : (dict as ReadonlyMap<string, number>);
  if (codeOf === undefined && strictlyAscending(values)) return codedColumn(name, codes, values);
  // A loop, not Array.from(values.keys()): the iterator costs more than the sort of an ordered list.
  const order = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) order[i] = i;
  // A comparator orders by UTF-16 code units as the default sort does, without its string conversions.
  order.sort((a, b) => {
    const x = values[a] as string;
    const y = values[b] as string;
    return x < y ? -1 : x > y ? 1 : 0;
  });
  // A listed value may repeat (dictionaries of a file's parts, appended): equal values share a rank.
  const sorted: string[] = [];
  const remap = new Int32Array(values.length);
  for (const i of order) {
    const v = values[i] as string;
    if (sorted.length === 0 || sorted[sorted.length - 1] !== v) sorted.push(v);
    remap[codeOf === undefined ? i : (codeOf.get(v) as number)] = sorted.length - 1;
  }
  for (let i = 0; i < codes.length; i++) {
    const k = codes[i] as number;
    if (k >= 0) codes[i] = remap[k] as number;
  }
  return codedColumn(name, codes, sorted);
}

/** Whether each value sorts after the one before (an identifier column read in order, say). */
function strictlyAscending(values: readonly string[]): boolean {
  for (let i = 1; i < values.length; i++) if (!((values[i - 1] as string) < (values[i] as string))) return false;
  return true;
}

/** The column of codes into a sorted dictionary of distinct values (negative for a null). */
function codedColumn(name: string, codes: Int32Array, dictionary: readonly string[]): CategoricalColumn {
  let valid: Uint8Array | undefined;
  for (let i = 0; i < codes.length; i++) {
    if ((codes[i] as number) < 0) {
      valid ??= new Uint8Array(codes.length).fill(1);
      valid[i] = 0;
    }
  }
  return valid
    ? { kind: "categorical", name, codes, dictionary, valid }
    : { kind: "categorical", name, codes, dictionary };
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
