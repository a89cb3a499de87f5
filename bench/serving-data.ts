import type { CategoricalColumn, Frame, NumericColumn } from "../src/data/frame.js";

/**
 * Synthetic loan applications for the serving benchmark: the same columns and risk formula as the
 * anchors' gen_loans.py (credit score, debt-to-income, delinquencies, term, purpose …), drawn
 * with a seeded generator so every run scores the same model on the same data.
 */
export const HOME = ["RENT", "OWN", "MORTGAGE"] as const;
export const PURPOSE = [
  "debt_consolidation",
  "credit_card",
  "home_improvement",
  "small_business",
  "car",
  "other",
] as const;

export interface LoanData {
  readonly frame: Frame;
  readonly label: Float64Array;
  /** Row i as a JSON record, as a client would post it. */
  record(i: number): Record<string, string | number | null>;
}

export function generateLoans(n: number, seed = 7): LoanData {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  const pick = (p: readonly number[]) => {
    const r = u();
    let acc = 0;
    for (let k = 0; k < p.length; k++) if (r < (acc += p[k] as number)) return k;
    return p.length - 1;
  };
  const credit = new Float64Array(n);
  const income = new Float64Array(n);
  const dti = new Float64Array(n);
  const amount = new Float64Array(n);
  const delinq = new Float64Array(n);
  const emp = new Float64Array(n);
  const empValid = new Uint8Array(n);
  const term = new Float64Array(n);
  const home = new Int32Array(n);
  const purpose = new Int32Array(n);
  const label = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    credit[i] = Math.round(Math.min(850, Math.max(300, 690 + 60 * normal())));
    income[i] = Math.round(Math.exp(11 + 0.5 * normal()) * 100) / 100;
    dti[i] = Math.round(Math.min(1, Math.max(0, 0.28 + 0.15 * normal())) * 1e4) / 1e4;
    amount[i] = Math.round(Math.max(1000, (income[i] as number) * (0.05 + 0.55 * u())) * 100) / 100;
    delinq[i] = u() < 0.25 ? (u() < 0.2 ? 2 : 1) : 0;
    const e = Math.round(Math.min(40, -6 * Math.log(1 - u())) * 10) / 10;
    empValid[i] = u() < 0.01 ? 0 : 1;
    emp[i] = empValid[i] === 1 ? e : NaN;
    term[i] = u() < 0.7 ? 36 : 60;
    home[i] = pick([0.4, 0.15, 0.45]);
    purpose[i] = pick([0.45, 0.2, 0.1, 0.05, 0.1, 0.1]);
    const z =
      -2.2 -
      0.012 * ((credit[i] as number) - 690) +
      3.0 * ((dti[i] as number) - 0.3) +
      0.45 * (delinq[i] as number) +
      0.35 * (term[i] === 60 ? 1 : 0) +
      0.5 * (purpose[i] === 3 ? 1 : 0) -
      0.03 * (Number.isNaN(emp[i]) ? 0 : (emp[i] as number)) +
      0.4 * Math.log((amount[i] as number) / (income[i] as number) + 0.05) +
      0.15 * (home[i] === 0 ? 1 : 0) +
      0.6 * normal();
    label[i] = u() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  const num = (name: string, values: Float64Array, valid?: Uint8Array): NumericColumn =>
    valid ? { kind: "numeric", name, values, valid } : { kind: "numeric", name, values };
  const cat = (name: string, codes: Int32Array, dictionary: readonly string[]): CategoricalColumn => ({
    kind: "categorical",
    name,
    codes,
    dictionary,
  });
  const frame: Frame = {
    nRows: n,
    columns: [
      num("credit_score", credit),
      num("annual_income", income),
      num("debt_to_income_ratio", dti),
      num("loan_amount", amount),
      num("num_delinquencies_12m", delinq),
      num("employment_years", emp, empValid),
      num("loan_term", term),
      cat("home_ownership", home, HOME),
      cat("purpose", purpose, PURPOSE),
    ],
  };
  return {
    frame,
    label,
    record: (i) => ({
      credit_score: credit[i] as number,
      annual_income: income[i] as number,
      debt_to_income_ratio: dti[i] as number,
      loan_amount: amount[i] as number,
      num_delinquencies_12m: delinq[i] as number,
      employment_years: empValid[i] === 1 ? (emp[i] as number) : null,
      loan_term: term[i] as number,
      home_ownership: HOME[home[i] as number] as string,
      purpose: PURPOSE[purpose[i] as number] as string,
    }),
  };
}
