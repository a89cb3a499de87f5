/** The evaluate step: the trained model scored on the validation rows, and its metrics at the decision threshold. */
import type { Frame } from "../../data/index.js";
import { takeRows } from "../../data/index.js";
import { KeelPredictor, type KeelModel, evaluateBinary, type BinaryEvaluation } from "../../learn/index.js";
import { bytesFloat64, bytesJson, float64Bytes, jsonBytes } from "../cache.js";
import { logMetrics, type PipelineContext } from "../context.js";
import { BINARY_METRICS } from "../gates.js";
import { cachedFile, runCachedStep } from "../step-cache.js";
import type { SplitRows } from "./split.js";
import type { TrainedModel } from "./train.js";

/** The validation rows and their labels: what evaluation, gates and behaviour tests see. */
export interface ValidationRows {
  readonly frame: Frame;
  readonly labels: Float64Array;
}

export interface Evaluation {
  readonly scores: Float64Array;
  readonly metrics: Record<string, number>;
}

export function validationRows(ctx: PipelineContext, split: SplitRows): ValidationRows {
  return {
    frame: takeRows(ctx.frame, split.valid),
    labels: Float64Array.from(split.valid, (i) => ctx.labels[i] as number),
  };
}

/** The model's scores on `frame`, its predictor closed afterwards. */
export async function scoreRows(model: KeelModel, frame: Frame): Promise<Float64Array> {
  const predictor = new KeelPredictor(model);
  try {
    return await predictor.predict(frame);
  } finally {
    await predictor.close();
  }
}

function metricsOf(e: BinaryEvaluation): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, f] of Object.entries(BINARY_METRICS)) {
    const v = f(e);
    if (Number.isFinite(v)) out[k] = v;
  }
  return out;
}

export async function evaluateStep(
  ctx: PipelineContext,
  trained: TrainedModel,
  split: SplitRows,
  valid: ValidationRows,
): Promise<Evaluation> {
  const threshold = ctx.def.evaluate.threshold;
  const evaluation = await runCachedStep(ctx, {
    step: "evaluate",
    inputs: { model: trained.modelHash, data: ctx.lineage.dataHash, split: split.hash, threshold },
    codec: {
      files: ["scores.f64", "metrics.json"],
      encode: ({ scores, metrics }: Evaluation) =>
        new Map([
          ["scores.f64", float64Bytes(scores)],
          ["metrics.json", jsonBytes(metrics)],
        ]),
      decode: (files) => ({
        scores: bytesFloat64(cachedFile(files, "scores.f64")),
        metrics: bytesJson(cachedFile(files, "metrics.json")) as Record<string, number>,
      }),
    },
    compute: async () => {
      const scores = await scoreRows(trained.model, valid.frame);
      return { scores, metrics: metricsOf(evaluateBinary(valid.labels, scores, threshold)) };
    },
    report: async (output, child) => {
      const { metrics } = output;
      await logMetrics(ctx, child.runId, metrics);
      return {
        value: output,
        status: "passed",
        message: `AUC ${(metrics.auc ?? NaN).toFixed(4)}, KS ${(metrics.ks ?? NaN).toFixed(4)}, FNR ${(metrics.fnr ?? NaN).toFixed(4)} at threshold ${threshold}`,
      };
    },
  });
  await logMetrics(ctx, ctx.runId, evaluation.metrics);
  return evaluation;
}
