import { checkBinaryLabels, checkPair, type NumericArray } from "../stats/index.js";
import { specError } from "../spec-fields.js";

/**
 * Choosing a decision threshold at evaluation (`keel evaluate --choose-threshold fnr<=0.15` or
 * `--cost-matrix fp=1,fn=5`). A score at or above the threshold is a positive decision; the
 * candidates are the distinct scores (and 1 above them all, deciding nothing positive).
 * - `fnr<=b`: the highest threshold whose false-negative rate is at most b (fewest positives
 *   decided while missing at most that share of the positives);
 * - `fpr<=b`: the lowest threshold whose false-positive rate is at most b;
 * - costs: the threshold of the least total cost fp·FP + fn·FN (ties: the highest threshold).
 */
export type ThresholdRule =
  | { readonly kind: "rate"; readonly metric: "fnr" | "fpr"; readonly bound: number }
  | { readonly kind: "cost"; readonly falsePositive: number; readonly falseNegative: number };

export interface ThresholdChoice {
  /** The rule as written: `fnr<=0.15`, `cost fp=1,fn=5`. */
  readonly rule: string;
  readonly threshold: number;
  readonly fnr: number;
  readonly fpr: number;
  /** Mean cost per row at the threshold (cost rules only). */
  readonly costPerRow?: number;
}

/** `fnr<=0.15` or `fpr<=0.05`. */
export function parseThresholdRule(text: string, flag: string): ThresholdRule {
  const m = /^\s*(fnr|fpr)\s*<=\s*([0-9.eE+-]+)\s*$/.exec(text);
  const bound = m === null ? NaN : Number(m[2]);
  if (m === null || !(bound >= 0 && bound <= 1))
    throw specError(flag, text, "must be fnr<=B or fpr<=B with B in [0, 1]");
  return { kind: "rate", metric: m[1] as "fnr" | "fpr", bound };
}

/** `fp=1,fn=5`: what one false positive and one false negative cost. */
export function parseCostMatrix(text: string, flag: string): ThresholdRule {
  const costs = new Map<string, number>();
  for (const part of text.split(",")) {
    const m = /^\s*(fp|fn)\s*=\s*([0-9.eE+]+)\s*$/.exec(part);
    const v = m === null ? NaN : Number(m[2]);
    if (m === null || !(v >= 0) || !Number.isFinite(v) || costs.has(m[1] as string))
      throw specError(flag, text, "must be fp=C,fn=C with two non-negative costs");
    costs.set(m[1] as string, v);
  }
  const falsePositive = costs.get("fp");
  const falseNegative = costs.get("fn");
  if (falsePositive === undefined || falseNegative === undefined || falsePositive + falseNegative === 0)
    throw specError(flag, text, "must be fp=C,fn=C with two non-negative costs, not both 0");
  return { kind: "cost", falsePositive, falseNegative };
}

function ruleText(rule: ThresholdRule): string {
  return rule.kind === "rate"
    ? `${rule.metric}<=${rule.bound}`
    : `cost fp=${rule.falsePositive},fn=${rule.falseNegative}`;
}

export function chooseThreshold(labels: NumericArray, scores: NumericArray, rule: ThresholdRule): ThresholdChoice {
  checkPair(labels, scores);
  const positives = checkBinaryLabels(labels);
  const n = labels.length;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) throw specError("labels", { positives, negatives }, "needs both classes");
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (scores[b] as number) - (scores[a] as number));
  // Sweep thresholds from above every score (nothing positive) down through each distinct score.
  const top = scores[order[0] as number] as number;
  let best: { threshold: number; tp: number; fp: number } | undefined;
  let bestCost = Infinity;
  const consider = (threshold: number, tp: number, fp: number): void => {
    const fn = positives - tp;
    if (rule.kind === "cost") {
      const cost = rule.falsePositive * fp + rule.falseNegative * fn;
      if (cost < bestCost) {
        bestCost = cost;
        best = { threshold, tp, fp };
      }
    } else if (rule.metric === "fnr") {
      if (best === undefined && fn / positives <= rule.bound) best = { threshold, tp, fp };
    } else if (fp / negatives <= rule.bound) {
      best = { threshold, tp, fp };
    }
  };
  if (top < 1) consider(1, 0, 0);
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < n;) {
    const value = scores[order[k] as number] as number;
    while (k < n && scores[order[k] as number] === value) {
      if (labels[order[k] as number] === 1) tp++;
      else fp++;
      k++;
    }
    consider(value, tp, fp);
  }
  if (best === undefined) throw specError("threshold rule", ruleText(rule), "no threshold of these scores meets it");
  const chosen: { threshold: number; tp: number; fp: number } = best;
  return {
    rule: ruleText(rule),
    threshold: chosen.threshold,
    fnr: (positives - chosen.tp) / positives,
    fpr: chosen.fp / negatives,
    ...(rule.kind === "cost" ? { costPerRow: bestCost / n } : {}),
  };
}
