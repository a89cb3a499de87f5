/**
 * Runs an expectation suite over a Frame. Every result carries what was observed and, for rules
 * checked row by row, how many rows broke it and a few of them, so a failure says which column,
 * which rule and which value without opening the file.
 */
import type { CategoricalColumn, Column, Frame, SignatureType } from "../data/index.js";
import { binomialAllowance, quantileSorted, sortedFinite } from "../stats/index.js";
import {
  DEFAULT_FAILING_SAMPLES,
  DEFAULT_MOSTLY_ALPHA,
  type Bounds,
  type Expectation,
  type ExpectationSuite,
} from "./suite.js";

export interface FailingRow {
  /** Row index in the data, 0-based, header not counted. */
  readonly row: number;
  readonly value: string | number | null;
}

/** What an expectation measured: a number, a type name, a range, unseen values … */
export type ObservedValue =
  number | string | null | { readonly min: number | null; readonly max: number | null } | readonly (string | number)[];

export interface ExpectationResult {
  readonly expectation: Expectation;
  readonly passed: boolean;
  readonly observed: ObservedValue;
  /** Row-level rules: the rows that broke the rule, and their share of the non-null rows. */
  readonly unexpectedCount?: number;
  readonly unexpectedFraction?: number;
  /** Up to the suite's `samples` of those rows. */
  readonly failingRows?: readonly FailingRow[];
  /**
   * Rules with `mostly`: the most failing rows this many rows may hold and pass — the largest count
   * a failure rate of 1 − mostly reaches with probability ≥ the suite's `alpha` (one-sided binomial test).
   */
  readonly allowedCount?: number;
  /** One line: column, rule, verdict, observed value, example rows. */
  readonly message: string;
}

export interface ValidationReport {
  readonly suite?: string;
  readonly passed: boolean;
  readonly rows: number;
  readonly failed: number;
  readonly results: readonly ExpectationResult[];
}

export interface ValidateOptions {
  /** Failing rows reported per expectation; overrides the suite's `samples`. */
  readonly samples?: number;
}

/** Checks every expectation of `suite` against `frame`; never throws for data that breaks a rule. */
export function validateFrame(frame: Frame, suite: ExpectationSuite, options: ValidateOptions = {}): ValidationReport {
  const samples = options.samples ?? suite.samples ?? DEFAULT_FAILING_SAMPLES;
  const byName = new Map(frame.columns.map((c) => [c.name, c]));
  const alpha = suite.alpha ?? DEFAULT_MOSTLY_ALPHA;
  const results = suite.expectations.map((e) => check(frame, byName, e, samples, alpha));
  const failed = results.filter((r) => !r.passed).length;
  return {
    ...(suite.name === undefined ? {} : { suite: suite.name }),
    passed: failed === 0,
    rows: frame.nRows,
    failed,
    results,
  };
}

function check(
  frame: Frame,
  byName: ReadonlyMap<string, Column>,
  e: Expectation,
  samples: number,
  alpha: number,
): ExpectationResult {
  if (e.expect === "row_count_between") {
    const passed = inBounds(frame.nRows, e);
    return result(e, passed, frame.nRows, `${rule(e)} ${verdict(passed)}: observed ${frame.nRows} rows`);
  }
  const col = byName.get(e.column);
  if (col === undefined) {
    return result(e, false, null, `${e.column}: ${rule(e)} failed: the column is not in the data`);
  }
  const n = frame.nRows;
  switch (e.expect) {
    case "column_exists":
      return result(e, true, "present", `${e.column}: ${rule(e)} passed`);
    case "type":
      return checkType(e, col, n, samples);
    case "not_null": {
      const rows = new Sampler(samples);
      let nulls = 0;
      for (let i = 0; i < n; i++) {
        if (isNull(col, i)) {
          nulls++;
          rows.add(i, null);
        }
      }
      const fraction = n === 0 ? 0 : nulls / n;
      const passed = fraction <= e.maxNullFraction;
      return {
        expectation: e,
        passed,
        observed: fraction,
        unexpectedCount: nulls,
        unexpectedFraction: fraction,
        ...(passed ? {} : { failingRows: rows.rows }),
        message:
          `${e.column}: ${rule(e)} ${verdict(passed)}: observed null fraction ${num(fraction)} (${nulls} of ${n} rows)` +
          (passed ? "" : examples(rows.rows)),
      };
    }
    case "between":
      return checkBetween(e, col, n, samples, alpha);
    case "in_set":
      return checkInSet(e, col, n, samples, alpha);
    case "unique":
      return checkUnique(e, col, n, samples);
    case "regex":
      return checkRegex(e, col, n, samples, alpha);
    case "mean_between":
    case "std_between":
    case "quantile_between":
      return checkStatistic(e, col, n, samples);
  }
}

function checkType(
  e: Extract<Expectation, { expect: "type" }>,
  col: Column,
  n: number,
  samples: number,
): ExpectationResult {
  const rows = new Sampler(samples);
  let observed: SignatureType;
  if (col.kind === "categorical") {
    observed = "string";
    if (e.type !== "string") {
      // The cells that kept the column from being read as numbers.
      const parsed = col.dictionary.map((s) => Number.isFinite(parseNumber(s)));
      for (let i = 0; i < n; i++) {
        const k = col.codes[i] as number;
        if (k >= 0 && parsed[k] !== true) rows.add(i, col.dictionary[k] as string);
      }
    }
  } else {
    let integral = true;
    let binary = true;
    for (let i = 0; i < n; i++) {
      const v = col.values[i] as number;
      if (v !== v) continue;
      const isInt = Number.isInteger(v);
      const isBin = v === 0 || v === 1;
      if (!isInt) integral = false;
      if (!isBin) binary = false;
      if ((e.type === "long" && !isInt) || (e.type === "boolean" && !isBin)) rows.add(i, v);
    }
    observed = e.type === "boolean" && binary ? "boolean" : integral ? "long" : "double";
  }
  const passed =
    e.type === observed ||
    (e.type === "double" && observed !== "string") ||
    (e.type === "long" && observed === "boolean");
  return {
    expectation: e,
    passed,
    observed,
    ...(passed ? {} : { unexpectedCount: rows.count, failingRows: rows.rows }),
    message: `${e.column}: ${rule(e)} ${verdict(passed)}: observed ${observed}` + (passed ? "" : examples(rows.rows)),
  };
}

function checkBetween(
  e: Extract<Expectation, { expect: "between" }>,
  col: Column,
  n: number,
  samples: number,
  alpha: number,
): ExpectationResult {
  const rows = new Sampler(samples);
  const lo = e.min ?? -Infinity;
  const hi = e.max ?? Infinity;
  let min = Infinity;
  let max = -Infinity;
  let present = 0;
  let notNumbers = 0;
  const numbers = numericView(col);
  for (let i = 0; i < n; i++) {
    if (isNull(col, i)) continue;
    present++;
    const v = numbers[i] as number;
    if (v !== v) {
      notNumbers++;
      rows.add(i, (col as CategoricalColumn).dictionary[(col as CategoricalColumn).codes[i] as number] as string);
      continue;
    }
    if (v < min) min = v;
    if (v > max) max = v;
    if (v < lo || v > hi) rows.add(i, v);
  }
  const tolerance = mostlyTolerance(rows.count, present, e.mostly, alpha);
  const passed = tolerance.passed;
  const range = present - notNumbers === 0 ? { min: null, max: null } : { min, max };
  const what =
    notNumbers > 0
      ? `${rows.count} of ${present} values outside or not numbers (${notNumbers} not numbers)`
      : `${rows.count} of ${present} values outside`;
  return {
    expectation: e,
    passed,
    observed: range,
    unexpectedCount: rows.count,
    unexpectedFraction: present === 0 ? 0 : rows.count / present,
    ...(rows.count > 0 ? { failingRows: rows.rows } : {}),
    ...tolerance.allowed,
    message:
      `${e.column}: ${rule(e)} ${verdict(passed)}: ` +
      (rows.count > 0 ? `${what} (${pct(rows.count, present)})${tolerance.text}, ` : "") +
      `observed min ${range.min === null ? "-" : num(range.min)}, max ${range.max === null ? "-" : num(range.max)}` +
      (rows.count > 0 ? examples(rows.rows) : ""),
  };
}

function checkInSet(
  e: Extract<Expectation, { expect: "in_set" }>,
  col: Column,
  n: number,
  samples: number,
  alpha: number,
): ExpectationResult {
  const rows = new Sampler(samples, MAX_UNSEEN);
  const allowed = new Set<string>(e.values.map(String));
  const present = scanValues(col, n, rows, (text) => allowed.has(text));
  const tolerance = mostlyTolerance(rows.count, present, e.mostly, alpha);
  const passed = tolerance.passed;
  const observed = [...rows.distinct];
  return {
    expectation: e,
    passed,
    observed,
    unexpectedCount: rows.count,
    unexpectedFraction: present === 0 ? 0 : rows.count / present,
    ...(rows.count > 0 ? { failingRows: rows.rows } : {}),
    ...tolerance.allowed,
    message:
      `${e.column}: ${rule(e)} ${verdict(passed)}: ` +
      (rows.count === 0
        ? `all ${present} values in the set`
        : `${rows.count} of ${present} values outside the set (${pct(rows.count, present)})${tolerance.text}, ` +
          `unseen ${observed.map(show).join(", ")}${rows.moreDistinct ? ", …" : ""}` +
          examples(rows.rows)),
  };
}

function checkUnique(
  e: Extract<Expectation, { expect: "unique" }>,
  col: Column,
  n: number,
  samples: number,
): ExpectationResult {
  const rows = new Sampler(samples);
  let present = 0;
  if (col.kind === "categorical") {
    const seen = new Uint8Array(col.dictionary.length);
    for (let i = 0; i < n; i++) {
      const k = col.codes[i] as number;
      if (k < 0) continue;
      present++;
      if (seen[k] === 1) rows.add(i, col.dictionary[k] as string);
      else seen[k] = 1;
    }
  } else {
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      const v = col.values[i] as number;
      if (v !== v) continue;
      present++;
      if (seen.has(v)) rows.add(i, v);
      else seen.add(v);
    }
  }
  const passed = rows.count === 0;
  return {
    expectation: e,
    passed,
    observed: rows.count,
    unexpectedCount: rows.count,
    unexpectedFraction: present === 0 ? 0 : rows.count / present,
    ...(passed ? {} : { failingRows: rows.rows }),
    message:
      `${e.column}: ${rule(e)} ${verdict(passed)}: ` +
      (passed
        ? `all ${present} values distinct`
        : `${rows.count} of ${present} values repeat an earlier row's value` + examples(rows.rows)),
  };
}

function checkRegex(
  e: Extract<Expectation, { expect: "regex" }>,
  col: Column,
  n: number,
  samples: number,
  alpha: number,
): ExpectationResult {
  const rows = new Sampler(samples);
  const re = new RegExp(e.pattern, "u");
  const present = scanValues(col, n, rows, (text) => re.test(text));
  const tolerance = mostlyTolerance(rows.count, present, e.mostly, alpha);
  const passed = tolerance.passed;
  return {
    expectation: e,
    passed,
    observed: rows.count,
    unexpectedCount: rows.count,
    unexpectedFraction: present === 0 ? 0 : rows.count / present,
    ...(rows.count > 0 ? { failingRows: rows.rows } : {}),
    ...tolerance.allowed,
    message:
      `${e.column}: ${rule(e)} ${verdict(passed)}: ` +
      (rows.count === 0
        ? `all ${present} values match`
        : `${rows.count} of ${present} values do not match (${pct(rows.count, present)})${tolerance.text}` +
          examples(rows.rows)),
  };
}

function checkStatistic(
  e: Extract<Expectation, { expect: "mean_between" | "std_between" | "quantile_between" }>,
  col: Column,
  n: number,
  samples: number,
): ExpectationResult {
  const numbers = numericView(col);
  if (col.kind === "categorical") {
    const rows = new Sampler(samples);
    for (let i = 0; i < n; i++) {
      const k = col.codes[i] as number;
      if (k >= 0 && (numbers[i] as number) !== (numbers[i] as number)) rows.add(i, col.dictionary[k] as string);
    }
    if (rows.count > 0) {
      return {
        expectation: e,
        passed: false,
        observed: null,
        unexpectedCount: rows.count,
        failingRows: rows.rows,
        message: `${e.column}: ${rule(e)} failed: ${rows.count} values are not numbers` + examples(rows.rows),
      };
    }
  }
  let observed: number | null;
  if (e.expect === "quantile_between") {
    const sorted = sortedFinite(numbers);
    observed = sorted.length === 0 ? null : quantileSorted(sorted, e.quantile);
  } else {
    // Welford: one pass, no cancellation on large means.
    let count = 0;
    let mean = 0;
    let m2 = 0;
    for (let i = 0; i < n; i++) {
      const v = numbers[i] as number;
      if (v !== v) continue;
      count++;
      const d = v - mean;
      mean += d / count;
      m2 += d * (v - mean);
    }
    observed =
      e.expect === "mean_between" ? (count === 0 ? null : mean) : count < 2 ? null : Math.sqrt(m2 / (count - 1));
  }
  const passed = observed !== null && inBounds(observed, e);
  const label = e.expect === "mean_between" ? "mean" : e.expect === "std_between" ? "standard deviation" : "quantile";
  return result(
    e,
    passed,
    observed,
    `${e.column}: ${rule(e)} ${verdict(passed)}: observed ${label} ${observed === null ? "- (no values)" : num(observed)}`,
  );
}

/** The rule as one readable phrase: `between [300, 850]`, `not_null (max null fraction 0)`. */
export function rule(e: Expectation): string {
  switch (e.expect) {
    case "column_exists":
    case "unique":
      return e.expect;
    case "type":
      return `type ${e.type}`;
    case "not_null":
      return `not_null (max null fraction ${num(e.maxNullFraction)})`;
    case "in_set": {
      const shown = e.values.slice(0, 10).map(show).join(", ");
      return `in_set {${shown}${e.values.length > 10 ? ", …" : ""}}${mostlyText(e.mostly)}`;
    }
    case "regex":
      return `regex /${e.pattern}/${mostlyText(e.mostly)}`;
    case "between":
      return `between ${range(e)}${mostlyText(e.mostly)}`;
    case "quantile_between":
      return `quantile_between q=${num(e.quantile)} ${range(e)}`;
    case "mean_between":
    case "std_between":
    case "row_count_between":
      return `${e.expect} ${range(e)}`;
  }
}

function range(b: Bounds): string {
  return `[${b.min === undefined ? "-∞" : num(b.min)}, ${b.max === undefined ? "∞" : num(b.max)}]`;
}

function mostlyText(mostly: number | undefined): string {
  return mostly === undefined ? "" : ` (mostly ${num(mostly)})`;
}

function result(e: Expectation, passed: boolean, observed: ObservedValue, message: string): ExpectationResult {
  return { expectation: e, passed, observed, message };
}

function verdict(passed: boolean): string {
  return passed ? "passed" : "failed";
}

function inBounds(v: number, b: Bounds): boolean {
  return (b.min === undefined || v >= b.min) && (b.max === undefined || v <= b.max);
}

/**
 * Without `mostly` every row must pass. With it, the rule says "at most 1 − mostly of the values
 * fail" of the population, and a batch is a sample of it: the batch fails only when its failing
 * count is significantly above that rate — more than `binomialAllowance(present, 1 − mostly, alpha)`,
 * which is never less than ⌊(1 − mostly) · present⌋. So one heavy-tail value in 6,000 rows passes
 * `mostly 0.9999`, while 200 in 200,000 does not.
 */
function mostlyTolerance(
  unexpected: number,
  present: number,
  mostly: number | undefined,
  alpha: number,
): { passed: boolean; allowed: { allowedCount?: number }; text: string } {
  if (mostly === undefined) return { passed: unexpected === 0, allowed: {}, text: "" };
  // 1 − 0.9999 is 1.0000000000000009e-4 in floating point: round the rate to what was written.
  const rate = Math.round((1 - mostly) * 1e12) / 1e12;
  const allowed = binomialAllowance(present, rate, alpha);
  const passed = unexpected <= allowed;
  const text = `, ${passed ? "within" : "more than"} the ${allowed} that mostly ${num(mostly)} allows in ${present} at alpha ${num(alpha)}`;
  return { passed, allowed: { allowedCount: allowed }, text };
}

function isNull(col: Column, i: number): boolean {
  if (col.kind === "categorical") return (col.codes[i] as number) < 0;
  const v = col.values[i] as number;
  return v !== v;
}

/** A number as a string column holds it ("1e3", " 42 "); NaN when the text is not one. */
function parseNumber(s: string): number {
  return s.trim() === "" ? NaN : Number(s);
}

/** The column's values as numbers: NaN for nulls and, in a string column, for text that is not a number. */
function numericView(col: Column): Float64Array {
  if (col.kind === "numeric") return col.values;
  const parsed = Float64Array.from(col.dictionary, parseNumber);
  const out = new Float64Array(col.codes.length);
  for (let i = 0; i < out.length; i++) {
    const k = col.codes[i] as number;
    out[i] = k < 0 ? NaN : (parsed[k] as number);
  }
  return out;
}

/** Unseen values an `in_set` result lists. */
const MAX_UNSEEN = 20;

/**
 * Counts the non-null values and adds those `accepts` refuses to `rows`. Numbers are tested as
 * their text; a text column is tested once per distinct value, then looked up per row.
 */
function scanValues(col: Column, n: number, rows: Sampler, accepts: (text: string) => boolean): number {
  let present = 0;
  if (col.kind === "categorical") {
    const ok = col.dictionary.map(accepts);
    for (let i = 0; i < n; i++) {
      const k = col.codes[i] as number;
      if (k < 0) continue;
      present++;
      if (ok[k] !== true) rows.add(i, col.dictionary[k] as string);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = col.values[i] as number;
      if (v !== v) continue;
      present++;
      if (!accepts(String(v))) rows.add(i, v);
    }
  }
  return present;
}

/** Counts every failing row, keeps the first `limit` of them and up to `maxDistinct` distinct failing values. */
class Sampler {
  count = 0;
  readonly rows: FailingRow[] = [];
  readonly distinct = new Set<string | number>();
  moreDistinct = false;
  constructor(
    private readonly limit: number,
    private readonly maxDistinct = 0,
  ) {}
  add(row: number, value: string | number | null): void {
    this.count++;
    if (this.rows.length < this.limit) this.rows.push({ row, value });
    if (value === null || this.distinct.has(value)) return;
    if (this.distinct.size < this.maxDistinct) this.distinct.add(value);
    else if (this.maxDistinct > 0) this.moreDistinct = true;
  }
}

function examples(rows: readonly FailingRow[]): string {
  if (rows.length === 0) return "";
  return `; e.g. ${rows.map((r) => `row ${r.row} = ${r.value === null ? "null" : show(r.value)}`).join(", ")}`;
}

function show(v: string | number): string {
  return typeof v === "number" ? num(v) : JSON.stringify(v);
}

function num(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}

function pct(part: number, whole: number): string {
  return `${((100 * part) / Math.max(1, whole)).toFixed(2)}%`;
}
