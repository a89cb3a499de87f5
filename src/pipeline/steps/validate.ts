/** The validate step: the data file checked against the definition's expectation suite. */
import { validateFrame, type ExpectationSuite, type ValidationReport } from "../../validate/index.js";
import { bytesJson, jsonBytes } from "../cache.js";
import { logArtifact, logMetrics, type PipelineContext } from "../context.js";
import { cachedFile, runCachedStep } from "../step-cache.js";

export async function validateStep(
  ctx: PipelineContext,
  suite: { readonly parsed: ExpectationSuite; readonly json: unknown },
): Promise<ValidationReport> {
  return runCachedStep(ctx, {
    step: "validate",
    inputs: { data: ctx.lineage.dataHash, suite: suite.json },
    codec: {
      files: ["report.json"],
      encode: (report: ValidationReport) => new Map([["report.json", jsonBytes(report)]]),
      decode: (files) => bytesJson(cachedFile(files, "report.json")) as ValidationReport,
    },
    compute: () => validateFrame(ctx.frame, suite.parsed),
    report: async (report, child) => {
      await logArtifact(ctx, child.artifactUri, "validation/report.json", jsonBytes(report));
      const failed = report.results.filter((r) => !r.passed);
      await logMetrics(ctx, child.runId, { expectations: report.results.length, failed_expectations: failed.length });
      const message = report.passed
        ? `${report.results.length} expectations passed`
        : `validation failed: ${failed.map((r) => r.message).join("; ")}`;
      return { value: report, status: report.passed ? "passed" : "failed", message };
    },
  });
}
