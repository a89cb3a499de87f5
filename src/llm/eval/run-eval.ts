/**
 * An evaluation run, as `mlflow.genai.evaluate` logs one: every example of a dataset version goes
 * through a gateway route with one prompt version (the example's inputs are the prompt's
 * variables), every evaluator scores the answer, and a tracking run records the per-example
 * results (artifact `eval_results.jsonl`), the aggregate metrics and the tags that tie the run to
 * the prompt version and the dataset version (the promotion gate looks runs up by them).
 */
import { specError } from "../../spec-fields.js";
import { quantileSorted } from "../../stats/index.js";
import { artifactStorePath, type Actor, type Metric, type Run, type TrackingStore } from "../../tracking/index.js";
import type { RegistryStore } from "../../registry/index.js";
import type { Clock } from "../../runtime/index.js";
import type { ArtifactStore } from "../../store/index.js";
import { callCost, type Gateway, type LlmConfig } from "../gateway/index.js";
import { getPromptVersion, type PromptVersion } from "../prompts/index.js";
import { getDatasetVersion, readDatasetExamples, type DatasetVersion, type EvalExample } from "./dataset.js";
import { createEvaluator, type Evaluator, type EvaluatorResult, type EvaluatorSpec } from "./evaluators.js";
import { EVALUATION_EVIDENCE_PREFIX, type EvaluationEvidence } from "./gate.js";
import { completionText, gatewayChat, JudgeError } from "./judge.js";

export const EVAL_EXPERIMENT = "llm-evaluation";
export const EVAL_RESULTS_ARTIFACT = "eval_results.jsonl";
export const EVAL_TAGS = {
  promptName: "keel.eval.prompt_name",
  promptVersion: "keel.eval.prompt_version",
  datasetName: "keel.eval.dataset_name",
  datasetVersion: "keel.eval.dataset_version",
  datasetDigest: "keel.eval.dataset_digest",
  route: "keel.eval.route",
  /** JSON list of `{ name, prompt, min_score, max_score }`, one per LLM judge evaluator. */
  judges: "keel.eval.judges",
} as const;

export interface EvalRunInput {
  readonly dataset: { readonly name: string; readonly ref: string };
  readonly prompt: { readonly name: string; readonly ref: string };
  readonly route: string;
  readonly evaluators: readonly EvaluatorSpec[];
  /** The route LLM judges call when their spec names none. */
  readonly judgeRoute?: string | undefined;
  readonly experimentName?: string | undefined;
  readonly runName?: string | undefined;
  /** Examples in flight at once (default 4). */
  readonly concurrency?: number | undefined;
}

export interface EvalDeps {
  readonly registry: RegistryStore;
  readonly tracking: TrackingStore;
  readonly artifacts: ArtifactStore;
  readonly gateway: Gateway;
  readonly prices: LlmConfig["prices"];
  /** The gateway's configured routes: an evaluation naming another fails before any call. */
  readonly routes: readonly string[];
  readonly clock?: Clock;
  /** Who runs it: the gateway's principal and the run's user. */
  readonly actor?: Actor;
}

/** One example's line of `eval_results.jsonl`. */
export interface ExampleResult {
  readonly id: string;
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly reference?: unknown;
  readonly output?: string;
  /** Why the model call failed (then no evaluator ran). */
  readonly error?: string;
  readonly latency_ms: number;
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly cost_usd: number | null;
  /** The model call's gateway trace. */
  readonly trace_id?: string;
  readonly scores: Readonly<
    Record<string, { score: number; passed: boolean; reason?: string; trace_id?: string } | { error: string }>
  >;
}

export interface EvalRunResult {
  readonly runId: string;
  readonly experimentId: string;
  readonly prompt: PromptVersion;
  readonly dataset: DatasetVersion;
  readonly metrics: Readonly<Record<string, number>>;
  readonly examples: readonly ExampleResult[];
}

/** The prompt's variables among the example's inputs (a dataset may carry inputs other versions use). */
function variablesFor(prompt: PromptVersion, example: EvalExample): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const v of prompt.variables) if (Object.hasOwn(example.inputs, v)) out[v] = example.inputs[v];
  return out;
}

async function runExample(
  deps: EvalDeps,
  input: EvalRunInput,
  prompt: PromptVersion,
  evaluators: readonly Evaluator[],
  example: EvalExample,
): Promise<ExampleResult & { judgeCost: number }> {
  const clock = deps.clock ?? Date.now;
  const start = clock();
  const base = {
    id: example.id,
    inputs: example.inputs,
    ...(example.reference === undefined ? {} : { reference: example.reference }),
  };
  const reply = await deps.gateway.chatCompletions({
    route: input.route,
    body: { messages: [], prompt_variables: variablesFor(prompt, example) },
    prompt: { name: prompt.name, ref: prompt.version },
    ...(deps.actor === undefined ? {} : { principal: deps.actor.userId }),
  });
  const latency = clock() - start;
  const trace = reply.traceId === undefined ? {} : { trace_id: reply.traceId };
  let answer: ReturnType<typeof completionText>;
  try {
    answer = completionText(reply, "the model call");
  } catch (e) {
    if (!(e instanceof JudgeError)) throw e;
    return {
      ...base,
      ...trace,
      error: e.message,
      latency_ms: latency,
      input_tokens: 0,
      output_tokens: 0,
      cost_usd: null,
      scores: {},
      judgeCost: 0,
    };
  }
  const model = "json" in reply ? (reply.json as { model?: unknown }).model : undefined;
  const inTokens = answer.inputTokens ?? 0;
  const outTokens = answer.outputTokens ?? 0;
  const scores: Record<string, ExampleResult["scores"][string]> = {};
  let judgeCost = 0;
  for (const ev of evaluators) {
    const r: EvaluatorResult = await ev.evaluate(answer.text, example);
    if ("error" in r) scores[ev.name] = { error: r.error };
    else {
      scores[ev.name] = {
        score: r.score,
        passed: r.passed,
        ...(r.reason === undefined ? {} : { reason: r.reason }),
        ...(r.traceId === undefined ? {} : { trace_id: r.traceId }),
      };
      if (r.judgeUsage !== undefined) {
        judgeCost += callCost(deps.prices, ev.judge?.model, r.judgeUsage.inputTokens, r.judgeUsage.outputTokens) ?? 0;
      }
    }
  }
  return {
    ...base,
    ...trace,
    output: answer.text,
    latency_ms: latency,
    input_tokens: inTokens,
    output_tokens: outTokens,
    cost_usd: callCost(deps.prices, typeof model === "string" ? model : prompt.model, inTokens, outTokens) ?? null,
    scores,
    judgeCost,
  };
}

/** Aggregate metrics of a run's examples (see docs/llm-evaluation.md for each). */
export function evalMetrics(
  evaluators: readonly Pick<Evaluator, "name">[],
  results: readonly ExampleResult[],
  judgeCost = 0,
): Record<string, number> {
  const m: Record<string, number> = { examples: results.length };
  const called = results.filter((r) => r.error === undefined);
  m.errors = results.length - called.length;
  for (const ev of evaluators) {
    const scored = called.map((r) => r.scores[ev.name]).filter((s) => s !== undefined && !("error" in s));
    const ok = scored as { score: number; passed: boolean }[];
    m[`${ev.name}/errors`] = called.length - ok.length;
    if (ok.length > 0) {
      m[`${ev.name}/mean`] = ok.reduce((a, s) => a + s.score, 0) / ok.length;
      m[`${ev.name}/pass_rate`] = ok.filter((s) => s.passed).length / ok.length;
    }
  }
  // An example passes when the call answered and every evaluator scored it as passed.
  const passed = called.filter((r) =>
    evaluators.every((ev) => {
      const s = r.scores[ev.name];
      return s !== undefined && !("error" in s) && s.passed;
    }),
  );
  m.pass_rate = results.length === 0 ? 0 : passed.length / results.length;
  m["tokens.input"] = results.reduce((a, r) => a + r.input_tokens, 0);
  m["tokens.output"] = results.reduce((a, r) => a + r.output_tokens, 0);
  m.cost_usd = results.reduce((a, r) => a + (r.cost_usd ?? 0), 0);
  m["judge.cost_usd"] = judgeCost;
  const latencies = Float64Array.from(called.map((r) => r.latency_ms)).sort();
  if (latencies.length > 0) {
    m["latency_ms.mean"] = latencies.reduce((a, x) => a + x, 0) / latencies.length;
    m["latency_ms.p50"] = quantileSorted(latencies, 0.5);
    m["latency_ms.p95"] = quantileSorted(latencies, 0.95);
  }
  return m;
}

async function experimentId(tracking: TrackingStore, name: string, actor?: Actor): Promise<string> {
  try {
    return (await tracking.getExperimentByName(name)).experimentId;
  } catch {
    return tracking.createExperiment(name, undefined, [], actor);
  }
}

/** Runs the evaluation and logs it (see the module comment). Bad references fail before any model call. */
export async function runEvaluation(deps: EvalDeps, input: EvalRunInput): Promise<EvalRunResult> {
  const clock = deps.clock ?? Date.now;
  checkRoute(deps.routes, "route", input.route);
  if (input.judgeRoute !== undefined) checkRoute(deps.routes, "judge_route", input.judgeRoute);
  const prompt = await getPromptVersion(deps.registry, input.prompt.name, input.prompt.ref);
  const dataset = await getDatasetVersion(deps.registry, input.dataset.name, input.dataset.ref);
  const examples = await readDatasetExamples(deps, dataset);
  const principal = deps.actor?.userId;
  const evaluators = await Promise.all(
    input.evaluators.map((spec, i) =>
      createEvaluator(spec, `evaluators[${i}]`, {
        rubric: async (ref, minScore, maxScore) => {
          const at = ref.lastIndexOf("@");
          if (at <= 0) throw specError(`evaluators[${i}].prompt`, ref, "must be NAME@ALIAS or NAME@VERSION");
          const version = await getPromptVersion(deps.registry, ref.slice(0, at), ref.slice(at + 1));
          return { prompt: version, minScore, maxScore };
        },
        call: (route) => {
          if (route !== undefined) checkRoute(deps.routes, `evaluators[${i}].route`, route);
          const r = route ?? input.judgeRoute;
          if (r === undefined)
            throw specError(`evaluators[${i}].route`, null, "an llm_judge needs a route (its own, or the judge route)");
          return gatewayChat(deps.gateway, r, principal);
        },
      }),
    ),
  );
  const expId = await experimentId(deps.tracking, input.experimentName ?? EVAL_EXPERIMENT, deps.actor);
  const judges = evaluators.filter((e) => e.judge !== undefined).map((e) => ({ name: e.name, ...e.judge }));
  const run = await deps.tracking.createRun(
    {
      experimentId: expId,
      runName: input.runName ?? `${prompt.name}@${prompt.version} on ${dataset.name}@${dataset.version}`,
      startTime: clock(),
      ...(principal === undefined ? {} : { userId: principal }),
      tags: [
        { key: EVAL_TAGS.promptName, value: prompt.name },
        { key: EVAL_TAGS.promptVersion, value: prompt.version },
        { key: EVAL_TAGS.datasetName, value: dataset.name },
        { key: EVAL_TAGS.datasetVersion, value: dataset.version },
        { key: EVAL_TAGS.datasetDigest, value: dataset.digest },
        { key: EVAL_TAGS.route, value: input.route },
        { key: EVAL_TAGS.judges, value: JSON.stringify(judges) },
      ],
    },
    deps.actor,
  );
  const runId = run.info.runId;
  try {
    const results = await mapLimited(examples, input.concurrency ?? 4, (e) =>
      runExample(deps, input, prompt, evaluators, e),
    );
    const judgeCost = results.reduce((a, r) => a + r.judgeCost, 0);
    const lines = results.map(({ judgeCost: _, ...r }) => r);
    const metrics = evalMetrics(evaluators, lines, judgeCost);
    await logRun(deps, run, input, metrics, lines, dataset);
    const end = clock();
    await deps.tracking.updateRun(runId, { status: "FINISHED", endTime: end }, deps.actor);
    const evidence: EvaluationEvidence = {
      run_id: runId,
      dataset: dataset.name,
      dataset_version: dataset.version,
      time: end,
      metrics,
      judges: judges.map((j) => ({ name: j.name, prompt: j.prompt ?? "" })),
    };
    await deps.registry.setModelVersionTag(
      prompt.name,
      prompt.version,
      EVALUATION_EVIDENCE_PREFIX + dataset.name,
      JSON.stringify(evidence),
      deps.actor,
    );
    return { runId, experimentId: expId, prompt, dataset, metrics, examples: lines };
  } catch (e) {
    await deps.tracking.updateRun(runId, { status: "FAILED", endTime: clock() }, deps.actor);
    throw e;
  }
}

async function logRun(
  deps: EvalDeps,
  run: Run,
  input: EvalRunInput,
  metrics: Readonly<Record<string, number>>,
  lines: readonly ExampleResult[],
  dataset: DatasetVersion,
): Promise<void> {
  const now = (deps.clock ?? Date.now)();
  const runId = run.info.runId;
  const metricRows: Metric[] = Object.entries(metrics).map(([key, value]) => ({ key, value, step: 0, timestamp: now }));
  await deps.tracking.logBatch(
    runId,
    {
      metrics: metricRows,
      params: [
        { key: "route", value: input.route },
        { key: "evaluators", value: JSON.stringify(input.evaluators).slice(0, 6000) },
      ],
    },
    deps.actor,
  );
  await deps.tracking.logInputs(
    runId,
    [
      {
        tags: [{ key: "mlflow.data.context", value: "evaluation" }],
        dataset: {
          name: dataset.name,
          digest: dataset.digest.slice(0, 36),
          sourceType: "keel-dataset",
          source: JSON.stringify({ name: dataset.name, version: dataset.version, sha256: dataset.digest }),
        },
      },
    ],
    deps.actor,
  );
  const jsonl = lines.map((l) => JSON.stringify(l)).join("\n") + "\n";
  await deps.artifacts.putFile(
    `${artifactStorePath(run.info.artifactUri)}/${EVAL_RESULTS_ARTIFACT}`,
    new TextEncoder().encode(jsonl),
  );
}

function checkRoute(routes: readonly string[], field: string, route: string): void {
  if (!routes.includes(route)) {
    throw specError(field, route, `must be a gateway route; configured: ${routes.join(", ") || "none"}`);
  }
}

/** `fn` over `items` with at most `limit` in flight, results in input order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
