/**
 * The evaluation gate on prompt promotion: before an alias with an evaluation gate
 * (`prompts.promotionGates.<alias> = { gate, dataset?, thresholds }`) may point at a version, the
 * version's newest evaluation (on that dataset) must meet every threshold, and every LLM judge
 * whose metric a threshold reads must have passed its calibration against human labels. The
 * evidence (run, metrics, thresholds) goes into the promotion's audited reason.
 *
 * The evidence is read from the version tag `keel.gate.evaluation.<dataset>` that an evaluation
 * writes when it finishes, not from the tracking run: a writer can log any run through MLflow's
 * API, but writing a `keel.gate.*` tag there needs the approver role.
 */
import { InvalidStateError } from "../../errors.js";
import type { AliasMove, RegistryStore } from "../../registry/index.js";
import type { EvalGateConfig } from "../gateway/index.js";
import {
  GATE_TAG_PREFIX,
  getPromptVersion,
  promotePrompt,
  type PromotePromptInput,
  type PromptPromotionGates,
  type PromptVersion,
} from "../prompts/index.js";
import { JUDGE_CALIBRATION_TAG } from "./calibration.js";

/** `keel.gate.evaluation.<dataset>`: the JSON `EvaluationEvidence` of the version's newest evaluation on that dataset. */
export const EVALUATION_EVIDENCE_PREFIX = `${GATE_TAG_PREFIX}evaluation.`;

/** What an evaluation leaves on the prompt version for the gate. */
export interface EvaluationEvidence {
  readonly run_id: string;
  readonly dataset: string;
  readonly dataset_version: string;
  /** Epoch ms the evaluation finished. */
  readonly time: number;
  readonly metrics: Readonly<Record<string, number>>;
  /** The LLM judges: evaluator name and rubric version (`name@version`). */
  readonly judges: readonly { readonly name: string; readonly prompt: string }[];
}

export interface EvalGateEvidence {
  readonly gate: string;
  readonly passed: boolean;
  /** The evaluation run read (absent when there is none). */
  readonly runId?: string;
  readonly dataset?: string;
  readonly metrics: Readonly<Record<string, number | null>>;
  readonly thresholds: EvalGateConfig["thresholds"];
  /** Why it failed, one line per failed check. */
  readonly failures: readonly string[];
}

function newestEvidence(version: PromptVersion, dataset: string | undefined): EvaluationEvidence | undefined {
  let newest: EvaluationEvidence | undefined;
  for (const t of version.tags) {
    if (!t.key.startsWith(EVALUATION_EVIDENCE_PREFIX)) continue;
    if (dataset !== undefined && t.key !== EVALUATION_EVIDENCE_PREFIX + dataset) continue;
    const e = JSON.parse(t.value) as EvaluationEvidence;
    if (newest === undefined || e.time > newest.time) newest = e;
  }
  return newest;
}

/** Each threshold a run's metrics miss, as `metric = value < min` lines, and the metrics read. */
export function thresholdFailures(
  runMetrics: Readonly<Record<string, number>>,
  thresholds: EvalGateConfig["thresholds"],
  runId: string,
): { metrics: Record<string, number | null>; failures: string[] } {
  const metrics: Record<string, number | null> = {};
  const failures: string[] = [];
  for (const [key, bound] of Object.entries(thresholds)) {
    const value = runMetrics[key];
    metrics[key] = value ?? null;
    if (value === undefined || Number.isNaN(value)) failures.push(`${key} is missing from run ${runId}`);
    else if (bound.min !== undefined && value < bound.min) failures.push(`${key} = ${value} < ${bound.min}`);
    else if (bound.max !== undefined && value > bound.max) failures.push(`${key} = ${value} > ${bound.max}`);
  }
  return { metrics, failures };
}

/** Checks prompt `name` version `version` against `gate` (see the module comment). */
export async function checkEvalGate(
  registry: RegistryStore,
  name: string,
  version: string,
  gate: EvalGateConfig,
): Promise<EvalGateEvidence> {
  const v = await getPromptVersion(registry, name, version);
  const e = newestEvidence(v, gate.dataset);
  if (e === undefined) {
    const on = gate.dataset === undefined ? "" : ` on dataset ${gate.dataset}`;
    return {
      gate: gate.gate,
      passed: false,
      metrics: {},
      thresholds: gate.thresholds,
      failures: [`no evaluation of this version${on}`],
    };
  }
  const { metrics, failures } = thresholdFailures(e.metrics, gate.thresholds, e.run_id);
  for (const key of Object.keys(gate.thresholds)) {
    const judge = e.judges.find((j) => key.startsWith(`${j.name}/`));
    if (judge !== undefined) {
      const at = judge.prompt.lastIndexOf("@");
      const rubric = await getPromptVersion(registry, judge.prompt.slice(0, at), judge.prompt.slice(at + 1));
      const calibration = rubric.tags.find((t) => t.key === JUDGE_CALIBRATION_TAG)?.value;
      if (calibration !== "passed") {
        failures.push(
          `judge ${judge.name} (${judge.prompt}) ${calibration === undefined ? "is not calibrated" : `calibration is ${calibration}`}; its scores cannot gate`,
        );
      }
    }
  }
  return {
    gate: gate.gate,
    passed: failures.length === 0,
    runId: e.run_id,
    dataset: `${e.dataset}@${e.dataset_version}`,
    metrics,
    thresholds: gate.thresholds,
    failures,
  };
}

function evidenceText(e: EvalGateEvidence): string {
  const checks = Object.entries(e.thresholds).map(([k, b]) => {
    const bounds = [b.min === undefined ? "" : `>= ${b.min}`, b.max === undefined ? "" : `<= ${b.max}`].filter(Boolean);
    return `${k} = ${e.metrics[k]} ${bounds.join(" and ")}`;
  });
  return `[gate ${e.gate}: passed; run ${e.runId}; dataset ${e.dataset}; ${checks.join("; ")}]`;
}

/**
 * Promotion with both kinds of gate: the evaluation gate of `input.alias` (when configured) is
 * checked first and its evidence appended to the reason, then `promotePrompt` applies the tag
 * gates and moves the alias in one audited transaction. A failing gate is INVALID_STATE with
 * the evidence in its details.
 */
export async function promotePromptGated(
  stores: { readonly registry: RegistryStore },
  input: PromotePromptInput,
  gates: { readonly promptGates?: PromptPromotionGates; readonly evalGates?: Readonly<Record<string, EvalGateConfig>> },
): Promise<AliasMove & { readonly evidence?: EvalGateEvidence }> {
  const gate = gates.evalGates?.[input.alias];
  if (gate === undefined) return promotePrompt(stores.registry, input, gates.promptGates);
  const version = await getPromptVersion(stores.registry, input.name, input.version);
  const evidence = await checkEvalGate(stores.registry, version.name, version.version, gate);
  if (!evidence.passed) {
    throw new InvalidStateError(
      `prompt ${JSON.stringify(input.name)} version ${version.version} cannot become ${JSON.stringify(input.alias)}: gate ${JSON.stringify(gate.gate)} failed: ${evidence.failures.join("; ")}`,
      { details: { ...evidence } },
    );
  }
  const move = await promotePrompt(
    stores.registry,
    { ...input, version: version.version, reason: `${input.reason} ${evidenceText(evidence)}` },
    gates.promptGates,
  );
  return { ...move, evidence };
}
