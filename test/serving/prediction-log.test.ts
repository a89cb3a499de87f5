import { describe, expect, it } from "vitest";
import type { Logger } from "../../src/runtime/index.js";
import { parseEndpointConfig, ServingMetrics } from "../../src/serving/index.js";
import { PredictionLog, type PredictionResult } from "../../src/serving/prediction-log.js";
import type { InferenceLog, InferenceRecord } from "../../src/store/inference-log.js";
import { fixture, get, openStack, post, serve } from "./harness.js";

/** An inference log whose every append fails with `message`. */
function failingLog(message: string): InferenceLog {
  return {
    append: () => Promise.reject(new Error(message)),
    query: () => Promise.resolve([] as readonly InferenceRecord[]),
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

function recordingLogger(): Logger & { lines: { level: string; obj: object; msg: string | undefined }[] } {
  const lines: { level: string; obj: object; msg: string | undefined }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg });
  return { lines, info: at("info"), warn: at("warn"), error: at("error"), debug: at("debug") };
}

const config = parseEndpointConfig({ name: "loans", model: "credit" });
const table = { nRows: 1, columns: new Map([["a", [1]]]) } as unknown as Parameters<
  PredictionLog["sampledRecords"]
>[2];
const result: PredictionResult = {
  requestId: "r-1",
  endpoint: "loans",
  modelName: "credit",
  modelVersion: "1",
  route: "champion",
  scores: new Float64Array([0.7]),
  cachedRows: 0,
};

async function metric(metrics: ServingMetrics, name: string): Promise<string[]> {
  return (await metrics.text()).split("\n").filter((l) => l.startsWith(name));
}

describe("PredictionLog", () => {
  it("counts and logs an async append that fails, and never counts its records written", async () => {
    const metrics = new ServingMetrics();
    const logger = recordingLogger();
    const log = new PredictionLog(failingLog("disk full"), metrics, logger);
    const records = log.sampledRecords(config, result, table, 1000, 1, undefined, false) as InferenceRecord[];
    expect(log.append(records, false, "r-1")).toBeUndefined();
    await log.idle();
    expect(await metric(metrics, "keel_inference_log_write_failures_total")).toEqual([
      'keel_inference_log_write_failures_total{durability="async"} 1',
    ]);
    expect(await metric(metrics, "keel_serving_inference_log_records_total")).toEqual([
      'keel_serving_inference_log_records_total{outcome="failed"} 1',
    ]);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]?.level).toBe("error");
    expect(logger.lines[0]?.msg).toBe("inference log append failed");
    expect((logger.lines[0]?.obj as { err: Error }).err.message).toBe("disk full");
  });

  it("fails an audit append with the request id, counted and logged", async () => {
    const metrics = new ServingMetrics();
    const logger = recordingLogger();
    const log = new PredictionLog(failingLog("locked"), metrics, logger);
    const records = log.sampledRecords(config, result, table, 1000, 1, undefined, false) as InferenceRecord[];
    await expect(log.append(records, true, "r-1")).rejects.toThrow(
      "inference log: the audit record of request r-1 could not be written",
    );
    expect(await metric(metrics, "keel_inference_log_write_failures_total")).toEqual([
      'keel_inference_log_write_failures_total{durability="sync"} 1',
    ]);
    expect(logger.lines.map((l) => l.msg)).toEqual(["inference log append failed"]);
  });

  it("counts records written only once their append has committed", async () => {
    const metrics = new ServingMetrics();
    let commit: () => void = () => undefined;
    const sink: InferenceLog = {
      ...failingLog("unused"),
      append: () => new Promise<void>((resolve) => (commit = resolve)),
    };
    const log = new PredictionLog(sink, metrics, recordingLogger());
    const records = log.sampledRecords(config, result, table, 1000, 1, undefined, false) as InferenceRecord[];
    expect(log.append(records, false, "r-1")).toBeUndefined();
    await new Promise((r) => setImmediate(r));
    expect(await metric(metrics, "keel_serving_inference_log_records_total")).toEqual([]);
    commit();
    await log.idle();
    expect(await metric(metrics, "keel_serving_inference_log_records_total")).toEqual([
      'keel_serving_inference_log_records_total{outcome="written"} 1',
    ]);
  });
});

describe("ModelServer with a failing inference log", () => {
  it("answers the request, shows the failure on /metrics and logs it", async () => {
    const stack = await openStack();
    const logger = recordingLogger();
    const served = await serve(stack, { inferenceLog: failingLog("no space left on device"), logger });
    try {
      const v = await stack.register("credit", "xgb_binary.json");
      await stack.registry.setAlias("credit", "champion", v);
      await served.serving.sync();
      const r = await post(`${served.url}/api/keel/endpoints/credit/predict`, [fixture("xgb_binary.json").row(0)]);
      expect(r.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const text = (await get(`${served.url}/metrics`)).text;
      expect(text).toContain('keel_inference_log_write_failures_total{durability="async"} 1');
      const line = logger.lines.find((l) => l.msg === "inference log append failed");
      expect((line?.obj as { err: Error } | undefined)?.err.message).toBe("no space left on device");
    } finally {
      await served.close();
      await stack.close();
    }
  });
});
