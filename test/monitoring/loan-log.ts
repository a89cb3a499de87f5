import { mulberry32 } from "../../src/data/random.js";
import type { InferenceRecord } from "../../src/store/inference-log.js";
import type { LabelInput } from "../../src/store/labels.js";

export const DAY = 86_400_000;
/** 2024-06-01T00:00:00Z. */
export const T0 = Date.UTC(2024, 5, 1);
export const REGIONS = ["north", "south", "east"] as const;

export interface LoggedLoan {
  readonly record: InferenceRecord;
  /** The outcome the label will carry (1 = default). */
  readonly outcome: 0 | 1;
  /** How the outcome arrives: by request id, by entity id + time, or not (yet) at all. */
  readonly labelledBy: "request" | "entity" | "none";
  /** For entity labels: the label's event time (after this prediction, before the entity's next one). */
  readonly labelTime?: number;
}

/**
 * `days` days of a loan-default model's logged predictions (about `perDay` a day), each applicant
 * scored two or three times a few days apart. Scores are rounded to 3 decimals so ties and scores
 * on bin edges occur; the model is weaker and harsher in the east, so fairness gaps are not zero.
 */
export function loanLog(options: { seed: number; days: number; perDay: number; modelName?: string }): LoggedLoan[] {
  // Seeded, so every run logs the same predictions.
  const next = mulberry32(options.seed);
  const modelName = options.modelName ?? "loans";
  const out: LoggedLoan[] = [];
  const total = options.days * options.perDay;
  let k = 0;
  let applicant = 0;
  while (k < total) {
    applicant++;
    const entityId = `app-${applicant}`;
    const regionDraw = next();
    const region = regionDraw < 0.02 ? null : (REGIONS[Math.floor(next() * 3)] as string);
    const visits = 2 + Math.floor(next() * 2);
    let t = T0 + Math.floor(next() * options.days * DAY);
    for (let v = 0; v < visits && k < total; v++) {
      if (t >= T0 + options.days * DAY) break;
      const outcome: 0 | 1 = next() < 0.3 ? 1 : 0;
      const strength = region === "east" ? 0.8 : 2.2;
      const bias = region === "east" ? 0.6 : region === "south" ? -0.3 : 0;
      const logit = (outcome === 1 ? strength : -strength) * (next() - 0.3) + bias + (next() - 0.5);
      const score = Math.round(1000 / (1 + Math.exp(-logit))) / 1000;
      const gap = (1 + Math.floor(next() * 6)) * DAY + Math.floor(next() * 1000);
      const draw = next();
      const labelledBy = draw < 0.45 ? "request" : draw < 0.85 ? "entity" : "none";
      // Half the entity labels are stamped exactly at the prediction time (the "at" of "at or before").
      const labelTime = next() < 0.5 ? t : t + Math.floor(next() * (gap - 1));
      const record: InferenceRecord = {
        requestId: `${modelName}-req-${k}`,
        time: t,
        endpoint: modelName,
        modelName,
        modelVersion: "1",
        route: "champion",
        entityId,
        features: { region, credit_score: 600 + Math.floor(next() * 200) },
        outputs: { score, decision: score >= 0.5 ? "reject" : "approve" },
        latencyMs: 1,
      };
      out.push({ record, outcome, labelledBy, ...(labelledBy === "entity" ? { labelTime } : {}) });
      k++;
      t += gap;
    }
  }
  out.sort((a, b) => a.record.time - b.record.time);
  return out;
}

/** The labels a user would send for the log: by request id or by entity id + event time. */
export function labelsFor(log: readonly LoggedLoan[], source: string): LabelInput[] {
  const labels: LabelInput[] = [];
  for (const l of log) {
    if (l.labelledBy === "request") labels.push({ requestId: l.record.requestId, label: l.outcome, source });
    else if (l.labelledBy === "entity") {
      labels.push({ entityId: l.record.entityId as string, time: l.labelTime as number, label: l.outcome, source });
    }
  }
  return labels;
}

/** Everything below is computed directly from the generator's truth, without keel's metric code. */
export interface Direct {
  predictions: number;
  labelled: number;
  positives: number;
  auc: number | null;
  precision: number | null;
  recall: number | null;
  fnr: number | null;
  ece: number;
  decisionRate: number;
}

export function direct(rows: readonly LoggedLoan[], threshold = 0.5): Direct {
  const labelled = rows.filter((r) => r.labelledBy !== "none");
  const pos = labelled.filter((r) => r.outcome === 1).map((r) => r.record.outputs.score as number);
  const neg = labelled.filter((r) => r.outcome === 0).map((r) => r.record.outputs.score as number);
  // Brute-force pairwise AUC: P(score of a positive > score of a negative), ties count half.
  let wins = 0;
  for (const p of pos) for (const q of neg) wins += p > q ? 1 : p === q ? 0.5 : 0;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const r of labelled) {
    const yes = (r.record.outputs.score as number) >= threshold;
    if (r.outcome === 1 && yes) tp++;
    else if (r.outcome === 1) fn++;
    else if (yes) fp++;
  }
  // Reliability bins as numpy places them: edges i * 0.1, a score belongs to the bin of the number of inner edges below it.
  const n = new Array<number>(10).fill(0);
  const sp = new Array<number>(10).fill(0);
  const sy = new Array<number>(10).fill(0);
  for (const r of labelled) {
    const s = r.record.outputs.score as number;
    let b = 0;
    for (let i = 1; i <= 9; i++) if (i * 0.1 < s) b = i;
    n[b]! += 1;
    sp[b]! += s;
    sy[b]! += r.outcome;
  }
  let ece = 0;
  for (let b = 0; b < 10; b++)
    if (n[b]! > 0) ece += (n[b]! / labelled.length) * Math.abs(sp[b]! / n[b]! - sy[b]! / n[b]!);
  const decided = rows.filter((r) => (r.record.outputs.score as number) >= threshold).length;
  return {
    predictions: rows.length,
    labelled: labelled.length,
    positives: pos.length,
    auc: pos.length > 0 && neg.length > 0 ? wins / (pos.length * neg.length) : null,
    precision: tp + fp === 0 ? null : tp / (tp + fp),
    recall: tp + fn === 0 ? null : tp / (tp + fn),
    fnr: tp + fn === 0 ? null : fn / (tp + fn),
    ece,
    decisionRate: decided / rows.length,
  };
}

/** The segment value keel reports for a prediction's region. */
export const regionOf = (r: LoggedLoan) =>
  r.record.features.region === null ? "(missing)" : String(r.record.features.region);
