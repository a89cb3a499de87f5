/**
 * OpenTelemetry's GenAI semantic conventions, read off a span's attributes: the operation, the
 * models, the token counts (the current `gen_ai.usage.input_tokens` / `output_tokens`, and the
 * older `prompt_tokens` / `completion_tokens`), the user, and keel's own facts (`keel.*`: route,
 * prompt, guardrail triggers). The gateway writes its spans with the same attributes, so both
 * kinds of span go through this one reading. Cost comes from the price table.
 */
import type { LlmSpan } from "../../store/index.js";
import { callCost, type ModelPrice } from "../gateway/config.js";

export const GENAI = {
  operation: "gen_ai.operation.name",
  provider: "gen_ai.provider.name",
  requestModel: "gen_ai.request.model",
  responseModel: "gen_ai.response.model",
  inputTokens: "gen_ai.usage.input_tokens",
  outputTokens: "gen_ai.usage.output_tokens",
  finishReasons: "gen_ai.response.finish_reasons",
  inputMessages: "gen_ai.input.messages",
  outputMessages: "gen_ai.output.messages",
} as const;

/** keel's attributes on gateway spans (and on any span that wants to be found by them). */
export const KEEL_ATTRIBUTES = {
  route: "keel.route",
  promptName: "keel.prompt.name",
  promptVersion: "keel.prompt.version",
  guardrails: "keel.guardrails.triggered",
  cacheHit: "keel.cache.hit",
  /** The output checks that triggered (a subset of `guardrails`). */
  outputGuardrails: "keel.guardrails.output.triggered",
  /** PII types the output checks found in the upstream's answer, before any redaction (set when one ran). */
  outputPiiTypes: "keel.guardrails.output.pii_types",
} as const;

const OLD_INPUT_TOKENS = "gen_ai.usage.prompt_tokens";
const OLD_OUTPUT_TOKENS = "gen_ai.usage.completion_tokens";
const USER_KEYS = ["user.id", "enduser.id"];

/** What a span is before keel reads its GenAI attributes: the span fields every trace source has. */
export type SpanBase = Pick<
  LlmSpan,
  "traceId" | "spanId" | "parentSpanId" | "name" | "serviceName" | "startTime" | "endTime" | "status"
>;

function text(v: unknown): string | undefined {
  if (typeof v === "string" && v !== "") return v;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  return undefined;
}

function count(v: unknown): number | undefined {
  const n = typeof v === "string" ? Number(v) : typeof v === "bigint" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** The span keel stores for `base` with these attributes, its cost priced from `prices`. */
export function genAiSpan(
  base: SpanBase,
  attributes: Readonly<Record<string, unknown>>,
  prices: Readonly<Record<string, ModelPrice>>,
): LlmSpan {
  const inputTokens = count(attributes[GENAI.inputTokens] ?? attributes[OLD_INPUT_TOKENS]);
  const outputTokens = count(attributes[GENAI.outputTokens] ?? attributes[OLD_OUTPUT_TOKENS]);
  const requestModel = text(attributes[GENAI.requestModel]);
  const responseModel = text(attributes[GENAI.responseModel]);
  const model = responseModel !== undefined && prices[responseModel] !== undefined ? responseModel : requestModel;
  const cost =
    inputTokens === undefined && outputTokens === undefined
      ? undefined
      : callCost(prices, model, inputTokens ?? 0, outputTokens ?? 0);
  const triggered = attributes[KEEL_ATTRIBUTES.guardrails];
  const guardrails = Array.isArray(triggered) ? triggered.filter((g): g is string => typeof g === "string") : [];
  const user = USER_KEYS.map((k) => text(attributes[k])).find((u) => u !== undefined);
  const fields = {
    operation: text(attributes[GENAI.operation]),
    requestModel,
    responseModel,
    inputTokens,
    outputTokens,
    cost,
    route: text(attributes[KEEL_ATTRIBUTES.route]),
    promptName: text(attributes[KEEL_ATTRIBUTES.promptName]),
    promptVersion: text(attributes[KEEL_ATTRIBUTES.promptVersion]),
    userId: user,
  };
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  return { ...base, ...defined, guardrails, attributes };
}
