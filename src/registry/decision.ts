/**
 * The decision a version's score stands for: the threshold (and, when it was chosen from costs,
 * the cost of each kind of error) chosen at evaluation and stored on the version, so serving,
 * gates and monitoring decide as the evaluation did. Kept as version tags, so MLflow clients see
 * them too; writing them is a tag write, audited as `model_version.set_tag`.
 */
import type { Actor } from "../tracking/index.js";
import { specError } from "../spec-fields.js";
import type { ModelVersion, RegistryStore } from "./types.js";

export const DECISION_THRESHOLD_TAG = "keel.decision_threshold";
export const DECISION_COSTS_TAG = "keel.decision_costs";

/** What one error of each kind costs (a correct decision costs nothing). */
export interface DecisionCosts {
  readonly falsePositive: number;
  readonly falseNegative: number;
}

export interface VersionDecision {
  /** A score at or above it is a positive decision. */
  readonly threshold: number;
  readonly costs?: DecisionCosts;
}

function tag(v: ModelVersion, key: string): string | undefined {
  return v.tags.find((t) => t.key === key)?.value;
}

/** The decision stored on a version; undefined when none was stored. */
export function versionDecision(v: ModelVersion): VersionDecision | undefined {
  const text = tag(v, DECISION_THRESHOLD_TAG);
  if (text === undefined) return undefined;
  const threshold = Number(text);
  if (text.trim() === "" || !(threshold >= 0 && threshold <= 1)) {
    throw specError(
      `model ${v.name} version ${v.version} tag ${DECISION_THRESHOLD_TAG}`,
      text,
      "must be a number in [0, 1]",
    );
  }
  const costsText = tag(v, DECISION_COSTS_TAG);
  if (costsText === undefined) return { threshold };
  const c = JSON.parse(costsText) as { false_positive?: unknown; false_negative?: unknown };
  return { threshold, costs: checkCosts(Number(c.false_positive), Number(c.false_negative)) };
}

export function checkCosts(falsePositive: number, falseNegative: number): DecisionCosts {
  const ok = (x: number) => Number.isFinite(x) && x >= 0;
  if (!ok(falsePositive) || !ok(falseNegative) || falsePositive + falseNegative === 0) {
    throw specError("costs", { falsePositive, falseNegative }, "must be two non-negative numbers, not both 0");
  }
  return { falsePositive, falseNegative };
}

/** Stores a decision on a version (each tag write audited); costs left out are removed. */
export async function setVersionDecision(
  registry: RegistryStore,
  name: string,
  version: string,
  decision: VersionDecision,
  actor: Actor,
): Promise<void> {
  const t = decision.threshold;
  if (!(t >= 0 && t <= 1)) throw specError("threshold", t, "must be a number in [0, 1]");
  const current = await registry.getModelVersion(name, version);
  await registry.setModelVersionTag(name, version, DECISION_THRESHOLD_TAG, String(t), actor);
  if (decision.costs !== undefined) {
    const c = checkCosts(decision.costs.falsePositive, decision.costs.falseNegative);
    const json = JSON.stringify({ false_positive: c.falsePositive, false_negative: c.falseNegative });
    await registry.setModelVersionTag(name, version, DECISION_COSTS_TAG, json, actor);
  } else if (tag(current, DECISION_COSTS_TAG) !== undefined) {
    await registry.deleteModelVersionTag(name, version, DECISION_COSTS_TAG, actor);
  }
}
