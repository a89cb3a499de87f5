/**
 * Checking a judge against people: the judge scores every example of a labelled dataset version
 * (each example's inputs hold the judged `output`, and `input`/`context` when the rubric uses
 * them; its `reference` is the reference; its `human_label` the person's score), and its labels
 * are compared with the people's: agreement rate and Cohen's kappa. The result is written on the
 * judge's prompt version as tags; only a judge whose calibration `passed` may feed a promotion gate.
 */
import { specError } from "../../spec-fields.js";
import { cohenKappa } from "../../stats/index.js";
import type { RegistryStore } from "../../registry/index.js";
import type { Actor } from "../../tracking/index.js";
import type { ArtifactStore } from "../../store/index.js";
import { getPromptVersion } from "../prompts/index.js";
import { getDatasetVersion, readDatasetExamples } from "./dataset.js";
import { judge, JudgeError, type ChatCall } from "./judge.js";

export const JUDGE_CALIBRATION_TAG = "keel.judge.calibration";
export const JUDGE_KAPPA_TAG = "keel.judge.kappa";
export const JUDGE_AGREEMENT_TAG = "keel.judge.agreement";
export const JUDGE_CALIBRATION_DATASET_TAG = "keel.judge.calibration_dataset";

export interface CalibrationInput {
  /** The judge's rubric prompt, `NAME@VERSION` or `NAME@ALIAS`. */
  readonly judge: string;
  readonly dataset: { readonly name: string; readonly ref: string };
  readonly minScore?: number | undefined;
  readonly maxScore?: number | undefined;
  /** Compare pass/fail (score ≥ threshold, for the judge and the person alike) instead of exact scores. */
  readonly passThreshold?: number | undefined;
  /** Bounds the judge must meet; at least one. */
  readonly minKappa?: number | undefined;
  readonly minAgreement?: number | undefined;
}

export interface CalibrationResult {
  readonly judge: string;
  readonly dataset: string;
  readonly n: number;
  /** Examples the judge could not score (counted as disagreements). */
  readonly errors: number;
  readonly agreement: number;
  readonly kappa: number;
  readonly passed: boolean;
  readonly examples: readonly { id: string; human: number; judge: number | null; reason?: string; error?: string }[];
}

export async function calibrateJudge(
  deps: {
    readonly registry: RegistryStore;
    readonly artifacts: ArtifactStore;
    readonly call: ChatCall;
    readonly actor?: Actor;
  },
  input: CalibrationInput,
): Promise<CalibrationResult> {
  if (input.minKappa === undefined && input.minAgreement === undefined) {
    throw specError("min_kappa", null, "give min_kappa or min_agreement (or both)");
  }
  const at = input.judge.lastIndexOf("@");
  if (at <= 0) throw specError("judge", input.judge, "must be NAME@ALIAS or NAME@VERSION");
  const prompt = await getPromptVersion(deps.registry, input.judge.slice(0, at), input.judge.slice(at + 1));
  const rubric = { prompt, minScore: input.minScore ?? 0, maxScore: input.maxScore ?? 1 };
  const dataset = await getDatasetVersion(deps.registry, input.dataset.name, input.dataset.ref);
  const examples = await readDatasetExamples(deps, dataset);
  const rows: CalibrationResult["examples"][number][] = [];
  for (const [i, e] of examples.entries()) {
    if (e.humanLabel === undefined)
      throw specError(`examples[${i}].human_label`, null, "every example needs a human label");
    const output = e.inputs.output;
    if (typeof output !== "string")
      throw specError(`examples[${i}].inputs.output`, output, "must be the judged output (a string)");
    try {
      const v = await judge(deps.call, rubric, {
        input: e.inputs.input ?? "",
        output,
        ...(e.reference === undefined ? {} : { reference: e.reference }),
        ...(e.inputs.context === undefined ? {} : { context: e.inputs.context }),
      });
      rows.push({ id: e.id, human: e.humanLabel, judge: v.score, reason: v.reason });
    } catch (err) {
      if (!(err instanceof JudgeError)) throw err;
      rows.push({ id: e.id, human: e.humanLabel, judge: null, error: err.message });
    }
  }
  const t = input.passThreshold;
  const label = (x: number | null) => (x === null ? "error" : t === undefined ? x : x >= t ? "pass" : "fail");
  const { agreement, kappa } = cohenKappa(
    rows.map((r) => label(r.judge)),
    rows.map((r) => label(r.human)),
  );
  const passed =
    (input.minKappa === undefined || kappa >= input.minKappa) &&
    (input.minAgreement === undefined || agreement >= input.minAgreement);
  const tags: [string, string][] = [
    [JUDGE_CALIBRATION_TAG, passed ? "passed" : "failed"],
    [JUDGE_KAPPA_TAG, String(kappa)],
    [JUDGE_AGREEMENT_TAG, String(agreement)],
    [JUDGE_CALIBRATION_DATASET_TAG, `${dataset.name}@${dataset.version}`],
  ];
  for (const [key, value] of tags)
    await deps.registry.setModelVersionTag(prompt.name, prompt.version, key, value, deps.actor);
  return {
    judge: `${prompt.name}@${prompt.version}`,
    dataset: `${dataset.name}@${dataset.version}`,
    n: rows.length,
    errors: rows.filter((r) => r.judge === null).length,
    agreement,
    kappa,
    passed,
    examples: rows,
  };
}
