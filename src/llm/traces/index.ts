export { GENAI, genAiSpan, KEEL_ATTRIBUTES } from "./genai.js";
export type { SpanBase } from "./genai.js";
export { decodeOtlpProtobuf, otlpProtobufResponse, otlpSpans } from "./otlp.js";
