import { InvalidStateError } from "../errors.js";
import {
  delongPaired,
  ks2samp,
  mcnemar,
  normalTwoSidedCritical,
  quantileSorted,
  verdictOf,
  type Verdict,
} from "../stats/index.js";
import { CHAMPION_ALIAS, versionDecision, type RegistryStore } from "../registry/index.js";
import type { InferenceRecord } from "../store/index.js";
import { specError } from "../spec-fields.js";
import { loadLabelledPredictions, MAX_PREDICTIONS, type LabelSources } from "./labels.js";

/**
 * The rollout report: every version that answered a model's traffic besides the champion (as a
 * shadow, a challenger or a canary) held against the champion on the same requests. A request is
 * paired when the champion's answer and the candidate's are both logged under its request id —
 * every shadow answer is, and so is every challenger or canary answer, since serving scores the
 * champion as a shadow of those routes. Labels joined to the request (by keel's join rules) make
 * the paired comparison of `keel evaluate` possible on the labelled pairs.
 */
export interface RolloutReportOptions {
  readonly modelName: string;
  /** The version the others are held against (the `champion` alias's). */
  readonly championVersion: string;
  /** Epoch ms, inclusive / exclusive. */
  readonly from: number;
  readonly to: number;
  /** Decision threshold of agreement and McNemar's test (the champion's, default 0.5). */
  readonly threshold?: number;
  /** Significance level of the paired comparison (default 0.05). */
  readonly alpha?: number;
  /** The smallest AUC gain that counts as better (default 0). */
  readonly minEffect?: number;
  readonly maxPredictions?: number;
}

/** Latencies of the paired answers (milliseconds). */
export interface LatencyComparison {
  readonly candidateMeanMs: number;
  readonly championMeanMs: number;
  /** candidate − champion. */
  readonly meanDifferenceMs: number;
  readonly candidateP99Ms: number;
  readonly championP99Ms: number;
  readonly p99DifferenceMs: number;
}

/** `keel evaluate`'s paired comparison, candidate (a) against champion (b), on the labelled pairs. */
export interface PairedComparison {
  readonly labelled: number;
  readonly positives: number;
  readonly aucCandidate: number;
  readonly aucChampion: number;
  /** AUC(candidate) − AUC(champion). */
  readonly aucDifference: number;
  readonly standardError: number;
  readonly ciLow: number;
  readonly ciHigh: number;
  readonly pValue: number;
  readonly method: "delong";
  readonly mcnemarPValue: number;
  readonly verdict: Verdict;
}

export interface CandidateReport {
  readonly version: string;
  /** The routes the version answered on: shadow, challenger, canary. */
  readonly routes: readonly string[];
  /** Requests the version answered in the window. */
  readonly requests: number;
  /** Of those, how many the champion answered too. */
  readonly paired: number;
  /** Share of paired requests where both decisions at the threshold agree; null without pairs. */
  readonly agreement: number | null;
  /** Two-sample KS between the candidate's and the champion's scores on the paired requests. */
  readonly ks: number | null;
  readonly ksPValue: number | null;
  /** Mean and 99th percentile (linear interpolation) of |candidate − champion| per paired request. */
  readonly meanAbsScoreDifference: number | null;
  readonly p99AbsScoreDifference: number | null;
  readonly latency: LatencyComparison | null;
  /** Paired requests with a label. */
  readonly labelled: number;
  /** Null until the labelled pairs hold at least two of each class. */
  readonly comparison: PairedComparison | null;
}

export interface RolloutReport {
  readonly modelName: string;
  readonly championVersion: string;
  readonly from: number;
  readonly to: number;
  readonly threshold: number;
  readonly alpha: number;
  readonly minEffect: number;
  /** Requests the champion answered in the window (served or scored alongside). */
  readonly championRequests: number;
  readonly candidates: readonly CandidateReport[];
}

/** Routes a candidate version answers on; the champion answers on `champion` or as a shadow. */
const CANDIDATE_ROUTES = new Set(["shadow", "challenger", "canary"]);

interface Answer {
  readonly score: number;
  readonly latencyMs: number;
}

function scoreOf(r: InferenceRecord): number | undefined {
  const s = r.outputs.score;
  return typeof s === "number" && Number.isFinite(s) ? s : undefined;
}

function checkOptions(o: RolloutReportOptions): { threshold: number; alpha: number; minEffect: number } {
  if (!Number.isSafeInteger(o.from)) throw specError("from", o.from, "must be epoch milliseconds");
  if (!Number.isSafeInteger(o.to) || o.to <= o.from)
    throw specError("to", o.to, "must be epoch milliseconds after from");
  const threshold = o.threshold ?? 0.5;
  const alpha = o.alpha ?? 0.05;
  const minEffect = o.minEffect ?? 0;
  if (!Number.isFinite(threshold)) throw specError("threshold", threshold, "must be a finite number");
  if (!(alpha > 0 && alpha < 1)) throw specError("alpha", alpha, "must be in (0, 1)");
  if (!(minEffect >= 0 && minEffect < 1)) throw specError("minEffect", minEffect, "must be in [0, 1)");
  return { threshold, alpha, minEffect };
}

/** The rollout report of a model over [from, to) (see RolloutReport). */
export async function rolloutReport(sources: LabelSources, options: RolloutReportOptions): Promise<RolloutReport> {
  const { threshold, alpha, minEffect } = checkOptions(options);
  const max = options.maxPredictions ?? MAX_PREDICTIONS;
  const { modelName, championVersion, from, to } = options;
  const all = await sources.inferenceLog.query({ modelName, from, to, limit: max + 1 });
  if (all.length > max) {
    throw new InvalidStateError(
      `model ${JSON.stringify(modelName)} logged more than ${max} answers in the window; report a shorter window`,
      { details: { field: "window", value: to - from, rule: `at most ${max} answers` } },
    );
  }
  const champion = new Map<string, Answer>();
  const candidates = new Map<string, { routes: Set<string>; answers: Map<string, Answer> }>();
  for (const r of all) {
    const score = scoreOf(r);
    if (score === undefined) continue;
    const answer = { score, latencyMs: r.latencyMs };
    if (r.modelVersion === championVersion) {
      if (r.route === "champion" || r.route === "shadow") champion.set(r.requestId, answer);
      continue;
    }
    if (!CANDIDATE_ROUTES.has(r.route)) continue;
    let c = candidates.get(r.modelVersion);
    if (c === undefined) candidates.set(r.modelVersion, (c = { routes: new Set(), answers: new Map() }));
    c.routes.add(r.route);
    c.answers.set(r.requestId, answer);
  }
  const labels = await requestLabels(sources, { modelName, from, to, maxPredictions: max, windowRows: all });
  const out: CandidateReport[] = [];
  for (const [version, c] of [...candidates].sort((a, b) => Number(a[0]) - Number(b[0]) || a[0].localeCompare(b[0]))) {
    out.push(candidateReport(version, [...c.routes].sort(), c.answers, champion, labels, threshold, alpha, minEffect));
  }
  return {
    modelName,
    championVersion,
    from,
    to,
    threshold,
    alpha,
    minEffect,
    championRequests: champion.size,
    candidates: out,
  };
}

/** The label of each served request in the window, by keel's join rules (docs/monitoring.md). */
async function requestLabels(
  sources: LabelSources,
  window: Parameters<typeof loadLabelledPredictions>[1],
): Promise<Map<string, number>> {
  const served = await loadLabelledPredictions(sources, window);
  const out = new Map<string, number>();
  for (let i = 0; i < served.records.length; i++) {
    const y = served.labels[i] as number;
    if (y === y) out.set((served.records[i] as InferenceRecord).requestId, y);
  }
  return out;
}

function candidateReport(
  version: string,
  routes: readonly string[],
  answers: ReadonlyMap<string, Answer>,
  champion: ReadonlyMap<string, Answer>,
  labels: ReadonlyMap<string, number>,
  threshold: number,
  alpha: number,
  minEffect: number,
): CandidateReport {
  const pairs: [Answer, Answer, number][] = [];
  for (const [id, a] of answers) {
    const b = champion.get(id);
    if (b !== undefined) pairs.push([a, b, labels.get(id) ?? NaN]);
  }
  const n = pairs.length;
  const cand = new Float64Array(n);
  const champ = new Float64Array(n);
  const delta = new Float64Array(n);
  const candLatency = new Float64Array(n);
  const champLatency = new Float64Array(n);
  let agree = 0;
  let labelled = 0;
  for (let i = 0; i < n; i++) {
    const [a, b, y] = pairs[i] as [Answer, Answer, number];
    cand[i] = a.score;
    champ[i] = b.score;
    delta[i] = Math.abs(a.score - b.score);
    candLatency[i] = a.latencyMs;
    champLatency[i] = b.latencyMs;
    if (a.score >= threshold === b.score >= threshold) agree++;
    if (y === y) labelled++;
  }
  const base = { version, routes, requests: answers.size, paired: n, labelled };
  if (n === 0) {
    return {
      ...base,
      agreement: null,
      ks: null,
      ksPValue: null,
      meanAbsScoreDifference: null,
      p99AbsScoreDifference: null,
      latency: null,
      comparison: null,
    };
  }
  const ks = ks2samp(cand, champ);
  const sortedDelta = Float64Array.from(delta).sort();
  return {
    ...base,
    agreement: agree / n,
    ks: ks.statistic,
    ksPValue: ks.pValue,
    meanAbsScoreDifference: mean(delta),
    p99AbsScoreDifference: quantileSorted(sortedDelta, 0.99),
    latency: latencyOf(candLatency, champLatency),
    comparison: comparisonOf(pairs, labelled, threshold, alpha, minEffect),
  };
}

function mean(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] as number;
  return s / a.length;
}

function latencyOf(cand: Float64Array, champ: Float64Array): LatencyComparison {
  const p99 = (a: Float64Array) => quantileSorted(Float64Array.from(a).sort(), 0.99);
  const candidateMeanMs = mean(cand);
  const championMeanMs = mean(champ);
  const candidateP99Ms = p99(cand);
  const championP99Ms = p99(champ);
  return {
    candidateMeanMs,
    championMeanMs,
    meanDifferenceMs: candidateMeanMs - championMeanMs,
    candidateP99Ms,
    championP99Ms,
    p99DifferenceMs: candidateP99Ms - championP99Ms,
  };
}

/** DeLong and McNemar on the labelled pairs; null unless they hold two of each class. */
function comparisonOf(
  pairs: readonly [Answer, Answer, number][],
  labelled: number,
  threshold: number,
  alpha: number,
  minEffect: number,
): PairedComparison | null {
  const y = new Float64Array(labelled);
  const a = new Float64Array(labelled);
  const b = new Float64Array(labelled);
  let k = 0;
  let positives = 0;
  for (const [ca, cb, label] of pairs) {
    if (label !== label) continue;
    y[k] = label;
    a[k] = ca.score;
    b[k++] = cb.score;
    positives += label;
  }
  if (positives < 2 || labelled - positives < 2) return null;
  const d = delongPaired(y, a, b, 1 - alpha);
  const decide = (s: Float64Array) => Uint8Array.from(s, (v) => (v >= threshold ? 1 : 0));
  return {
    labelled,
    positives,
    aucCandidate: d.aucA,
    aucChampion: d.aucB,
    aucDifference: d.difference,
    standardError: d.standardError,
    ciLow: d.ciLow,
    ciHigh: d.ciHigh,
    pValue: d.pValue,
    method: "delong",
    mcnemarPValue: mcnemar(y, decide(a), decide(b)).pValue,
    verdict: verdictOf(d.ciLow, d.ciHigh, minEffect),
  };
}

/**
 * The gate `challenger_beats_champion`: the candidate's AUC gain over the champion, on the
 * labelled paired requests, must clear `minAucGain` with the whole (1 − α) confidence interval
 * (DeLong). `advance` when it does; `rollback` when the interval lies wholly below zero (the
 * candidate is significantly worse); otherwise `hold` — including while labels are too few.
 */
export interface ChallengerGate {
  readonly gate: "challenger_beats_champion";
  readonly minAucGain: number;
  readonly alpha: number;
}

export interface GateDecision {
  readonly decision: "advance" | "hold" | "rollback";
  readonly reason: string;
}

export function challengerBeatsChampion(candidate: CandidateReport | undefined, gate: ChallengerGate): GateDecision {
  const c = candidate?.comparison;
  if (candidate === undefined || c === null || c === undefined) {
    const labelled = candidate?.labelled ?? 0;
    return {
      decision: "hold",
      reason: `challenger_beats_champion: ${labelled} labelled paired requests, too few for DeLong's test (needs two of each class)`,
    };
  }
  const z = normalTwoSidedCritical(gate.alpha);
  const low = c.aucDifference - z * c.standardError;
  const high = c.aucDifference + z * c.standardError;
  const level = `${Math.round((1 - gate.alpha) * 1000) / 10}%`;
  const figures = `AUC gain ${c.aucDifference.toFixed(4)} (${level} CI ${low.toFixed(4)} to ${high.toFixed(4)}, p = ${c.pValue.toPrecision(3)}) on ${c.labelled} labelled paired requests`;
  if (low > gate.minAucGain)
    return { decision: "advance", reason: `challenger_beats_champion passed: ${figures} > ${gate.minAucGain}` };
  if (high < 0) return { decision: "rollback", reason: `challenger_beats_champion: significantly worse, ${figures}` };
  return {
    decision: "hold",
    reason: `challenger_beats_champion not yet shown: ${figures}, needs the CI above ${gate.minAucGain}`,
  };
}

export interface ModelRolloutSources extends LabelSources {
  readonly registry: Pick<RegistryStore, "getVersionByAlias" | "getModelVersion">;
}

/** Default window: the last 72 hours, the longest shadow comparison the loan example runs. */
export const DEFAULT_ROLLOUT_WINDOW_MS = 72 * 3_600_000;

/**
 * The rollout report against the model's current `champion`, at the champion version's stored
 * decision threshold (0.5 when it has none) unless one is given.
 */
export async function modelRolloutReport(
  sources: ModelRolloutSources,
  options: Omit<RolloutReportOptions, "championVersion"> & { readonly championVersion?: string },
): Promise<RolloutReport> {
  const champion =
    options.championVersion === undefined
      ? await sources.registry.getVersionByAlias(options.modelName, CHAMPION_ALIAS)
      : await sources.registry.getModelVersion(options.modelName, options.championVersion);
  const threshold = options.threshold ?? versionDecision(champion)?.threshold;
  return rolloutReport(sources, {
    ...options,
    championVersion: champion.version,
    ...(threshold !== undefined ? { threshold } : {}),
  });
}
