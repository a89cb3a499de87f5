/**
 * Validation gates: declarative pass/fail rules a trained model must clear before it is
 * registered. Every result names the gate, the observed value and the threshold it was held to.
 */
import { specArray, specError, specNumber, specObject, specRequired, specString } from "../spec-fields.js";
import { evaluateBinary, type BinaryEvaluation } from "../learn/index.js";
import { ksSeparation, rocAuc, thresholdMetrics } from "../stats/index.js";

export type GateSpec =
  | { gate: "auc"; min: number }
  | { gate: "ks"; min: number }
  | { gate: "fnr"; max: number; threshold?: number }
  | { gate: "auc_vs_champion"; minDelta: number }
  | { gate: "demographic_parity"; segment: string; maxGap: number; minRows?: number }
  | { gate: "metric"; metric: string; min?: number; max?: number };

export type GateKind = GateSpec["gate"];

/** The loan-default defaults: each gate's bound when a spec leaves it out. */
export const GATE_DEFAULTS = {
  auc: { min: 0.82 },
  ks: { min: 0.3 },
  fnr: { max: 0.15 },
  auc_vs_champion: { minDelta: -0.005 },
  demographic_parity: { maxGap: 0.1 },
} as const;

/**
 * Segment values with fewer rows than this are not compared by the demographic-parity gate (a
 * rate over a handful of rows is noise); they are listed in the gate's message instead.
 */
export const MIN_SEGMENT_ROWS = 30;

/**
 * The seed's loan-default gates. Demographic parity needs a declared segment column, so it is
 * added per pipeline: `{ gate: "demographic_parity", segment: "region", maxGap: 0.1 }`.
 */
export const DEFAULT_LOAN_GATES: readonly GateSpec[] = Object.freeze([
  { gate: "auc", min: GATE_DEFAULTS.auc.min },
  { gate: "ks", min: GATE_DEFAULTS.ks.min },
  { gate: "fnr", max: GATE_DEFAULTS.fnr.max },
  { gate: "auc_vs_champion", minDelta: GATE_DEFAULTS.auc_vs_champion.minDelta },
]);

/**
 * The names keel logs a binary model's validation metrics under (the evaluate step's metrics) and
 * that a `metric` gate may bound.
 */
export const BINARY_METRICS = {
  auc: (e) => e.auc,
  pr_auc: (e) => e.prAuc,
  ks: (e) => e.ks,
  log_loss: (e) => e.logLoss,
  brier: (e) => e.brier,
  accuracy: (e) => e.accuracy,
  precision: (e) => e.precision,
  recall: (e) => e.recall,
  f1: (e) => e.f1,
  fnr: (e) => e.fnr,
  fpr: (e) => e.fpr,
  ece: (e) => e.ece,
} as const satisfies Record<string, (e: BinaryEvaluation) => number>;

type GateMetric = keyof typeof BINARY_METRICS;

function isGateMetric(name: string): name is GateMetric {
  return Object.hasOwn(BINARY_METRICS, name);
}

const unit = { min: 0, max: 1 };

/**
 * Parses a JSON list of gates. A bound left out takes the loan default (`{"gate": "auc"}` is
 * AUC > 0.82); unknown gates, fields or out-of-range bounds throw an InvalidParameterError.
 */
export function parseGates(json: unknown, path = "gates"): GateSpec[] {
  return specArray(json, path).map((item, i) => parseGate(item, `${path}[${i}]`));
}

function parseGate(item: unknown, p: string): GateSpec {
  const kind = specObject(item, p, [
    "gate",
    "min",
    "max",
    "threshold",
    "minDelta",
    "segment",
    "maxGap",
    "minRows",
    "metric",
  ]).gate;
  switch (kind) {
    case "auc":
    case "ks": {
      const o = specObject(item, p, ["gate", "min"]);
      return { gate: kind, min: specNumber(o, "min", p, unit) ?? GATE_DEFAULTS[kind].min };
    }
    case "fnr": {
      const o = specObject(item, p, ["gate", "max", "threshold"]);
      const threshold = specNumber(o, "threshold", p, {});
      return {
        gate: "fnr",
        max: specNumber(o, "max", p, unit) ?? GATE_DEFAULTS.fnr.max,
        ...(threshold === undefined ? {} : { threshold }),
      };
    }
    case "auc_vs_champion": {
      const o = specObject(item, p, ["gate", "minDelta"]);
      return {
        gate: "auc_vs_champion",
        minDelta: specNumber(o, "minDelta", p, { min: -1, max: 1 }) ?? GATE_DEFAULTS.auc_vs_champion.minDelta,
      };
    }
    case "demographic_parity": {
      const o = specObject(item, p, ["gate", "segment", "maxGap", "minRows"]);
      const minRows = specNumber(o, "minRows", p, { integer: true, min: 1 });
      return {
        gate: "demographic_parity",
        segment: specRequired(specString(o, "segment", p), `${p}.segment`),
        maxGap: specNumber(o, "maxGap", p, unit) ?? GATE_DEFAULTS.demographic_parity.maxGap,
        ...(minRows === undefined ? {} : { minRows }),
      };
    }
    case "metric": {
      const o = specObject(item, p, ["gate", "metric", "min", "max"]);
      const metric = specRequired(specString(o, "metric", p), `${p}.metric`);
      if (!isGateMetric(metric)) {
        throw specError(`${p}.metric`, metric, `unknown metric; known: ${Object.keys(BINARY_METRICS).join(", ")}`);
      }
      const min = specNumber(o, "min", p, {});
      const max = specNumber(o, "max", p, {});
      if (min === undefined && max === undefined)
        throw specError(`${p}.min`, undefined, "a metric gate needs min or max");
      if (min !== undefined && max !== undefined && !(min < max))
        throw specError(`${p}.max`, max, `must be > min (${min})`);
      return {
        gate: "metric",
        metric,
        ...(min === undefined ? {} : { min }),
        ...(max === undefined ? {} : { max }),
      };
    }
    default:
      throw specError(`${p}.gate`, kind, "must be one of auc, ks, fnr, auc_vs_champion, demographic_parity, metric");
  }
}

export interface GateEvidence {
  /** Validation labels, 0/1 (1 = the positive class, e.g. default). */
  labels: Float64Array;
  scores: Float64Array;
  /** Decision threshold: a score ≥ threshold is a positive decision (predicted default, reject). */
  threshold: number;
  /** Per segment column, one value per validation row (null = missing). */
  segments?: Readonly<Record<string, readonly (string | null)[]>>;
  /** Validation AUC of the current champion on the same rows; absent when there is none. */
  championAuc?: number;
}

export interface SegmentRate {
  readonly value: string;
  readonly rows: number;
  /** Share of the segment's rows with a positive decision. */
  readonly rate: number;
  /** False when the segment has fewer rows than the gate's minimum and is left out of the gap. */
  readonly compared: boolean;
}

export interface GateResult {
  /** The gate's name: its kind, with the segment or metric for `demographic_parity:<segment>` and `metric:<name>`. */
  gate: string;
  passed: boolean;
  skipped: boolean;
  observed: number | null;
  threshold: number;
  comparator: ">" | "<";
  message: string;
  /** Demographic parity only: each segment value's positive-decision rate. */
  segments?: readonly SegmentRate[];
}

function fmt(v: number): string {
  return v.toFixed(4);
}

function pct(v: number): string {
  return `${(v * 100).toFixed(2)}%`;
}

function compare(observed: number, comparator: ">" | "<", threshold: number): boolean {
  return comparator === ">" ? observed > threshold : observed < threshold;
}

/** A result whose message reads `gate NAME passed|failed: WHAT OBSERVED [is not] CMP THRESHOLD`. */
function verdict(
  gate: string,
  what: string,
  observed: number,
  comparator: ">" | "<",
  threshold: number,
  show: (v: number) => string = fmt,
  thresholdText = String(threshold),
): GateResult {
  const passed = compare(observed, comparator, threshold);
  const message = passed
    ? `gate ${gate} passed: ${what} ${show(observed)} ${comparator} ${thresholdText}`
    : `gate ${gate} failed: ${what} ${show(observed)} is not ${comparator} ${thresholdText}`;
  return { gate, passed, skipped: false, observed, threshold, comparator, message };
}

function checkEvidence(e: GateEvidence): void {
  if (e.scores.length !== e.labels.length)
    throw specError("evidence.scores.length", e.scores.length, `must equal labels.length (${e.labels.length})`);
  if (!Number.isFinite(e.threshold)) throw specError("evidence.threshold", e.threshold, "must be a finite number");
  if (e.championAuc !== undefined && !(e.championAuc > 0 && e.championAuc <= 1))
    throw specError("evidence.championAuc", e.championAuc, "must be in (0, 1]");
}

/**
 * Evaluates every gate on the validation evidence. The run passes only when no gate fails; a
 * skipped gate (auc_vs_champion without a champion) does not fail it.
 */
export function evaluateGates(
  gates: readonly GateSpec[],
  evidence: GateEvidence,
): { passed: boolean; results: GateResult[] } {
  // Specs built in code get the same checks (and defaults) as specs read from JSON.
  const specs = parseGates(gates);
  checkEvidence(evidence);
  const { labels, scores } = evidence;
  // Each statistic once, however many gates read it.
  let auc: number | undefined;
  const getAuc = (): number => (auc ??= rocAuc(labels, scores));
  const evaluations = new Map<number, BinaryEvaluation>();
  const evaluation = (threshold: number): BinaryEvaluation => {
    let e = evaluations.get(threshold);
    if (e === undefined) {
      e = evaluateBinary(labels, scores, threshold);
      evaluations.set(threshold, e);
    }
    return e;
  };

  const results: GateResult[] = [];
  for (const g of specs) {
    switch (g.gate) {
      case "auc":
        results.push(verdict("auc", "validation AUC", getAuc(), ">", g.min));
        break;
      case "ks":
        results.push(verdict("ks", "KS separation", ksSeparation(labels, scores), ">", g.min));
        break;
      case "fnr": {
        const t = g.threshold ?? evidence.threshold;
        const fnr = thresholdMetrics(labels, scores, t).fnr;
        results.push(verdict("fnr", `false negative rate (threshold ${t})`, fnr, "<", g.max));
        break;
      }
      case "auc_vs_champion":
        results.push(championGate(g.minDelta, getAuc, evidence.championAuc));
        break;
      case "demographic_parity":
        results.push(parityGate(g, evidence));
        break;
      case "metric": {
        const metric = g.metric as GateMetric;
        const observed = BINARY_METRICS[metric](evaluation(evidence.threshold));
        if (g.min !== undefined)
          results.push(verdict(`metric:${metric}`, `validation ${metric}`, observed, ">", g.min));
        if (g.max !== undefined)
          results.push(verdict(`metric:${metric}`, `validation ${metric}`, observed, "<", g.max));
        break;
      }
    }
  }
  return { passed: results.every((r) => r.passed), results };
}

function championGate(minDelta: number, getAuc: () => number, championAuc: number | undefined): GateResult {
  if (championAuc === undefined) {
    return {
      gate: "auc_vs_champion",
      passed: true,
      skipped: true,
      observed: null,
      threshold: minDelta,
      comparator: ">",
      message: "gate auc_vs_champion skipped: there is no champion to compare with",
    };
  }
  const auc = getAuc();
  const delta = (auc - championAuc) / championAuc;
  return verdict(
    "auc_vs_champion",
    `validation AUC ${fmt(auc)} vs the champion's ${fmt(championAuc)}: relative change`,
    delta,
    ">",
    minDelta,
    pct,
    pct(minDelta),
  );
}

function parityGate(g: { segment: string; maxGap: number; minRows?: number }, evidence: GateEvidence): GateResult {
  const name = `demographic_parity:${g.segment}`;
  const values = evidence.segments?.[g.segment];
  if (values === undefined) {
    const known = Object.keys(evidence.segments ?? {});
    throw specError(
      `evidence.segments.${g.segment}`,
      undefined,
      `the gate needs this segment column; given: ${known.length > 0 ? known.join(", ") : "none"}`,
    );
  }
  if (values.length !== evidence.scores.length)
    throw specError(
      `evidence.segments.${g.segment}.length`,
      values.length,
      `must equal scores.length (${evidence.scores.length})`,
    );
  const minRows = g.minRows ?? MIN_SEGMENT_ROWS;
  const rows = new Map<string, number>();
  const positives = new Map<string, number>();
  let missing = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      missing++;
      continue;
    }
    rows.set(v, (rows.get(v) ?? 0) + 1);
    if ((evidence.scores[i] as number) >= evidence.threshold) positives.set(v, (positives.get(v) ?? 0) + 1);
  }
  const segments: SegmentRate[] = [...rows.keys()].sort().map((value) => {
    const n = rows.get(value) as number;
    return { value, rows: n, rate: (positives.get(value) ?? 0) / n, compared: n >= minRows };
  });
  const compared = segments.filter((s) => s.compared);
  const notes: string[] = [];
  const small = segments.filter((s) => !s.compared);
  if (small.length > 0)
    notes.push(`not compared, fewer than ${minRows} rows: ${small.map((s) => `${s.value} (${s.rows})`).join(", ")}`);
  if (missing > 0) notes.push(`${missing} rows without a ${g.segment} value not compared`);
  const note = notes.length > 0 ? `; ${notes.join("; ")}` : "";
  if (compared.length === 0 || (compared.length === 1 && small.length > 0)) {
    return {
      gate: name,
      passed: false,
      skipped: false,
      observed: null,
      threshold: g.maxGap,
      comparator: "<",
      message: `gate ${name} failed: cannot be evaluated, ${compared.length} ${g.segment} value(s) with at least ${minRows} rows${note}`,
      segments,
    };
  }
  let lo = compared[0] as SegmentRate;
  let hi = lo;
  for (const s of compared) {
    if (s.rate < lo.rate) lo = s;
    if (s.rate > hi.rate) hi = s;
  }
  const r = verdict(
    name,
    `positive-decision rate gap across ${g.segment} (${hi.value} ${fmt(hi.rate)}, ${lo.value} ${fmt(lo.rate)})`,
    hi.rate - lo.rate,
    "<",
    g.maxGap,
  );
  return { ...r, message: r.message + note, segments };
}
