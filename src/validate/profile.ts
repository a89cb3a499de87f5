/**
 * Proposes an expectation suite from reference data: a starting point written down from what the
 * data looks like, meant to be read and edited, not a verdict.
 */
import type { Column, Frame } from "../data/index.js";
import { isIdLike } from "../data/index.js";
import { DEFAULT_MOSTLY_ALPHA, type Expectation, type ExpectationSuite } from "./suite.js";

export interface ProposeOptions {
  readonly name?: string;
  /** String columns with at most this many distinct values get an `in_set` rule (default 100). */
  readonly maxCategories?: number;
}

export const DEFAULT_MAX_CATEGORIES = 100;

/** Proposed numeric ranges reach this share of the observed range past each end. */
export const PROPOSED_RANGE_MARGIN = 0.1;

/**
 * Share of a batch's non-null values a proposed range must hold. A fresh sample of the reference's
 * distribution lands a few values past the widened range in heavy tails (about 1 in 100,000 for a
 * log-normal income profiled from 20,000 rows); a broken feed writing 0.1% garbage does not pass.
 */
export const PROPOSED_RANGE_MOSTLY = 0.9999;

/** Integer columns with at most this many distinct values are discrete: their observed range is kept. */
const DISCRETE_VALUES = 20;

/**
 * Per column: it exists; its type; its null fraction (none allowed when the reference has none,
 * otherwise up to twice the reference's, the threshold monitoring alerts on); numeric columns stay
 * within the observed range widened by `PROPOSED_RANGE_MARGIN` of it at each end (discrete integer
 * columns, such as counts and codes: the observed range), for all but `1 − PROPOSED_RANGE_MOSTLY` of their values, so that a
 * fresh sample of the same distribution passes; their mean within one reference standard deviation of the
 * reference mean and their standard deviation within half to twice the reference's (bounds that
 * catch a broken feed, a unit change or a constant column, not ordinary drift, which monitoring
 * measures); low-cardinality string columns stay in the observed set; id-like columns are unique.
 * The data must not be empty.
 */
export function proposeSuite(frame: Frame, options: ProposeOptions = {}): ExpectationSuite {
  const maxCategories = options.maxCategories ?? DEFAULT_MAX_CATEGORIES;
  const expectations: Expectation[] = [{ expect: "row_count_between", min: 1 }];
  for (const col of frame.columns) expectations.push(...proposeColumn(col, frame.nRows, maxCategories));
  // The test level behind `mostly`, written out so a reader of the suite sees it.
  return { ...(options.name === undefined ? {} : { name: options.name }), alpha: DEFAULT_MOSTLY_ALPHA, expectations };
}

function proposeColumn(col: Column, n: number, maxCategories: number): Expectation[] {
  const column = col.name;
  const out: Expectation[] = [{ expect: "column_exists", column }];
  let nulls = 0;
  if (col.kind === "categorical") {
    out.push({ expect: "type", column, type: "string" });
    const seen = new Uint8Array(col.dictionary.length);
    for (let i = 0; i < n; i++) {
      const k = col.codes[i] as number;
      if (k < 0) nulls++;
      else seen[k] = 1;
    }
    out.push(notNull(column, nulls, n));
    if (isIdLike(col, n)) out.push({ expect: "unique", column });
    else {
      const values = col.dictionary.filter((_, k) => seen[k] === 1);
      if (values.length <= maxCategories) out.push({ expect: "in_set", column, values });
    }
    return out;
  }
  let count = 0;
  let mean = 0;
  let m2 = 0;
  let min = Infinity;
  let max = -Infinity;
  let integral = true;
  const distinct = new Set<number>();
  for (let i = 0; i < n; i++) {
    const v = col.values[i] as number;
    if (v !== v) {
      nulls++;
      continue;
    }
    count++;
    const d = v - mean;
    mean += d / count;
    m2 += d * (v - mean);
    if (v < min) min = v;
    if (v > max) max = v;
    if (integral && !Number.isInteger(v)) integral = false;
    if (distinct.size <= DISCRETE_VALUES) distinct.add(v);
  }
  out.push({ expect: "type", column, type: integral ? "long" : "double" });
  out.push(notNull(column, nulls, n));
  if (isIdLike(col, n)) out.push({ expect: "unique", column });
  if (count === 0) return out;
  out.push(proposedRange(column, min, max, integral, integral && distinct.size <= DISCRETE_VALUES));
  if (count >= 2 && max > min) {
    const std = Math.sqrt(m2 / (count - 1));
    out.push({ expect: "mean_between", column, min: tidy(mean - std), max: tidy(mean + std) });
    out.push({ expect: "std_between", column, min: tidy(std / 2), max: tidy(std * 2) });
  }
  return out;
}

function proposedRange(column: string, min: number, max: number, integral: boolean, discrete: boolean): Expectation {
  const observed = `observed [${min}, ${max}]`;
  const mostlyText = `mostly ${PROPOSED_RANGE_MOSTLY} lets 1 value in ${Math.round(1 / (1 - PROPOSED_RANGE_MOSTLY))} fall outside`;
  if (discrete || min === max) {
    const reason = `${observed}, a discrete column: kept as observed; ${mostlyText}`;
    return { expect: "between", column, min, max, mostly: PROPOSED_RANGE_MOSTLY, reason };
  }
  const margin = PROPOSED_RANGE_MARGIN * (max - min);
  // A column that was never negative (amounts, counts, rates) does not become so.
  const low = min >= 0 ? Math.max(0, min - margin) : min - margin;
  const high = max + margin;
  return {
    expect: "between",
    column,
    // Rounded outward: integers for integer columns, six digits otherwise, never inside the observed range.
    min: integral ? Math.floor(low) : Math.min(tidy(low), min),
    max: integral ? Math.ceil(high) : Math.max(tidy(high), max),
    mostly: PROPOSED_RANGE_MOSTLY,
    reason: `${observed} widened by ${PROPOSED_RANGE_MARGIN * 100}% of the range at each end; ${mostlyText}`,
  };
}

function notNull(column: string, nulls: number, n: number): Expectation {
  const fraction = n === 0 ? 0 : nulls / n;
  // Rounded up, so the reference itself always passes.
  return { expect: "not_null", column, maxNullFraction: Math.min(1, Math.ceil(2 * fraction * 1e4) / 1e4) };
}

/** Six significant digits: the suite stays readable and the bound moves by less than 1e-5 relative. */
function tidy(v: number): number {
  return Number(v.toPrecision(6));
}
