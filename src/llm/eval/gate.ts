/**
 * The evaluation gate on prompt promotion: before an alias with an evaluation gate
 * (`prompts.promotionGates.<alias> = { gate, dataset?, thresholds }`) may point at a version, the
 * newest finished evaluation run of that version must meet every threshold, and every LLM judge
 * whose metric a threshold reads must have passed its calibration against human labels. The
 * evidence (run, metrics, thresholds) goes into the promotion's audited reason.
 */
import { InvalidStateError, NotFoundError } from "../../errors.js";
import type { AliasMove, RegistryStore } from "../../registry/index.js";
import type { TrackingStore } from "../../tracking/index.js";
import type { EvalGateConfig } from "../gateway/index.js";
import {
  getPromptVersion,
  promotePrompt,
  type PromotePromptInput,
  type PromptPromotionGates,
} from "../prompts/index.js";
import { JUDGE_CALIBRATION_TAG } from "./calibration.js";
import { EVAL_EXPERIMENT, EVAL_TAGS } from "./run-eval.js";

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

const quote = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

/** Checks prompt `name` version `version` against `gate` (see the module comment). */
export async function checkEvalGate(
  stores: { readonly registry: RegistryStore; readonly tracking: TrackingStore },
  name: string,
  version: string,
  gate: EvalGateConfig,
): Promise<EvalGateEvidence> {
  const none = { gate: gate.gate, passed: false, metrics: {}, thresholds: gate.thresholds };
  let experimentId: string;
  try {
    experimentId = (await stores.tracking.getExperimentByName(gate.experiment ?? EVAL_EXPERIMENT)).experimentId;
  } catch (e) {
    if (e instanceof NotFoundError) return { ...none, failures: ["no evaluation run of this version"] };
    throw e;
  }
  const filter = [
    `tags.\`${EVAL_TAGS.promptName}\` = ${quote(name)}`,
    `tags.\`${EVAL_TAGS.promptVersion}\` = ${quote(version)}`,
    ...(gate.dataset === undefined ? [] : [`tags.\`${EVAL_TAGS.datasetName}\` = ${quote(gate.dataset)}`]),
    "attributes.status = 'FINISHED'",
  ].join(" and ");
  const page = await stores.tracking.searchRuns({
    experimentIds: [experimentId],
    filter,
    orderBy: ["attributes.start_time DESC"],
    maxResults: 1,
  });
  const run = page.items[0];
  if (run === undefined) {
    const on = gate.dataset === undefined ? "" : ` on dataset ${gate.dataset}`;
    return { ...none, failures: [`no finished evaluation run of this version${on}`] };
  }
  const tag = (key: string) => run.data.tags.find((t) => t.key === key)?.value;
  const judges = JSON.parse(tag(EVAL_TAGS.judges) ?? "[]") as { name: string; prompt: string }[];
  const metrics: Record<string, number | null> = {};
  const failures: string[] = [];
  for (const [key, bound] of Object.entries(gate.thresholds)) {
    const value = run.data.metrics.find((m) => m.key === key)?.value;
    metrics[key] = value ?? null;
    if (value === undefined || Number.isNaN(value)) failures.push(`${key} is missing from run ${run.info.runId}`);
    else if (bound.min !== undefined && value < bound.min) failures.push(`${key} = ${value} < ${bound.min}`);
    else if (bound.max !== undefined && value > bound.max) failures.push(`${key} = ${value} > ${bound.max}`);
    const judge = judges.find((j) => key.startsWith(`${j.name}/`));
    if (judge !== undefined) {
      const at = judge.prompt.lastIndexOf("@");
      const v = await getPromptVersion(stores.registry, judge.prompt.slice(0, at), judge.prompt.slice(at + 1));
      const calibration = v.tags.find((t) => t.key === JUDGE_CALIBRATION_TAG)?.value;
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
    runId: run.info.runId,
    dataset: `${tag(EVAL_TAGS.datasetName) ?? "?"}@${tag(EVAL_TAGS.datasetVersion) ?? "?"}`,
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
  stores: { readonly registry: RegistryStore; readonly tracking: TrackingStore },
  input: PromotePromptInput,
  gates: { readonly promptGates?: PromptPromotionGates; readonly evalGates?: Readonly<Record<string, EvalGateConfig>> },
): Promise<AliasMove & { readonly evidence?: EvalGateEvidence }> {
  const gate = gates.evalGates?.[input.alias];
  if (gate === undefined) return promotePrompt(stores.registry, input, gates.promptGates);
  const version = await getPromptVersion(stores.registry, input.name, input.version);
  const evidence = await checkEvalGate(stores, version.name, version.version, gate);
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
