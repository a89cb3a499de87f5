/**
 * Expectation suites: declarative rules a data set must satisfy before anything trains on it.
 * A suite is plain JSON (or a TypeScript object of the same shape); `parseSuite` checks it and
 * names the field, the value and the rule of anything it refuses.
 */
import type { SignatureType } from "../data/index.js";
import { specArray, specError, specNumber, specObject, specRequired, specString } from "../spec-fields.js";

/** Bounds are inclusive; at least one of `min` / `max` is given. */
export interface Bounds {
  readonly min?: number;
  readonly max?: number;
}

/** `reason`: free text saying why the rule is there (a proposed suite writes how it chose its bounds). */
export type Expectation = (
  | { readonly expect: "column_exists"; readonly column: string }
  | { readonly expect: "type"; readonly column: string; readonly type: SignatureType }
  | { readonly expect: "not_null"; readonly column: string; readonly maxNullFraction: number }
  | ({ readonly expect: "between"; readonly column: string; readonly mostly?: number } & Bounds)
  | {
      readonly expect: "in_set";
      readonly column: string;
      readonly values: readonly (string | number)[];
      readonly mostly?: number;
    }
  | { readonly expect: "unique"; readonly column: string }
  | { readonly expect: "regex"; readonly column: string; readonly pattern: string; readonly mostly?: number }
  | ({ readonly expect: "mean_between"; readonly column: string } & Bounds)
  | ({ readonly expect: "std_between"; readonly column: string } & Bounds)
  | ({ readonly expect: "quantile_between"; readonly column: string; readonly quantile: number } & Bounds)
  | ({ readonly expect: "row_count_between" } & Bounds)
) & { readonly reason?: string };

export type ExpectationKind = Expectation["expect"];

export interface ExpectationSuite {
  readonly name?: string;
  /** Failing rows reported per expectation (default 5). */
  readonly samples?: number;
  /**
   * Level of the one-sided binomial test behind `mostly` (default 0.001): a batch fails a `mostly`
   * rule when a failure rate of 1 − mostly would give its failing count or more with probability below it.
   */
  readonly alpha?: number;
  readonly expectations: readonly Expectation[];
}

export const DEFAULT_FAILING_SAMPLES = 5;
export const DEFAULT_MOSTLY_ALPHA = 0.001;

const TYPES: readonly SignatureType[] = ["double", "long", "boolean", "string"];

/** The fields each kind accepts besides `expect`. */
const FIELDS: Record<ExpectationKind, readonly string[]> = {
  column_exists: ["column"],
  type: ["column", "type"],
  not_null: ["column", "maxNullFraction"],
  between: ["column", "min", "max", "mostly"],
  in_set: ["column", "values", "mostly"],
  unique: ["column"],
  regex: ["column", "pattern", "mostly"],
  mean_between: ["column", "min", "max"],
  std_between: ["column", "min", "max"],
  quantile_between: ["column", "quantile", "min", "max"],
  row_count_between: ["min", "max"],
};

function isKind(v: unknown): v is ExpectationKind {
  return typeof v === "string" && Object.hasOwn(FIELDS, v);
}

/** Parses a suite from JSON, refusing unknown kinds and fields and out-of-range values. */
export function parseSuite(json: unknown, path = "suite"): ExpectationSuite {
  const o = specObject(json, path, ["name", "samples", "alpha", "expectations"]);
  const name = specString(o, "name", path);
  const samples = specNumber(o, "samples", path, { integer: true, min: 0 });
  const alpha = specNumber(o, "alpha", path, { min: 1e-12, max: 0.25 });
  const expectations = specArray(specRequired(o.expectations, `${path}.expectations`), `${path}.expectations`).map(
    (e, i) => parseExpectation(e, `${path}.expectations[${i}]`),
  );
  return {
    ...(name === undefined ? {} : { name }),
    ...(samples === undefined ? {} : { samples }),
    ...(alpha === undefined ? {} : { alpha }),
    expectations,
  };
}

function parseExpectation(json: unknown, p: string): Expectation {
  const rule = parseRule(json, p);
  // parseRule has already checked that `json` is an object holding only this kind's fields and `reason`.
  const reason = specString(json as Readonly<Record<string, unknown>>, "reason", p);
  return reason === undefined ? rule : { ...rule, reason };
}

function parseRule(json: unknown, p: string): Expectation {
  const kind = specObject(json, p, ["expect", ...new Set(Object.values(FIELDS).flat()), "reason"]).expect;
  if (!isKind(kind)) throw specError(`${p}.expect`, kind, `must be one of ${Object.keys(FIELDS).join(", ")}`);
  const o = specObject(json, p, ["expect", ...FIELDS[kind], "reason"]);
  if (kind === "row_count_between") {
    return { expect: kind, ...bounds(o, p, { integer: true, min: 0 }) };
  }
  const column = specRequired(specString(o, "column", p), `${p}.column`);
  switch (kind) {
    case "column_exists":
    case "unique":
      return { expect: kind, column };
    case "type": {
      const type = specRequired(o.type, `${p}.type`);
      if (!TYPES.includes(type as SignatureType))
        throw specError(`${p}.type`, type, `must be one of ${TYPES.join(", ")}`);
      return { expect: kind, column, type: type as SignatureType };
    }
    case "not_null":
      return { expect: kind, column, maxNullFraction: specNumber(o, "maxNullFraction", p, { min: 0, max: 1 }) ?? 0 };
    case "between":
      return { expect: kind, column, ...bounds(o, p, {}), ...mostly(o, p) };
    case "in_set": {
      const values = specArray(specRequired(o.values, `${p}.values`), `${p}.values`);
      values.forEach((v, i) => {
        if (typeof v !== "string" && (typeof v !== "number" || !Number.isFinite(v)))
          throw specError(`${p}.values[${i}]`, v, "must be a string or a finite number");
      });
      return { expect: kind, column, values: values as (string | number)[], ...mostly(o, p) };
    }
    case "regex": {
      const pattern = specRequired(specString(o, "pattern", p), `${p}.pattern`);
      try {
        new RegExp(pattern, "u");
      } catch (e) {
        throw specError(`${p}.pattern`, pattern, `must be a valid regular expression (${(e as Error).message})`);
      }
      return { expect: kind, column, pattern, ...mostly(o, p) };
    }
    case "mean_between":
    case "std_between":
      return { expect: kind, column, ...bounds(o, p, {}) };
    case "quantile_between": {
      const quantile = specRequired(specNumber(o, "quantile", p, { min: 0, max: 1 }), `${p}.quantile`);
      return { expect: kind, column, quantile, ...bounds(o, p, {}) };
    }
  }
}

function bounds(o: Readonly<Record<string, unknown>>, p: string, rule: { integer?: boolean; min?: number }): Bounds {
  const min = specNumber(o, "min", p, rule);
  const max = specNumber(o, "max", p, rule);
  if (min === undefined && max === undefined) throw specError(`${p}.min`, undefined, "min or max is required");
  if (min !== undefined && max !== undefined && min > max) throw specError(`${p}.max`, max, `must be ≥ min (${min})`);
  return { ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) };
}

function mostly(o: Readonly<Record<string, unknown>>, p: string): { mostly?: number } {
  const m = specNumber(o, "mostly", p, { min: 0, max: 1 });
  return m === undefined ? {} : { mostly: m };
}
