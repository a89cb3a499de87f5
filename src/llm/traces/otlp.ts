/**
 * OTLP/HTTP trace ingestion (`POST /v1/traces`): an `ExportTraceServiceRequest` in protobuf
 * (`application/x-protobuf`) or in OTLP's JSON encoding (`application/json`; trace and span ids
 * as hex, 64-bit integers as strings or numbers). Both decode to the same shape, read here into
 * keel's spans with their GenAI facts and cost.
 */
import protobuf from "protobufjs";
import type { LlmSpan, SpanStatus } from "../../store/index.js";
import { specError } from "../../spec-fields.js";
import type { ModelPrice } from "../gateway/config.js";
import { genAiSpan } from "./genai.js";
import { OTLP_TRACE_DESCRIPTOR } from "./otlp-descriptor.js";

interface AnyValueJson {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: AnyValueJson[] };
  kvlistValue?: { values?: KeyValueJson[] };
  bytesValue?: string;
}
interface KeyValueJson {
  key: string;
  value?: AnyValueJson;
}
interface SpanJson {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: KeyValueJson[];
  status?: { code?: number | string; message?: string };
}
interface RequestJson {
  resourceSpans?: {
    resource?: { attributes?: KeyValueJson[] };
    scopeSpans?: { spans?: SpanJson[] }[];
  }[];
}

const root = protobuf.Root.fromJSON(OTLP_TRACE_DESCRIPTOR);
const RequestType = root.lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest");
const ResponseType = root.lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse");

/** The protobuf body of an empty (fully successful) `ExportTraceServiceResponse`. */
export function otlpProtobufResponse(): Uint8Array {
  return ResponseType.encode(ResponseType.create({})).finish();
}

const base64ToHex = (s: string) => Buffer.from(s, "base64").toString("hex");

/** Decodes a protobuf request into OTLP's JSON shape (ids still base64: bytes are bytes there). */
export function decodeOtlpProtobuf(body: Uint8Array): { request: RequestJson; idEncoding: "base64" } {
  let message: protobuf.Message;
  try {
    message = RequestType.decode(body);
  } catch (e) {
    throw specError(
      "body",
      `${body.length} bytes`,
      `must be an OTLP ExportTraceServiceRequest (${(e as Error).message})`,
    );
  }
  const request = RequestType.toObject(message, {
    longs: String,
    bytes: String,
    enums: Number,
    arrays: true,
  }) as RequestJson;
  return { request, idEncoding: "base64" };
}

function anyValue(v: AnyValueJson | undefined): unknown {
  if (v === undefined) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return Number(v.doubleValue);
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(anyValue);
  if (v.kvlistValue !== undefined) return attributesOf(v.kvlistValue.values);
  if (v.bytesValue !== undefined) return v.bytesValue;
  return null;
}

function attributesOf(list: readonly KeyValueJson[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

const STATUS: Readonly<Record<string, SpanStatus>> = {
  "0": "unset",
  "1": "ok",
  "2": "error",
  STATUS_CODE_UNSET: "unset",
  STATUS_CODE_OK: "ok",
  STATUS_CODE_ERROR: "error",
};

/** Nanoseconds since the epoch (a decimal string or number) as fractional milliseconds. */
function nanosToMs(v: string | number | undefined, field: string): number {
  if (v === undefined) throw specError(field, v, "is required");
  const n = BigInt(typeof v === "number" ? Math.round(v) : v);
  return Number(n / 1000n) / 1000;
}

/** keel's spans of an OTLP request (`idEncoding`: hex in OTLP/JSON, base64 once protobuf is decoded). */
export function otlpSpans(
  request: unknown,
  idEncoding: "hex" | "base64",
  prices: Readonly<Record<string, ModelPrice>>,
): LlmSpan[] {
  if (typeof request !== "object" || request === null)
    throw specError("body", request, "must be an ExportTraceServiceRequest");
  const id = (s: string | undefined) =>
    s === undefined || s === "" ? undefined : idEncoding === "hex" ? s.toLowerCase() : base64ToHex(s);
  const out: LlmSpan[] = [];
  (request as RequestJson).resourceSpans?.forEach((rs, i) => {
    const resource = attributesOf(rs.resource?.attributes);
    const service = typeof resource["service.name"] === "string" ? resource["service.name"] : undefined;
    rs.scopeSpans?.forEach((ss, j) => {
      ss.spans?.forEach((s, k) => {
        const at = `resourceSpans[${i}].scopeSpans[${j}].spans[${k}]`;
        const traceId = id(s.traceId);
        const spanId = id(s.spanId);
        if (traceId === undefined || spanId === undefined)
          throw specError(`${at}.traceId`, s.traceId, "trace and span ids are required");
        const parent = id(s.parentSpanId);
        out.push(
          genAiSpan(
            {
              traceId,
              spanId,
              ...(parent === undefined ? {} : { parentSpanId: parent }),
              name: s.name ?? "",
              ...(service === undefined ? {} : { serviceName: service }),
              startTime: nanosToMs(s.startTimeUnixNano, `${at}.startTimeUnixNano`),
              endTime: nanosToMs(s.endTimeUnixNano, `${at}.endTimeUnixNano`),
              status: STATUS[String(s.status?.code ?? 0)] ?? "unset",
            },
            attributesOf(s.attributes),
            prices,
          ),
        );
      });
    });
  });
  return out;
}
