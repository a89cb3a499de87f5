/**
 * Reviewed decisions as training rows: served decisions whose label came from a human review
 * (docs/review.md), appended to a pipeline's training data so the next version learns from the
 * reviewers' verdicts.
 */
import type { Column, Frame } from "../data/index.js";
import { UnavailableError } from "../errors.js";
import { specArray, specError, specObject, specRequired, specString } from "../spec-fields.js";
import type { DecisionStore, LabelledDecision } from "../store/index.js";
import type { Tag } from "../tracking/index.js";
import { parseTrainingWindow, windowStart } from "./window.js";

export interface ReviewedDecisionsSpec {
  /** The served model whose decisions are read (its name in the registry). */
  readonly model: string;
  /** Only decisions served in the last N days or months before the run (`90d`, `6mo`); default all. */
  readonly since?: string;
  /** Label sources that count; default `["review"]` (reviewers' verdicts). */
  readonly sources: readonly string[];
}

/** What a run appended: how many rows and the window of decision times they were read from. */
export interface ReviewedDecisionsLineage {
  readonly model: string;
  readonly rows: number;
  /** Epoch ms; absent without `since` (every decision up to the run). */
  readonly from?: number;
  readonly to: number;
  readonly sources: readonly string[];
}

/** Tags recording the reviewed decisions a run appended: how many, of which model, from which window. */
export function reviewedDecisionTags(r: ReviewedDecisionsLineage | undefined): Tag[] {
  if (r === undefined) return [];
  return [
    { key: "keel.reviewed_decisions.model", value: r.model },
    { key: "keel.reviewed_decisions.rows", value: String(r.rows) },
    { key: "keel.reviewed_decisions.sources", value: r.sources.join(",") },
    ...(r.from === undefined ? [] : [{ key: "keel.reviewed_decisions.from", value: new Date(r.from).toISOString() }]),
    { key: "keel.reviewed_decisions.to", value: new Date(r.to).toISOString() },
  ];
}

export function parseReviewedDecisions(json: unknown): ReviewedDecisionsSpec {
  const o = specObject(json, "reviewedDecisions", ["model", "since", "sources"]);
  const model = specRequired(specString(o, "model", "reviewedDecisions"), "reviewedDecisions.model");
  const since = specString(o, "since", "reviewedDecisions");
  if (since !== undefined) {
    try {
      parseTrainingWindow({ column: "time", last: since });
    } catch {
      throw specError("reviewedDecisions.since", since, "must be a number of days or months, such as 90d or 6mo");
    }
  }
  let sources = ["review"];
  if (o.sources !== undefined) {
    const list = specArray(o.sources, "reviewedDecisions.sources");
    if (list.length === 0) throw specError("reviewedDecisions.sources", list, "must name at least one label source");
    sources = list.map((v, i) => {
      if (typeof v !== "string" || v === "")
        throw specError(`reviewedDecisions.sources[${i}]`, v, "must be a non-empty string");
      return v;
    });
  }
  return { model, ...(since === undefined ? {} : { since }), sources };
}

/** The reviewed decisions of the spec's model served before `now` (within `since`), in chain order. */
export async function readReviewedDecisions(
  spec: ReviewedDecisionsSpec,
  decisions: DecisionStore | undefined,
  now: number,
): Promise<{ readonly rows: readonly LabelledDecision[]; readonly lineage: ReviewedDecisionsLineage }> {
  if (decisions === undefined) {
    throw new UnavailableError(
      `reviewedDecisions.model ${JSON.stringify(spec.model)}: this pipeline runner has no decision store`,
    );
  }
  const from = spec.since === undefined ? undefined : windowStart(spec.since, now);
  const rows = await decisions.labelled({ modelName: spec.model, from, to: now, sources: spec.sources });
  return {
    rows,
    lineage: {
      model: spec.model,
      rows: rows.length,
      ...(from === undefined ? {} : { from }),
      to: now,
      sources: spec.sources,
    },
  };
}

/** How a label (0 or 1) is written in the target column: itself when numeric, else the class name. */
function targetValue(target: Column, label: number, positive: string | undefined): string | number {
  if (target.kind === "numeric") return label;
  const other = target.dictionary.filter((c) => c !== positive);
  if (positive === undefined || other.length !== 1 || !target.dictionary.includes(positive))
    throw specError(
      "reviewedDecisions",
      target.name,
      "a categorical target takes review labels only with `positive` set and exactly two classes in the data",
    );
  return label === 1 ? positive : (other[0] as string);
}

/**
 * The frame with one row per reviewed decision appended: the model's inputs as scored, the target
 * set to the label. Columns absent from a decision are null; inputs the table lacks are ignored.
 */
export function appendReviewedDecisions(
  frame: Frame,
  rows: readonly LabelledDecision[],
  target: string,
  positive: string | undefined,
): Frame {
  if (rows.length === 0) return frame;
  const n = frame.nRows + rows.length;
  const columns = frame.columns.map((c): Column => {
    const value = (d: LabelledDecision): unknown =>
      c.name === target ? targetValue(c, d.label, positive) : d.record.scored[c.name];
    const valid = new Uint8Array(n).fill(1);
    if (c.valid !== undefined) valid.set(c.valid);
    const bad = (d: LabelledDecision, v: unknown, rule: string) =>
      specError(`reviewedDecisions[${d.record.requestId}].${c.name}`, v, rule);
    if (c.kind === "numeric") {
      const values = new Float64Array(n);
      values.set(c.values);
      rows.forEach((d, i) => {
        const v = value(d);
        if (v === null || v === undefined) {
          values[frame.nRows + i] = NaN;
          valid[frame.nRows + i] = 0;
        } else if (typeof v === "number" && Number.isFinite(v)) values[frame.nRows + i] = v;
        else throw bad(d, v, "must be a number (the training column is numeric)");
      });
      return { kind: "numeric", name: c.name, values, valid };
    }
    const dictionary = [...c.dictionary];
    const codeOf = new Map(dictionary.map((s, i) => [s, i]));
    const codes = new Int32Array(n);
    codes.set(c.codes);
    rows.forEach((d, i) => {
      const v = value(d);
      if (v === null || v === undefined) {
        codes[frame.nRows + i] = -1;
        valid[frame.nRows + i] = 0;
        return;
      }
      if (typeof v !== "string") throw bad(d, v, "must be a string (the training column is categorical)");
      let code = codeOf.get(v);
      if (code === undefined) {
        code = dictionary.push(v) - 1;
        codeOf.set(v, code);
      }
      codes[frame.nRows + i] = code;
    });
    return { kind: "categorical", name: c.name, codes, dictionary, valid };
  });
  return { nRows: n, columns };
}
