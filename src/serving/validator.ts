import type { CategoricalColumn, Column, Frame, NumericColumn, Signature, SignatureColumn } from "../data/index.js";
import { type InputTable, type RawValue } from "./input-table.js";
import { specError } from "../spec-fields.js";

/** Turns a decoded request into the model's typed input frame, or throws naming field, value and rule. */
export type InputValidator = (table: InputTable) => Frame;

export interface ValidatorOptions {
  /** Reject numbers outside the signature's declared range (default true). */
  readonly enforceRanges?: boolean;
  /** Reject strings outside the signature's declared categories (default true). */
  readonly enforceCategories?: boolean;
}

interface CompiledColumn {
  readonly spec: SignatureColumn;
  readonly min: number;
  readonly max: number;
  /** The declared categories' codes, when the signature declares them. */
  readonly categoryIndex: ReadonlyMap<string, number> | undefined;
  /** The declared categories in code order (empty when none are declared): every request's dictionary starts with them. */
  readonly declaredCategories: readonly string[];
  /** Whether a value outside the declared categories is refused. */
  readonly enforceCategories: boolean;
}

/**
 * Compile the checks for one signature once (per loaded model): lookups of declared categories are
 * hashed, ranges resolved, so a request pays only one pass over its values.
 */
export function compileValidator(signature: Signature, options: ValidatorOptions = {}): InputValidator {
  const enforceRanges = options.enforceRanges ?? true;
  const enforceCategories = options.enforceCategories ?? true;
  const compiled: CompiledColumn[] = signature.inputs.map((spec) => ({
    spec,
    min: enforceRanges && spec.range ? spec.range.min : -Infinity,
    max: enforceRanges && spec.range ? spec.range.max : Infinity,
    categoryIndex:
      spec.type === "string" && spec.categories ? new Map(spec.categories.map((c, i) => [c, i])) : undefined,
    declaredCategories: spec.type === "string" && spec.categories ? spec.categories : [],
    enforceCategories,
  }));
  return (table) => {
    const columns: Column[] = new Array<Column>(compiled.length);
    for (let j = 0; j < compiled.length; j++) {
      const c = compiled[j] as CompiledColumn;
      const raw = table.columns.get(c.spec.name);
      const source = table.sources?.get(c.spec.name) ?? c.spec.name;
      if (raw === undefined && !c.spec.nullable) {
        throw specError(source, undefined, `is a required input of type ${c.spec.type} and is missing`);
      }
      columns[j] =
        c.spec.type === "string"
          ? categorical(c, raw, table.nRows, source, table.textual === true)
          : numeric(c, raw, table.nRows, source, table.textual === true);
    }
    return { nRows: table.nRows, columns };
  };
}

function numeric(
  c: CompiledColumn,
  raw: ArrayLike<RawValue> | undefined,
  n: number,
  source: string,
  textual: boolean,
): NumericColumn {
  const values = new Float64Array(n);
  let valid: Uint8Array | undefined;
  const type = c.spec.type;
  for (let i = 0; i < n; i++) {
    let v = raw === undefined ? undefined : raw[i];
    if (textual && typeof v === "string") v = parseText(v, type);
    if (v === null || v === undefined) {
      if (!c.spec.nullable)
        throw specError(field(source, i, n), v ?? null, `is required (column ${c.spec.name} is not nullable)`);
      valid ??= new Uint8Array(n).fill(1);
      valid[i] = 0;
      values[i] = NaN;
      continue;
    }
    let x: number;
    if (type === "boolean") {
      if (typeof v !== "boolean") throw specError(field(source, i, n), v, "must be a boolean (true or false)");
      x = v ? 1 : 0;
    } else {
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw specError(field(source, i, n), v, `must be a finite number (type ${type})`);
      }
      if (type === "long" && !Number.isInteger(v))
        throw specError(field(source, i, n), v, "must be an integer (type long)");
      if (v < c.min || v > c.max) {
        throw specError(field(source, i, n), v, `must be within the declared range [${c.min}, ${c.max}]`);
      }
      x = v;
    }
    values[i] = x;
  }
  return valid === undefined
    ? { kind: "numeric", name: c.spec.name, values }
    : { kind: "numeric", name: c.spec.name, values, valid };
}

function categorical(
  c: CompiledColumn,
  raw: ArrayLike<RawValue> | undefined,
  n: number,
  source: string,
  textual: boolean,
): CategoricalColumn {
  const codes = new Int32Array(n);
  let valid: Uint8Array | undefined;
  // Declared categories keep their codes, so every request's column shares the signature's list as
  // its dictionary (stacking requests then copies codes); a value outside them, where accepted, is
  // coded after them in a dictionary of the request's own. Without declared categories the
  // dictionary is the request's values in order of appearance.
  const declared = c.categoryIndex;
  const declaredList = c.declaredCategories;
  let others: Map<string, number> | undefined;
  for (let i = 0; i < n; i++) {
    let v = raw === undefined ? undefined : raw[i];
    // In CSV an empty cell is the only way to write a null.
    if (textual && v === "") v = null;
    if (v === null || v === undefined) {
      if (!c.spec.nullable)
        throw specError(field(source, i, n), v ?? null, `is required (column ${c.spec.name} is not nullable)`);
      valid ??= new Uint8Array(n).fill(1);
      valid[i] = 0;
      codes[i] = -1;
      continue;
    }
    if (typeof v !== "string") throw specError(field(source, i, n), v, "must be a string (type string)");
    let code = declared?.get(v);
    if (code === undefined) {
      if (declared !== undefined && c.enforceCategories) {
        throw specError(
          field(source, i, n),
          v,
          `must be one of the declared categories ${JSON.stringify([...declared.keys()])}`,
        );
      }
      others ??= new Map<string, number>();
      code = others.get(v);
      if (code === undefined) {
        code = declaredList.length + others.size;
        others.set(v, code);
      }
    }
    codes[i] = code;
  }
  const dictionary = others === undefined ? declaredList : [...declaredList, ...others.keys()];
  return valid === undefined
    ? { kind: "categorical", name: c.spec.name, codes, dictionary }
    : { kind: "categorical", name: c.spec.name, codes, dictionary, valid };
}

function parseText(v: string, type: SignatureColumn["type"]): RawValue {
  if (v === "") return null;
  if (type === "boolean") {
    const s = v.toLowerCase();
    return s === "true" || s === "1" ? true : s === "false" || s === "0" ? false : v;
  }
  const x = Number(v);
  return Number.isNaN(x) ? v : x;
}

function field(source: string, row: number, n: number): string {
  return n === 1 ? source : `${source}[${row}]`;
}
