/**
 * LLM traces: spans from any OpenTelemetry SDK (OTLP) or from keel's gateway, searchable by the
 * GenAI facts keel lifts out of their attributes, with feedback (a score, a comment, who) per trace.
 */

export const SPAN_STATUSES = ["unset", "ok", "error"] as const;
export type SpanStatus = (typeof SPAN_STATUSES)[number];

export interface LlmSpan {
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** 16 lowercase hex digits. */
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly serviceName?: string;
  /** Epoch milliseconds (fractions kept: spans can be shorter than a millisecond). */
  readonly startTime: number;
  readonly endTime: number;
  readonly status: SpanStatus;
  /** `gen_ai.operation.name`: chat, embeddings, text_completion … */
  readonly operation?: string;
  readonly requestModel?: string;
  readonly responseModel?: string;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  /** USD, from the price table. */
  readonly cost?: number;
  readonly route?: string;
  readonly promptName?: string;
  readonly promptVersion?: string;
  readonly userId?: string;
  /** Names of the guardrail checks that triggered on this span. */
  readonly guardrails: readonly string[];
  readonly attributes: Readonly<Record<string, unknown>>;
}

export interface TraceSummary {
  readonly traceId: string;
  readonly name: string;
  readonly startTime: number;
  readonly endTime: number;
  readonly latencyMs: number;
  readonly spanCount: number;
  readonly route?: string;
  readonly promptName?: string;
  readonly promptVersion?: string;
  readonly userId?: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Sum over the spans that have a cost; absent when none has. */
  readonly cost?: number;
  readonly guardrails: readonly string[];
}

export interface TraceQuery {
  readonly route?: string | undefined;
  readonly promptName?: string | undefined;
  readonly promptVersion?: string | undefined;
  readonly userId?: string | undefined;
  /** Traces that started in [from, to) (epoch ms). */
  readonly from?: number | undefined;
  readonly to?: number | undefined;
  readonly minCost?: number | undefined;
  readonly maxCost?: number | undefined;
  readonly minLatencyMs?: number | undefined;
  readonly maxLatencyMs?: number | undefined;
  /** A check name, or `*`: traces on which it (any check) triggered. */
  readonly guardrail?: string | undefined;
  readonly maxResults?: number | undefined;
  readonly pageToken?: string | undefined;
}

export interface TraceFeedback {
  readonly id: string;
  readonly traceId: string;
  readonly score: number;
  readonly comment?: string;
  readonly userId: string;
  readonly createdAt: number;
}

export interface TraceDetail {
  readonly summary: TraceSummary;
  readonly spans: readonly LlmSpan[];
  readonly feedback: readonly TraceFeedback[];
}

/** Spans of one time window, for monitoring: keyset-paged in (start time, trace id, span id) order. */
export interface SpanWindowQuery {
  /** Only spans of this gateway route (`keel.route`); absent: every span that names a route. */
  readonly route?: string;
  /** Spans that started in [from, to) (epoch ms). */
  readonly from: number;
  readonly to: number;
  /** The `next` of the previous page. */
  readonly after?: string;
  /** Default 1000, at most 10,000. */
  readonly limit?: number;
}

export interface TraceStore {
  /** A window's spans, oldest first; `next` is set when more follow. */
  listSpans(query: SpanWindowQuery): Promise<{ spans: LlmSpan[]; next?: string }>;
  /** The feedback on these traces (any number of ids), oldest first. */
  feedbackOf(traceIds: readonly string[]): Promise<TraceFeedback[]>;
  /** Stores spans; a span already stored (same trace and span id) is replaced. Returns how many. */
  writeSpans(spans: readonly LlmSpan[]): Promise<number>;
  /** Newest first. */
  searchTraces(query: TraceQuery): Promise<{ items: TraceSummary[]; nextPageToken?: string }>;
  /** NotFoundError when no span of the trace is stored. */
  getTrace(traceId: string): Promise<TraceDetail>;
  /** NotFoundError when no span of the trace is stored. */
  addFeedback(input: { traceId: string; score: number; comment?: string; userId: string }): Promise<TraceFeedback>;
  /** Deletes the spans (and feedback) of traces that started before `time`; returns how many spans. */
  deleteBefore(time: number): Promise<number>;
  /** Total cost of the route's spans that started at or after `since`. */
  routeSpend(route: string, since: number): Promise<number>;
}
