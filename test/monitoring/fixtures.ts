import { readTable } from "../../src/data/index.js";
import type { Frame } from "../../src/data/index.js";
import type { InferenceRecord } from "../../src/store/inference-log.js";
import { LOAN_FEATURES } from "../../src/data/loan-applications.js";

// gen_loans.py 5000 rows: the reference (seed 7) and the six-month drifted population (--drift 6 --seed 11).
export const REF_CSV = new URL("../fixtures/drift/loans_ref_5k.csv", import.meta.url).pathname;
export const DRIFT_CSV = new URL("../fixtures/drift/loans_drift6_5k.csv", import.meta.url).pathname;

export const FEATURES: readonly string[] = LOAN_FEATURES;

export function loadFrame(path: string): Promise<Frame> {
  return readTable(path);
}

/** A fixed scoring rule standing in for the model: the logistic of a linear score of three inputs. */
export function scoreRow(credit: number, dti: number, delinquencies: number): number {
  const z = -0.012 * (credit - 680) + 3 * (dti - 0.3) + 0.6 * delinquencies - 2;
  return 1 / (1 + Math.exp(-z));
}

export function frameScores(f: Frame): Float64Array {
  const col = (name: string) => {
    const c = f.columns.find((x) => x.name === name);
    if (c?.kind !== "numeric") throw new Error(`no numeric ${name}`);
    return c.values;
  };
  const cs = col("credit_score");
  const dti = col("debt_to_income_ratio");
  const dq = col("num_delinquencies_12m");
  return Float64Array.from({ length: f.nRows }, (_, i) => scoreRow(cs[i]!, dti[i]!, dq[i]!));
}

/** The frame's rows as inference-log records, one every `stepMs` from `start`, as serving writes them. */
export function recordsOf(
  f: Frame,
  opts: { start: number; stepMs: number; version: string; prefix: string; rows?: number; threshold?: number },
): InferenceRecord[] {
  const scores = frameScores(f);
  const n = opts.rows ?? f.nRows;
  const out: InferenceRecord[] = [];
  for (let i = 0; i < n; i++) {
    const features: Record<string, string | number | null> = {};
    for (const c of f.columns) {
      if (!FEATURES.includes(c.name)) continue;
      if (c.kind === "numeric") features[c.name] = Number.isNaN(c.values[i]!) ? null : c.values[i]!;
      else features[c.name] = c.codes[i]! < 0 ? null : c.dictionary[c.codes[i]!]!;
    }
    const score = scores[i]!;
    out.push({
      requestId: `${opts.prefix}-${i}`,
      time: opts.start + i * opts.stepMs,
      endpoint: "loans",
      modelName: "loan-default",
      modelVersion: opts.version,
      route: "champion",
      entityId: `A${i}`,
      features,
      outputs: { score, decision: score >= (opts.threshold ?? 0.35) ? "reject" : "approve" },
      latencyMs: 1,
    });
  }
  return out;
}

/**
 * Counts in [−∞, e₀), [e₀, e₁), …, [e_{k−1}, e_k], (e_k, ∞] written out by a linear scan over the
 * edges, independently of src/stats' sorted-sample histogram.
 */
export function countByScan(values: Float64Array, edges: readonly number[]): number[] {
  const k = edges.length - 1;
  const counts = new Array<number>(k + 2).fill(0);
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    let slot: number;
    if (v < edges[0]!) slot = 0;
    else if (v > edges[k]!) slot = k + 1;
    else if (v === edges[k]) slot = k;
    else {
      slot = 1;
      while (!(v >= edges[slot - 1]! && v < edges[slot]!)) slot++;
    }
    counts[slot]! += 1;
  }
  return counts;
}
