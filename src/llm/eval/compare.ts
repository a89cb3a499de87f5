/**
 * Paired comparison of two evaluation runs on the same dataset version (two prompt versions, say):
 * examples are paired by id, and for each evaluator both runs scored, the per-example differences
 * (B − A) are tested — pass/fail by the exact sign test and McNemar's test on the discordant pairs,
 * scores by Wilcoxon's signed-rank test and the paired t-test. All two-sided.
 */
import { InvalidParameterError } from "../../errors.js";
import { mcnemar, pairedTTest, signTest, wilcoxonSignedRank } from "../../stats/index.js";
import type { ArtifactStore } from "../../store/index.js";
import { artifactStorePath, type Run, type TrackingStore } from "../../tracking/index.js";
import { EVAL_RESULTS_ARTIFACT, EVAL_TAGS, type ExampleResult } from "./run-eval.js";

export interface EvaluatorComparison {
  readonly evaluator: string;
  /** Examples both runs scored with this evaluator. */
  readonly n: number;
  readonly meanA: number;
  readonly meanB: number;
  /** Mean of B − A. */
  readonly meanDifference: number;
  readonly passRateA: number;
  readonly passRateB: number;
  /** Examples B passed and A failed, and the reverse. */
  readonly bOnlyPassed: number;
  readonly aOnlyPassed: number;
  readonly signTest: { readonly pValue: number };
  readonly mcnemar: { readonly statistic: number; readonly pValue: number };
  readonly wilcoxon: { readonly statistic: number; readonly pValue: number; readonly method: "exact" | "approx" };
  /** Null when every difference is the same (no variance to test against). */
  readonly pairedT: { readonly statistic: number; readonly pValue: number; readonly df: number } | null;
  readonly differences: readonly { readonly id: string; readonly a: number; readonly b: number }[];
}

export interface EvalComparison {
  readonly runA: string;
  readonly runB: string;
  readonly dataset: string;
  readonly evaluators: readonly EvaluatorComparison[];
}

type Scored = { score: number; passed: boolean };

async function readResults(stores: { tracking: TrackingStore; artifacts: ArtifactStore }, run: Run) {
  const bytes = await stores.artifacts.getFile(`${artifactStorePath(run.info.artifactUri)}/${EVAL_RESULTS_ARTIFACT}`);
  const lines = new TextDecoder()
    .decode(bytes)
    .split("\n")
    .filter((l) => l.trim() !== "");
  return new Map(lines.map((l) => JSON.parse(l) as ExampleResult).map((r) => [r.id, r]));
}

const tagOf = (run: Run, key: string) => run.data.tags.find((t) => t.key === key)?.value;

/** Compares evaluation run B with run A (see the module comment); refuses runs on different data. */
export async function compareEvalRuns(
  stores: { readonly tracking: TrackingStore; readonly artifacts: ArtifactStore },
  runIdA: string,
  runIdB: string,
): Promise<EvalComparison> {
  const [a, b] = await Promise.all([stores.tracking.getRun(runIdA), stores.tracking.getRun(runIdB)]);
  for (const [field, run] of [
    ["run_a", a],
    ["run_b", b],
  ] as const) {
    if (tagOf(run, EVAL_TAGS.datasetDigest) === undefined) {
      throw new InvalidParameterError(`run ${run.info.runId} is not an evaluation run`, {
        details: { field, value: run.info.runId, rule: "must be a run logged by an LLM evaluation" },
      });
    }
  }
  if (tagOf(a, EVAL_TAGS.datasetDigest) !== tagOf(b, EVAL_TAGS.datasetDigest)) {
    throw new InvalidParameterError(
      `runs ${runIdA} and ${runIdB} evaluated different data (${tagOf(a, EVAL_TAGS.datasetName)}@${tagOf(a, EVAL_TAGS.datasetVersion)} vs ${tagOf(b, EVAL_TAGS.datasetName)}@${tagOf(b, EVAL_TAGS.datasetVersion)})`,
      { details: { field: "run_b", value: runIdB, rule: "must be on the same dataset version as run_a" } },
    );
  }
  const [ra, rb] = await Promise.all([readResults(stores, a), readResults(stores, b)]);
  const names = new Set<string>();
  for (const r of ra.values()) for (const k of Object.keys(r.scores)) names.add(k);
  const evaluators: EvaluatorComparison[] = [];
  for (const name of [...names].sort()) {
    const pairs: { id: string; a: Scored; b: Scored }[] = [];
    for (const [id, x] of ra) {
      const sa = x.scores[name];
      const sb = rb.get(id)?.scores[name];
      if (sa === undefined || sb === undefined || "error" in sa || "error" in sb) continue;
      pairs.push({ id, a: sa, b: sb });
    }
    if (pairs.length === 0) continue;
    evaluators.push(compareEvaluator(name, pairs));
  }
  return {
    runA: runIdA,
    runB: runIdB,
    dataset: `${tagOf(a, EVAL_TAGS.datasetName)}@${tagOf(a, EVAL_TAGS.datasetVersion)}`,
    evaluators,
  };
}

function compareEvaluator(name: string, pairs: readonly { id: string; a: Scored; b: Scored }[]): EvaluatorComparison {
  const n = pairs.length;
  const d = Float64Array.from(pairs, (p) => p.b.score - p.a.score);
  const mean = (f: (p: (typeof pairs)[number]) => number) => pairs.reduce((s, p) => s + f(p), 0) / n;
  const bOnly = pairs.filter((p) => p.b.passed && !p.a.passed).length;
  const aOnly = pairs.filter((p) => p.a.passed && !p.b.passed).length;
  // McNemar as the rollout report computes it: "right" is passing (label 1).
  const ones = new Float64Array(n).fill(1);
  const m = mcnemar(
    ones,
    Float64Array.from(pairs, (p) => (p.a.passed ? 1 : 0)),
    Float64Array.from(pairs, (p) => (p.b.passed ? 1 : 0)),
  );
  const w = wilcoxonSignedRank(d);
  const varies = d.some((x) => x !== d[0]);
  const t = n >= 2 && varies ? pairedTTest(d) : null;
  return {
    evaluator: name,
    n,
    meanA: mean((p) => p.a.score),
    meanB: mean((p) => p.b.score),
    meanDifference: mean((p) => p.b.score - p.a.score),
    passRateA: mean((p) => (p.a.passed ? 1 : 0)),
    passRateB: mean((p) => (p.b.passed ? 1 : 0)),
    bOnlyPassed: bOnly,
    aOnlyPassed: aOnly,
    signTest: { pValue: signTest(bOnly, aOnly).pValue },
    mcnemar: { statistic: m.statistic, pValue: m.pValue },
    wilcoxon: { statistic: w.statistic, pValue: w.pValue, method: w.method },
    pairedT: t === null ? null : { statistic: t.statistic, pValue: t.pValue, df: t.df },
    differences: pairs.map((p) => ({ id: p.id, a: p.a.score, b: p.b.score })),
  };
}
