import type { CategoricalColumn, Frame, NumericColumn } from "./frame.js";
import { betaDraw, choiceDraw, mulberry32, normalDraw, poissonDraw } from "./random.js";

/**
 * Synthetic loan applications, deterministic for a seed: the running example's population (the
 * columns of the seed's loan-default model), with a default risk that a good model can rank well
 * and in which the credit score carries most of the signal. `driftMonths` moves the population
 * as six months of a souring economy would (lower credit scores, higher debt-to-income, more
 * delinquencies), at 6 the seed's drift scenario; income, amount, purpose and region stay put.
 */
export interface LoanApplicationOptions {
  readonly rows: number;
  readonly seed: number;
  /** Months of population drift; 0 is the reference population. */
  readonly driftMonths: number;
}

export const HOME_OWNERSHIP = ["RENT", "OWN", "MORTGAGE"] as const;
export const LOAN_PURPOSES = [
  "debt_consolidation",
  "credit_card",
  "home_improvement",
  "small_business",
  "car",
  "other",
] as const;
export const REGIONS = ["north", "south", "east", "west"] as const;

/** The model inputs, in column order (the frame also holds `applicant_id` and the label `default`). */
export const LOAN_FEATURES = [
  "credit_score",
  "annual_income",
  "debt_to_income_ratio",
  "loan_amount",
  "num_delinquencies_12m",
  "employment_years",
  "loan_term",
  "home_ownership",
  "purpose",
  "region",
] as const;

const HOME_P = [0.4, 0.15, 0.45];
const PURPOSE_P = [0.45, 0.2, 0.1, 0.05, 0.1, 0.1];
const SMALL_BUSINESS = 3;
const RENT = 0;

const round = (v: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/** Columns: applicant_id, the ten model inputs, and `default` (1 = the loan defaulted). */
export function generateLoanApplications(options: LoanApplicationOptions): Frame {
  const n = options.rows;
  const d = options.driftMonths / 6;
  const u = mulberry32(options.seed);
  const credit = new Float64Array(n);
  const income = new Float64Array(n);
  const dti = new Float64Array(n);
  const amount = new Float64Array(n);
  const delinquencies = new Float64Array(n);
  const employment = new Float64Array(n);
  const employmentValid = new Uint8Array(n);
  const term = new Float64Array(n);
  const home = new Int32Array(n);
  const purpose = new Int32Array(n);
  const region = new Int32Array(n);
  const defaulted = new Float64Array(n);
  const ids: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    ids[i] = `A${String(i).padStart(8, "0")}`;
    const c = Math.round(Math.min(850, Math.max(300, 690 - 35 * d + (60 + 10 * d) * normalDraw(u))));
    const inc = round(Math.exp(11 + 0.5 * normalDraw(u)), 2);
    const r = round(Math.min(1, betaDraw(u, 2 + 1.2 * d, 5)), 4);
    const amt = round(Math.max(1000, inc * (0.05 + 0.55 * u())), 2);
    const dq = poissonDraw(u, 0.3 + 0.4 * d);
    const emp = round(Math.min(40, -6 * Math.log(1 - u())), 1);
    const empKnown = u() >= 0.01;
    const t = u() < 0.7 ? 36 : 60;
    const h = choiceDraw(u, HOME_P);
    const p = choiceDraw(u, PURPOSE_P);
    region[i] = Math.floor(u() * REGIONS.length);
    // The risk the label is drawn from. Credit score alone moves the log-odds by about ±2.1
    // per standard deviation, the rest together by less than half of that.
    const z =
      -2.0 -
      0.035 * (c - 690) +
      4 * (r - 0.3) +
      0.5 * dq +
      0.35 * (t === 60 ? 1 : 0) +
      0.5 * (p === SMALL_BUSINESS ? 1 : 0) -
      0.03 * emp +
      0.4 * Math.log(amt / inc + 0.05) +
      0.15 * (h === RENT ? 1 : 0) +
      0.3 * normalDraw(u);
    defaulted[i] = u() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    credit[i] = c;
    income[i] = inc;
    dti[i] = r;
    amount[i] = amt;
    delinquencies[i] = dq;
    employment[i] = empKnown ? emp : NaN;
    employmentValid[i] = empKnown ? 1 : 0;
    term[i] = t;
    home[i] = h;
    purpose[i] = p;
  }
  const num = (name: string, values: Float64Array, valid?: Uint8Array): NumericColumn =>
    valid === undefined ? { kind: "numeric", name, values } : { kind: "numeric", name, values, valid };
  const idCodes = Int32Array.from({ length: n }, (_, i) => i);
  return {
    nRows: n,
    columns: [
      { kind: "categorical", name: "applicant_id", codes: idCodes, dictionary: ids },
      num("credit_score", credit),
      num("annual_income", income),
      num("debt_to_income_ratio", dti),
      num("loan_amount", amount),
      num("num_delinquencies_12m", delinquencies),
      num("employment_years", employment, employmentValid.includes(0) ? employmentValid : undefined),
      num("loan_term", term),
      sortedCategorical("home_ownership", home, HOME_OWNERSHIP),
      sortedCategorical("purpose", purpose, LOAN_PURPOSES),
      sortedCategorical("region", region, REGIONS),
      num("default", defaulted),
    ],
  };
}

/** Frames keep dictionaries sorted (as `readTable` does), so codes never depend on declaration order. */
function sortedCategorical(name: string, codes: Int32Array, values: readonly string[]): CategoricalColumn {
  const dictionary = [...values].sort();
  const remap = values.map((v) => dictionary.indexOf(v));
  const out = new Int32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = remap[codes[i] as number] as number;
  return { kind: "categorical", name, codes: out, dictionary };
}
