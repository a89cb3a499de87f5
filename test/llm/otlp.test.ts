import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { context, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import protobuf from "protobufjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeelClient, KeelLlmClient } from "../../src/client/index.js";
import { loadConfig } from "../../src/config.js";
import { parseLlmConfig } from "../../src/llm/index.js";
import { openStores } from "../../src/open-stores.js";
import { startServer, type RunningServer } from "../../src/server/start.js";

const PRICES = { "gpt-x": { inputPer1M: 2.5, outputPer1M: 10 } };
const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

describe("OTLP/HTTP trace ingestion", () => {
  let dir: string;
  let stores: ReturnType<typeof openStores>;
  let server: RunningServer;
  let keel: KeelLlmClient;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "keel-otlp-"));
    const config = loadConfig({ flags: { dataDir: dir, port: 0, host: "127.0.0.1", logLevel: "silent" }, env: {} });
    stores = openStores({ backendStoreUri: config.backendStoreUri, artifactRoot: config.artifactRoot });
    await stores.migrate();
    server = await startServer({ config, stores, llm: { config: parseLlmConfig({ prices: PRICES }) } });
    keel = new KeelLlmClient(new KeelClient({ baseUrl: server.url }));
  });
  afterAll(async () => {
    await server.close();
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("takes spans from @opentelemetry/exporter-trace-otlp-http unchanged; they are searchable, priced and take feedback", async () => {
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${server.url}/v1/traces` }))],
    });
    const tracer = provider.getTracer("support-bot");
    const root = tracer.startSpan("answer question", { startTime: T0, attributes: { "user.id": "u-42" } });
    const ctx = trace.setSpan(context.active(), root);
    const chat = tracer.startSpan(
      "chat gpt-x",
      {
        startTime: T0 + 10,
        attributes: {
          "gen_ai.operation.name": "chat",
          "gen_ai.request.model": "gpt-x",
          "gen_ai.usage.input_tokens": 1200,
          "gen_ai.usage.output_tokens": 300,
        },
      },
      ctx,
    );
    chat.end(T0 + 240.5);
    root.end(T0 + 250.5);
    await provider.forceFlush();
    await provider.shutdown();

    const found = await keel.searchTraces({ user: "u-42" });
    expect(found.traces).toHaveLength(1);
    const t = found.traces[0]!;
    expect(t.trace_id).toBe(root.spanContext().traceId);
    expect(t).toMatchObject({ name: "answer question", span_count: 2, input_tokens: 1200, output_tokens: 300 });
    expect(t.latency_ms).toBeCloseTo(250.5, 6);
    expect(t.start_time).toBeCloseTo(T0, 6);
    expect(t.cost).toBeCloseTo((1200 * 2.5 + 300 * 10) / 1e6, 12);

    // Filters on time, latency and cost select it or not.
    expect((await keel.searchTraces({ from: T0, to: T0 + 1, min_latency_ms: 250 })).traces).toHaveLength(1);
    expect((await keel.searchTraces({ min_latency_ms: 251 })).traces).toHaveLength(0);
    expect((await keel.searchTraces({ min_cost: 0.005 })).traces).toHaveLength(1);
    expect((await keel.searchTraces({ max_cost: 0.005 })).traces).toHaveLength(0);
    expect((await keel.searchTraces({ from: T0 + 1 })).traces).toHaveLength(0);

    const detail = await keel.getTrace(t.trace_id);
    const span = detail.spans.find((s) => s.name === "chat gpt-x")!;
    expect(span).toMatchObject({
      operation: "chat",
      request_model: "gpt-x",
      parent_span_id: root.spanContext().spanId,
    });
    await keel.addTraceFeedback(t.trace_id, { score: 0.25, comment: "missed the refund policy", user: "reviewer-1" });
    expect((await keel.getTrace(t.trace_id)).feedback).toMatchObject([
      { score: 0.25, comment: "missed the refund policy", user: "reviewer-1" },
    ]);
  });

  it("takes protobuf bodies (application/x-protobuf) and answers in protobuf; older token names are read too", async () => {
    const root = new protobuf.Root();
    root.resolvePath = (_o, target) => path.join("third_party/opentelemetry-proto", target);
    root.loadSync("opentelemetry/proto/collector/trace/v1/trace_service.proto");
    const Request = root.lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest");
    const traceId = Buffer.from("0af7651916cd43dd8448eb211c80319c", "hex");
    const start = BigInt(T0) * 1_000_000n;
    const message = Request.fromObject({
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "batch-summarizer" } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId,
                  spanId: Buffer.from("b7ad6b7169203331", "hex"),
                  name: "text_completion gpt-x",
                  startTimeUnixNano: start.toString(),
                  endTimeUnixNano: (start + 1_500_000n).toString(),
                  status: { code: 2 },
                  attributes: [
                    { key: "gen_ai.operation.name", value: { stringValue: "text_completion" } },
                    { key: "gen_ai.request.model", value: { stringValue: "gpt-x" } },
                    { key: "gen_ai.usage.prompt_tokens", value: { intValue: "40" } },
                    { key: "gen_ai.usage.completion_tokens", value: { intValue: "8" } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    });
    const res = await fetch(`${server.url}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf" },
      body: Request.encode(message).finish(),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-protobuf");
    const detail = await keel.getTrace("0af7651916cd43dd8448eb211c80319c");
    expect(detail.spans[0]).toMatchObject({
      span_id: "b7ad6b7169203331",
      service_name: "batch-summarizer",
      status: "error",
      input_tokens: 40,
      output_tokens: 8,
    });
    expect(detail.trace.latency_ms).toBeCloseTo(1.5, 9);
    expect(detail.trace.cost).toBeCloseTo((40 * 2.5 + 8 * 10) / 1e6, 12);

    const bad = await fetch(`${server.url}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf" },
      body: new Uint8Array([0x0a, 0xff, 0xff]),
    });
    expect(bad.status).toBe(400);
  });
});
