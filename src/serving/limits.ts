/**
 * Hard business limits of an endpoint: values the business never accepts (an applicant under 18,
 * a country it does not lend in), declared by the user in the endpoint's `limits`. They are not the
 * signature's ranges, which only say what training happened to observe: a value outside those is
 * scored, logged and alerted on, while a value outside a limit is refused.
 */
import { specArray, specError, specNumber, specObject } from "../spec-fields.js";
import type { InputTable, RawValue } from "./input-table.js";

/** One input's limit: a closed numeric interval, or a set of allowed values. */
export type InputLimit =
  { readonly min?: number; readonly max?: number } | { readonly values: readonly (string | number)[] };

/** Input name → its limit. */
export type InputLimits = Readonly<Record<string, InputLimit>>;

/** Validates the `limits` object of an endpoint; errors name the field. */
export function parseLimits(json: unknown, field: string): InputLimits {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw specError(field, json, "must be an object of input name to { min, max } or { values }");
  }
  const out: Record<string, InputLimit> = {};
  for (const name of Object.keys(json)) {
    const at = `${field}.${name}`;
    const o = specObject((json as Record<string, unknown>)[name], at, ["min", "max", "values"]);
    if (o.values !== undefined) {
      if (o.min !== undefined || o.max !== undefined) throw specError(at, o, "sets values, or min / max, not both");
      const values = specArray(o.values, `${at}.values`).map((v, i) => {
        if (typeof v === "string" || (typeof v === "number" && Number.isFinite(v))) return v;
        throw specError(`${at}.values[${i}]`, v, "must be a string or a finite number");
      });
      if (values.length === 0) throw specError(`${at}.values`, values, "must list at least one value");
      out[name] = { values };
      continue;
    }
    const min = specNumber(o, "min", at, {});
    const max = specNumber(o, "max", at, {});
    if (min === undefined && max === undefined) throw specError(at, o, "must set min, max or values");
    if (min !== undefined && max !== undefined && min > max) throw specError(`${at}.max`, max, `must be ≥ min ${min}`);
    out[name] = { ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) };
  }
  return out;
}

/** A request value refused by a limit. */
export interface LimitBreach {
  readonly input: string;
  readonly row: number;
  readonly value: RawValue;
  readonly rule: string;
}

function ruleText(limit: InputLimit): string {
  if ("values" in limit) return `must be one of the endpoint's business limit ${JSON.stringify(limit.values)}`;
  return `must be within the endpoint's business limit [${limit.min ?? "-∞"}, ${limit.max ?? "∞"}]`;
}

/**
 * The first value of the request outside a limit, or undefined. Nulls pass (whether an input may be
 * missing is the signature's rule); text from CSV is read as a number for a numeric limit.
 */
export function findLimitBreach(limits: InputLimits, table: InputTable): LimitBreach | undefined {
  for (const [input, limit] of Object.entries(limits)) {
    const raw = table.columns.get(input);
    if (raw === undefined) continue;
    const accepts = acceptor(limit);
    for (let row = 0; row < table.nRows; row++) {
      const value = raw[row];
      if (value === null || value === undefined || (table.textual === true && value === "")) continue;
      if (!accepts(value)) return { input, row, value, rule: ruleText(limit) };
    }
  }
  return undefined;
}

function acceptor(limit: InputLimit): (value: string | number | boolean) => boolean {
  if ("values" in limit) {
    const allowed = new Set(limit.values.map(String));
    return (v) => allowed.has(String(v));
  }
  const lo = limit.min ?? -Infinity;
  const hi = limit.max ?? Infinity;
  return (v) => {
    const x = typeof v === "number" ? v : typeof v === "string" ? Number(v) : NaN;
    return x >= lo && x <= hi;
  };
}

/** The refusal of a breach: `field = value: rule`, the field as the request named it. */
export function limitError(breach: LimitBreach, table: InputTable): Error {
  const source = table.sources?.get(breach.input) ?? breach.input;
  return specError(table.nRows === 1 ? source : `${source}[${breach.row}]`, breach.value, breach.rule);
}
