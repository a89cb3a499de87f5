import { challengerBeatsChampion, modelRolloutReport, type ModelRolloutSources } from "../monitoring/index.js";
import type { CanaryGateDecision, CanaryGateRequest } from "../serving/index.js";
import { rolloutReportJson } from "./rollout-json.js";

/**
 * Serving's canary gate, evaluated on monitoring's rollout report: the canary against the
 * champion on the requests both answered since the canary started. The report is returned as the
 * decision's evidence, so it is stored with the decision in the audit log.
 */
export function canaryGateEvaluator(
  sources: ModelRolloutSources,
): (request: CanaryGateRequest) => Promise<CanaryGateDecision> {
  return async (r) => {
    const report = await modelRolloutReport(sources, {
      modelName: r.modelName,
      championVersion: r.championVersion,
      from: r.from,
      to: Math.max(r.to, r.from + 1),
      alpha: r.gate.alpha,
      minEffect: r.gate.minAucGain,
    });
    const candidate = report.candidates.find((c) => c.version === r.canaryVersion);
    return { ...challengerBeatsChampion(candidate, r.gate), evidence: rolloutReportJson(report) };
  };
}
