import type { CandidateReport, RolloutReport } from "../monitoring/index.js";
import type { CanaryApproval } from "../store/index.js";
import type { CanaryApprovalJson, RolloutCandidateJson, RolloutReportJson } from "../wire/index.js";

function candidateJson(c: CandidateReport): RolloutCandidateJson {
  const l = c.latency;
  const p = c.comparison;
  return {
    version: c.version,
    routes: [...c.routes],
    requests: c.requests,
    paired: c.paired,
    agreement: c.agreement,
    ks: c.ks,
    ks_p_value: c.ksPValue,
    mean_abs_score_difference: c.meanAbsScoreDifference,
    p99_abs_score_difference: c.p99AbsScoreDifference,
    latency:
      l === null
        ? null
        : {
            candidate_mean_ms: l.candidateMeanMs,
            champion_mean_ms: l.championMeanMs,
            mean_difference_ms: l.meanDifferenceMs,
            candidate_p99_ms: l.candidateP99Ms,
            champion_p99_ms: l.championP99Ms,
            p99_difference_ms: l.p99DifferenceMs,
          },
    labelled: c.labelled,
    comparison:
      p === null
        ? null
        : {
            labelled: p.labelled,
            positives: p.positives,
            auc_candidate: p.aucCandidate,
            auc_champion: p.aucChampion,
            auc_difference: p.aucDifference,
            ci_low: p.ciLow,
            ci_high: p.ciHigh,
            p_value: p.pValue,
            method: p.method,
            mcnemar_p_value: p.mcnemarPValue,
            verdict: p.verdict,
          },
  };
}

/** The rollout report as the API, `keel rollout report --json` and the canary audit rows carry it. */
export function rolloutReportJson(r: RolloutReport): RolloutReportJson {
  return {
    model: r.modelName,
    champion_version: r.championVersion,
    from: new Date(r.from).toISOString(),
    to: new Date(r.to).toISOString(),
    threshold: r.threshold,
    alpha: r.alpha,
    min_effect: r.minEffect,
    champion_requests: r.championRequests,
    candidates: r.candidates.map(candidateJson),
  };
}

export function canaryApprovalJson(a: CanaryApproval): CanaryApprovalJson {
  return {
    model: a.modelName,
    version: a.modelVersion,
    approver: a.approver,
    reason: a.reason,
    approved_at: new Date(a.approvedAt).toISOString(),
  };
}
