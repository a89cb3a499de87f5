import type { AlertJson, ObservationJson } from "./keel.js";

/** The JSON of keel's LLM routes: prompts (`/api/keel/prompts`), traces (`/api/keel/traces`). */

export interface ChatMessageJson {
  role: string;
  content: string;
}

export interface PromptVersionJson {
  name: string;
  version: string;
  /** A text, or chat messages. */
  template: string | ChatMessageJson[];
  type: "text" | "chat";
  variables: string[];
  model?: string;
  parameters: Record<string, unknown>;
  commit_message: string;
  aliases: string[];
  creation_timestamp: number;
  user_id: string;
  tags: { key: string; value: string }[];
}

export interface PromptJson {
  name: string;
  description: string;
  creation_timestamp: number;
  aliases: { alias: string; version: string }[];
  tags: { key: string; value: string }[];
}

export interface PromptDiffJson {
  name: string;
  from_version: string;
  to_version: string;
  /** `op` is " " (both), "-" (only in from), "+" (only in to). */
  lines: { op: " " | "-" | "+"; text: string }[];
}

export interface RenderedPromptJson {
  name: string;
  version: string;
  rendered: string | ChatMessageJson[];
  model?: string;
  parameters: Record<string, unknown>;
}

export interface TraceSummaryJson {
  trace_id: string;
  name: string;
  /** Epoch milliseconds. */
  start_time: number;
  end_time: number;
  latency_ms: number;
  span_count: number;
  route?: string;
  prompt_name?: string;
  prompt_version?: string;
  user?: string;
  input_tokens: number;
  output_tokens: number;
  /** USD. */
  cost?: number;
  /** Guardrail checks that triggered. */
  guardrails: string[];
}

export interface SpanJson {
  trace_id: string;
  span_id: string;
  parent_span_id?: string;
  name: string;
  service_name?: string;
  start_time: number;
  end_time: number;
  status: string;
  operation?: string;
  request_model?: string;
  response_model?: string;
  input_tokens?: number;
  output_tokens?: number;
  cost?: number;
  guardrails: string[];
  attributes: Record<string, unknown>;
}

export interface TraceFeedbackJson {
  id: string;
  trace_id: string;
  score: number;
  comment?: string;
  user: string;
  created_at: number;
}

export interface TraceDetailJson {
  trace: TraceSummaryJson;
  spans: SpanJson[];
  feedback: TraceFeedbackJson[];
}

/** Answer of `POST /api/keel/llm/monitoring/run`: one monitor window of a gateway route. */
export interface LlmMonitorRunJson {
  route: string;
  window_start: string;
  window_end: string;
  requests: number;
  /** Traces the judge scored in this run (verdicts stored before are reused, not counted). */
  judged: number;
  judge_errors: number;
  queued_for_review: number;
  observations: ObservationJson[];
  alerts_fired: AlertJson[];
  alerts_resolved: AlertJson[];
}

/** Filters of a trace search; times in epoch milliseconds, cost in USD. */
export interface TraceSearchRequest {
  route?: string | undefined;
  prompt?: string | undefined;
  prompt_version?: string | undefined;
  user?: string | undefined;
  from?: number | undefined;
  to?: number | undefined;
  min_cost?: number | undefined;
  max_cost?: number | undefined;
  min_latency_ms?: number | undefined;
  max_latency_ms?: number | undefined;
  /** A guardrail check's name, or `*` for any. */
  guardrail?: string | undefined;
  max_results?: number | undefined;
  page_token?: string | undefined;
}
