/** The gates step: the definition's quality gates checked on the validation rows, the champion's AUC among them. */
import type { Frame } from "../../data/index.js";
import { InvalidParameterError, NotFoundError } from "../../errors.js";
import { loadPredictor, evaluateBinary } from "../../learn/index.js";
import type { ModelVersion } from "../../registry/index.js";
import { artifactFetcher } from "../../registry/index.js";
import { jsonBytes } from "../cache.js";
import { logArtifact, logMetrics, runStep, type PipelineContext } from "../context.js";
import { evaluateGates, type GateResult } from "../gates.js";
import type { Evaluation, ValidationRows } from "./evaluate.js";

export interface GatesOutcome {
  readonly passed: boolean;
  readonly results: GateResult[];
}

/** Not cached: the champion it compares against can change between runs. */
export async function gatesStep(
  ctx: PipelineContext,
  evaluation: Evaluation,
  valid: ValidationRows,
): Promise<GatesOutcome> {
  const { def } = ctx;
  return runStep(ctx, "gates", undefined, async (child) => {
    const segments: Record<string, (string | null)[]> = {};
    for (const g of def.gates) {
      if (g.gate === "demographic_parity") segments[g.segment] = segmentValues(valid.frame, g.segment);
    }
    const champion = await championAuc(
      ctx,
      valid,
      def.gates.some((g) => g.gate === "auc_vs_champion"),
    );
    const out = evaluateGates(def.gates, {
      labels: valid.labels,
      scores: evaluation.scores,
      threshold: def.evaluate.threshold,
      segments,
      ...(champion.auc === undefined ? {} : { championAuc: champion.auc }),
    });
    let results = out.results;
    if (champion.error !== undefined) {
      results = results.map((r) =>
        r.gate === "auc_vs_champion"
          ? { ...r, passed: false, skipped: false, message: `gate auc_vs_champion failed: ${champion.error}` }
          : r,
      );
    }
    const passed = results.every((r) => r.passed || r.skipped);
    const gateMetrics: Record<string, number> = {};
    for (const r of results) if (r.observed !== null) gateMetrics[`gate.${r.gate}`] = r.observed;
    await logMetrics(ctx, child.runId, gateMetrics);
    await logArtifact(ctx, child.artifactUri, "gates.json", jsonBytes(results));
    if (champion.version !== undefined) {
      await ctx.tracking.setTag(child.runId, { key: "keel.champion_version", value: champion.version }, ctx.actor);
    }
    const failed = results.filter((r) => !r.passed && !r.skipped);
    return {
      value: { passed, results },
      status: passed ? "passed" : "failed",
      message: passed
        ? `${results.filter((r) => r.passed).length} gates passed, ${results.filter((r) => r.skipped).length} skipped`
        : failed.map((r) => r.message).join("; "),
      cached: false,
    };
  });
}

/** A segment column's values on the given rows, as strings (null where missing). */
function segmentValues(frame: Frame, column: string): (string | null)[] {
  const col = frame.columns.find((c) => c.name === column);
  if (col === undefined) {
    throw new InvalidParameterError(`gates: segment column ${column} does not exist`, {
      details: { field: "gates.segment", value: column, rule: "must be a column of the data" },
    });
  }
  const out: (string | null)[] = new Array<string | null>(frame.nRows);
  if (col.kind === "categorical") {
    for (let i = 0; i < frame.nRows; i++) {
      const k = col.codes[i] as number;
      out[i] = k < 0 ? null : (col.dictionary[k] as string);
    }
  } else {
    for (let i = 0; i < frame.nRows; i++) {
      const v = col.values[i] as number;
      out[i] = v !== v ? null : String(v);
    }
  }
  return out;
}

/**
 * The current champion's AUC on this run's validation rows, so the new model is compared on the
 * same rows. No champion: no AUC. A champion that cannot score these rows is reported as an error.
 */
async function championAuc(
  ctx: PipelineContext,
  valid: ValidationRows,
  wanted: boolean,
): Promise<{ auc?: number; version?: string; error?: string }> {
  if (!wanted) return {};
  const model = ctx.def.register.model;
  let champion: ModelVersion;
  try {
    champion = await ctx.registry.getVersionByAlias(model, "champion");
  } catch (e) {
    if (e instanceof NotFoundError) return {};
    throw e;
  }
  try {
    const bytes = await artifactFetcher({
      artifacts: ctx.artifacts,
      runArtifactUri: async (id) => (await ctx.tracking.getRun(id)).info.artifactUri,
    })(champion);
    const predictor = await loadPredictor(bytes);
    try {
      const scores = await predictor.predict(valid.frame);
      return { auc: evaluateBinary(valid.labels, scores).auc, version: champion.version };
    } finally {
      await predictor.close();
    }
  } catch (e) {
    return {
      version: champion.version,
      error: `champion ${model} version ${champion.version} cannot score the validation rows (${
        e instanceof Error ? e.message : String(e)
      })`,
    };
  }
}
