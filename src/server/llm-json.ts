import type { Prompt, PromptTemplate, PromptVersion } from "../llm/index.js";
import type { LlmSpan, TraceDetail, TraceQuery, TraceSummary } from "../store/index.js";
import type {
  ChatMessageJson,
  PromptJson,
  PromptVersionJson,
  SpanJson,
  TraceDetailJson,
  TraceFeedbackJson,
  TraceSearchRequest,
  TraceSummaryJson,
} from "../wire/index.js";

export function templateJson(t: PromptTemplate): string | ChatMessageJson[] {
  return typeof t === "string" ? t : t.map((m) => ({ role: m.role, content: m.content }));
}

export function promptVersionJson(v: PromptVersion): PromptVersionJson {
  return {
    name: v.name,
    version: v.version,
    template:
      typeof v.template === "string" ? v.template : v.template.map((m) => ({ role: m.role, content: m.content })),
    type: v.type,
    variables: [...v.variables],
    ...(v.model === undefined ? {} : { model: v.model }),
    parameters: { ...v.parameters },
    commit_message: v.commitMessage,
    aliases: [...v.aliases],
    creation_timestamp: v.creationTimestamp,
    user_id: v.userId,
    tags: v.tags.map((t) => ({ key: t.key, value: t.value })),
  };
}

export function promptJson(p: Prompt): PromptJson {
  return {
    name: p.name,
    description: p.description,
    creation_timestamp: p.creationTimestamp,
    aliases: p.aliases.map((a) => ({ alias: a.alias, version: a.version })),
    tags: p.tags.map((t) => ({ key: t.key, value: t.value })),
  };
}

/** Drops undefined members (JSON has no undefined). */
function defined<T extends object>(o: { [K in keyof T]-?: T[K] | undefined }): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function traceSummaryJson(t: TraceSummary): TraceSummaryJson {
  return defined<TraceSummaryJson>({
    trace_id: t.traceId,
    name: t.name,
    start_time: t.startTime,
    end_time: t.endTime,
    latency_ms: t.latencyMs,
    span_count: t.spanCount,
    route: t.route,
    prompt_name: t.promptName,
    prompt_version: t.promptVersion,
    user: t.userId,
    input_tokens: t.inputTokens,
    output_tokens: t.outputTokens,
    cost: t.cost,
    guardrails: [...t.guardrails],
  });
}

export function spanJson(s: LlmSpan): SpanJson {
  return defined<SpanJson>({
    trace_id: s.traceId,
    span_id: s.spanId,
    parent_span_id: s.parentSpanId,
    name: s.name,
    service_name: s.serviceName,
    start_time: s.startTime,
    end_time: s.endTime,
    status: s.status,
    operation: s.operation,
    request_model: s.requestModel,
    response_model: s.responseModel,
    input_tokens: s.inputTokens,
    output_tokens: s.outputTokens,
    cost: s.cost,
    guardrails: [...s.guardrails],
    attributes: { ...s.attributes },
  });
}

export function traceDetailJson(d: TraceDetail): TraceDetailJson {
  return {
    trace: traceSummaryJson(d.summary),
    spans: d.spans.map(spanJson),
    feedback: d.feedback.map((f) =>
      defined<TraceFeedbackJson>({
        id: f.id,
        trace_id: f.traceId,
        score: f.score,
        comment: f.comment,
        user: f.userId,
        created_at: f.createdAt,
      }),
    ),
  };
}

/** A trace search as the store takes it, from the wire's (HTTP query parameters, CLI flags). */
export function traceQuery(r: TraceSearchRequest): TraceQuery {
  return {
    route: r.route,
    promptName: r.prompt,
    promptVersion: r.prompt_version,
    userId: r.user,
    from: r.from,
    to: r.to,
    minCost: r.min_cost,
    maxCost: r.max_cost,
    minLatencyMs: r.min_latency_ms,
    maxLatencyMs: r.max_latency_ms,
    guardrail: r.guardrail,
    maxResults: r.max_results,
    pageToken: r.page_token,
  };
}
