import type { Frame } from "../src/data/frame.js";
import { LOAN_FEATURES, generateLoanApplications } from "../src/data/loan-applications.js";
import { selectColumns } from "../src/data/roles.js";

/**
 * Loan applications for the serving benchmark (keel's generator, seeded, so every run scores the
 * same model on the same data): the nine inputs the FastAPI anchor's request model declares.
 */
const INPUTS = LOAN_FEATURES.filter((c) => c !== "region");

export interface LoanData {
  readonly frame: Frame;
  readonly label: Float64Array;
  /** Row i as a JSON record, as a client would post it. */
  record(i: number): Record<string, string | number | null>;
}

export function generateLoans(n: number, seed = 7): LoanData {
  const all = generateLoanApplications({ rows: n, seed, driftMonths: 0 });
  const frame = selectColumns(all, INPUTS);
  const target = all.columns.find((c) => c.name === "default");
  if (target?.kind !== "numeric") throw new Error("the generator has no numeric default column");
  return {
    frame,
    label: target.values,
    record: (i) => {
      const out: Record<string, string | number | null> = {};
      for (const c of frame.columns) {
        if (c.kind === "numeric") {
          const v = c.values[i] as number;
          out[c.name] = Number.isNaN(v) ? null : v;
        } else {
          const k = c.codes[i] as number;
          out[c.name] = k < 0 ? null : (c.dictionary[k] as string);
        }
      }
      return out;
    },
  };
}
