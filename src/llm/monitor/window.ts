/**
 * One monitor window of an LLM gateway route, computed from its trace spans: what each span says
 * (`traceFacts`) and the window's figures (`llmWindowObservations`), pooled over the route and per
 * prompt version, as monitoring observations of kind `llm` (model = route, model version = the
 * prompt `name@version`, feature = a guardrail check). Pure; the job reads and writes the stores.
 */
import type { LlmSpan, MonitorObservation } from "../../store/index.js";
import { quantileSorted } from "../../stats/index.js";
import { detectPii } from "../guardrails/index.js";
import { GENAI, KEEL_ATTRIBUTES } from "../traces/genai.js";
import { isRefusal, type AnswerChoice } from "./refusal.js";

export interface TraceFacts {
  readonly traceId: string;
  readonly latencyMs: number;
  readonly error: boolean;
  /** `name@version` of the prompt the call rendered, when it rendered one. */
  readonly prompt?: string;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly cost?: number;
  readonly cacheHit: boolean;
  /** Every guardrail check that triggered (input or output). */
  readonly guardrails: readonly string[];
  /**
   * PII types in the model's answer before redaction: what the gateway's output PII check found, or,
   * when no such check ran (another SDK's span, a route without one), what `detectPii` finds in the
   * output as delivered.
   */
  readonly outputPii: readonly string[];
  /** The answer's choices as delivered; empty when the span records no output. */
  readonly choices: readonly AnswerChoice[];
  /** The last user message sent upstream (after input guardrails). */
  readonly input?: string;
  /** The system messages sent upstream (the rendered prompt, retrieved documents in it): what the answer should rest on. */
  readonly context: string;
}

export interface Judgment {
  readonly score: number;
  readonly reason: string;
}

interface MessageJson {
  role?: unknown;
  parts?: { type?: unknown; content?: unknown }[];
  finish_reason?: unknown;
}

function messages(v: unknown): MessageJson[] {
  if (typeof v !== "string") return [];
  try {
    const parsed = JSON.parse(v) as unknown;
    return Array.isArray(parsed) ? (parsed as MessageJson[]) : [];
  } catch {
    return [];
  }
}

const partText = (m: MessageJson, type: string) =>
  (m.parts ?? [])
    .filter((p) => p.type === type && typeof p.content === "string")
    .map((p) => p.content as string)
    .join("");

const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/** What a span says about its call (its GenAI content attributes, as the gateway writes them). */
export function traceFacts(span: LlmSpan): TraceFacts {
  const a = span.attributes;
  const choices = messages(a[GENAI.outputMessages]).map((m): AnswerChoice => {
    const refusal = partText(m, "refusal");
    return {
      content: partText(m, "text"),
      finishReason: typeof m.finish_reason === "string" ? m.finish_reason : null,
      ...(refusal === "" ? {} : { refusal }),
    };
  });
  const sent = messages(a[GENAI.inputMessages]);
  const input = sent
    .filter((m) => m.role === "user")
    .map((m) => partText(m, "text"))
    .pop();
  const context = sent
    .filter((m) => m.role === "system" || m.role === "developer")
    .map((m) => partText(m, "text"))
    .join("\n");
  return {
    traceId: span.traceId,
    latencyMs: span.endTime - span.startTime,
    error: span.status === "error",
    ...(span.promptName !== undefined && span.promptVersion !== undefined
      ? { prompt: `${span.promptName}@${span.promptVersion}` }
      : {}),
    ...(span.inputTokens === undefined ? {} : { inputTokens: span.inputTokens }),
    ...(span.outputTokens === undefined ? {} : { outputTokens: span.outputTokens }),
    ...(span.cost === undefined ? {} : { cost: span.cost }),
    cacheHit: a[KEEL_ATTRIBUTES.cacheHit] === true,
    guardrails: span.guardrails,
    outputPii: Array.isArray(a[KEEL_ATTRIBUTES.outputPiiTypes])
      ? strings(a[KEEL_ATTRIBUTES.outputPiiTypes])
      : [...new Set(choices.flatMap((c) => detectPii(c.content).map((s) => s.type)))],
    choices,
    ...(input === undefined ? {} : { input }),
    context,
  };
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

export interface WindowOptions {
  readonly route: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  /** The judge's verdicts on the window's judged traces, by trace id. */
  readonly judgments?: ReadonlyMap<string, Judgment>;
  /** A judged trace scoring below this is a hallucination. */
  readonly hallucinationBelow?: number;
  /** Judge calls of the window that failed. */
  readonly judgeErrors?: number;
}

type Metric = [metric: string, value: number, detail?: Record<string, unknown>, feature?: string];

function groupMetrics(facts: readonly TraceFacts[], o: WindowOptions): Metric[] {
  const n = facts.length;
  const ok = facts.filter((f) => !f.error);
  const answered = ok.filter((f) => f.choices.length > 0);
  const out: Metric[] = [["request_count", n]];
  out.push(["error_rate", (n - ok.length) / n, { errors: n - ok.length, requests: n }]);
  if (answered.length > 0) {
    const refusals = answered.filter((f) => isRefusal(f.choices)).length;
    out.push(["refusal_rate", refusals / answered.length, { refusals, answered: answered.length }]);
    const leaks = answered.filter((f) => f.outputPii.length > 0);
    const types: Record<string, number> = {};
    for (const f of leaks) for (const t of f.outputPii) types[t] = (types[t] ?? 0) + 1;
    out.push([
      "pii_leak_rate",
      leaks.length / answered.length,
      { leaks: leaks.length, answered: answered.length, types },
    ]);
  }
  const checks = new Map<string, number>();
  for (const f of facts) for (const g of new Set(f.guardrails)) checks.set(g, (checks.get(g) ?? 0) + 1);
  for (const [check, count] of [...checks].sort(([a], [b]) => a.localeCompare(b)))
    out.push(["guardrail_trigger_rate", count / n, { triggered: count, requests: n }, check]);
  const used = facts.filter((f) => f.inputTokens !== undefined || f.outputTokens !== undefined);
  if (used.length > 0) {
    const inT = used.map((f) => f.inputTokens ?? 0);
    const outT = used.map((f) => f.outputTokens ?? 0);
    out.push(["input_tokens_per_request", mean(inT), { requests: used.length }]);
    out.push(["output_tokens_per_request", mean(outT), { requests: used.length }]);
    out.push(["tokens_per_request", mean(inT) + mean(outT), { requests: used.length }]);
    out.push(["tokens_per_1k_requests", 1000 * (mean(inT) + mean(outT)), { requests: used.length }]);
  }
  const priced = facts.filter((f) => f.cost !== undefined).map((f) => f.cost as number);
  if (priced.length > 0) {
    const total = priced.reduce((s, c) => s + c, 0);
    out.push(["cost_total", total, { priced: priced.length, requests: n }]);
    out.push(["cost_per_request", total / priced.length, { priced: priced.length }]);
    out.push(["cost_per_1k_requests", (1000 * total) / priced.length, { priced: priced.length }]);
  }
  const latency = Float64Array.from(facts, (f) => f.latencyMs).sort();
  out.push(["latency_p50_ms", quantileSorted(latency, 0.5)], ["latency_p99_ms", quantileSorted(latency, 0.99)]);
  out.push(["cache_hit_rate", facts.filter((f) => f.cacheHit).length / n]);
  const judged = facts.flatMap((f) => {
    const j = o.judgments?.get(f.traceId);
    return j === undefined ? [] : [j.score];
  });
  if (judged.length > 0) {
    out.push(["judged_count", judged.length], ["judge_score_mean", mean(judged), { judged: judged.length }]);
    if (o.hallucinationBelow !== undefined) {
      const below = judged.filter((s) => s < (o.hallucinationBelow as number)).length;
      out.push([
        "hallucination_rate",
        below / judged.length,
        { hallucinations: below, judged: judged.length, below: o.hallucinationBelow },
      ]);
    }
  }
  return out;
}

/** The window's observations: pooled over the route, then per prompt version. */
export function llmWindowObservations(facts: readonly TraceFacts[], o: WindowOptions): MonitorObservation[] {
  if (facts.length === 0) return [];
  const groups = new Map<string | undefined, TraceFacts[]>([[undefined, [...facts]]]);
  for (const f of facts) {
    if (f.prompt === undefined) continue;
    const group = groups.get(f.prompt);
    if (group === undefined) groups.set(f.prompt, [f]);
    else group.push(f);
  }
  const out: MonitorObservation[] = [];
  for (const [prompt, group] of groups) {
    const metrics = groupMetrics(group, o);
    if (prompt === undefined && o.judgeErrors !== undefined && o.judgeErrors > 0)
      metrics.push(["judge_error_count", o.judgeErrors]);
    for (const [metric, value, detail, feature] of metrics) {
      out.push({
        modelName: o.route,
        ...(prompt === undefined ? {} : { modelVersion: prompt }),
        windowStart: o.windowStart,
        windowEnd: o.windowEnd,
        kind: "llm",
        metric,
        ...(feature === undefined ? {} : { feature }),
        value,
        ...(detail === undefined ? {} : { detail }),
      });
    }
  }
  return out;
}
