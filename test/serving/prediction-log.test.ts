import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { parseEndpointConfig, ServingMetrics } from "../../src/serving/index.js";
import { PredictionLog, type PredictionResult } from "../../src/serving/prediction-log.js";
import type { InferenceLog, InferenceRecord, WriteRetryEvent } from "../../src/store/inference-log.js";
import { recordingLogger } from "../runtime/recording-logger.js";
import { until } from "../until.js";
import { fixture, get, openInferenceLog, openStack, post, serve } from "./harness.js";

/** An inference log whose every append fails with `message`. */
function failingLog(message: string): InferenceLog {
  return {
    append: () => Promise.reject(new Error(message)),
    query: () => Promise.resolve([] as readonly InferenceRecord[]),
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

const config = parseEndpointConfig({ name: "loans", model: "credit" });
const table = { nRows: 1, columns: new Map([["a", [1]]]) } as unknown as Parameters<PredictionLog["sampledRecords"]>[2];
const result: PredictionResult = {
  requestId: "r-1",
  endpoint: "loans",
  modelName: "credit",
  modelVersion: "1",
  route: "champion",
  scores: new Float64Array([0.7]),
  threshold: 0.5,
  cachedRows: 0,
};

async function metric(metrics: ServingMetrics, name: string): Promise<string[]> {
  return (await metrics.text()).split("\n").filter((l) => l.startsWith(name));
}

describe("PredictionLog", () => {
  it("builds one record per row, with that row's features, entity and decision", () => {
    const log = new PredictionLog(failingLog("unused"), new ServingMetrics(), recordingLogger([]));
    const keyed = parseEndpointConfig({ name: "loans", model: "credit", entityKey: "id" });
    const rows = {
      nRows: 2,
      columns: new Map<string, unknown[]>([
        ["a", [1, undefined]],
        ["id", ["c-7", null]],
      ]),
    } as unknown as Parameters<PredictionLog["sampledRecords"]>[2];
    const two = { ...result, scores: new Float64Array([0.7, 0.2]) };
    expect(log.sampledRecords(keyed, two, rows, 1000, 3, "fallback-entity", true)).toEqual([
      {
        requestId: "r-1#0",
        time: 1000,
        endpoint: "loans",
        modelName: "credit",
        modelVersion: "1",
        route: "champion",
        entityId: "c-7",
        features: { a: 1, id: "c-7" },
        outputs: { score: 0.7, decision: "reject" },
        latencyMs: 3,
        shadows: [],
      },
      {
        requestId: "r-1#1",
        time: 1000,
        endpoint: "loans",
        modelName: "credit",
        modelVersion: "1",
        route: "champion",
        entityId: "fallback-entity",
        features: { a: null, id: null },
        outputs: { score: 0.2, decision: "approve" },
        latencyMs: 3,
        shadows: [],
      },
    ]);
  });

  it("counts and logs an async append that fails, and never counts its records written", async () => {
    const metrics = new ServingMetrics();
    const logged: Record<string, unknown>[] = [];
    const logger = recordingLogger(logged);
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
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: "error", msg: "inference log append failed", durability: "async" });
    expect((logged[0]?.err as Error).message).toBe("disk full");
  });

  it("fails an audit append with the request id, counted and logged", async () => {
    const metrics = new ServingMetrics();
    const logged: Record<string, unknown>[] = [];
    const logger = recordingLogger(logged);
    const log = new PredictionLog(failingLog("locked"), metrics, logger);
    const records = log.sampledRecords(config, result, table, 1000, 1, undefined, false) as InferenceRecord[];
    await expect(log.append(records, true, "r-1")).rejects.toThrow(
      "inference log: the audit record of request r-1 could not be written",
    );
    expect(await metric(metrics, "keel_inference_log_write_failures_total")).toEqual([
      'keel_inference_log_write_failures_total{durability="sync"} 1',
    ]);
    expect(logged.map((l) => l.msg)).toEqual(["inference log append failed"]);
  });

  it("counts records written only once their append has committed", async () => {
    const metrics = new ServingMetrics();
    let commit: () => void = () => undefined;
    const sink: InferenceLog = {
      ...failingLog("unused"),
      append: () => new Promise<void>((resolve) => (commit = resolve)),
    };
    const log = new PredictionLog(sink, metrics, recordingLogger([]));
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

  it("counts async appends that share one commit when it settles, every one of them when it fails", async () => {
    for (const outcome of ["commit", "fail"] as const) {
      const metrics = new ServingMetrics();
      const logged: Record<string, unknown>[] = [];
      // One transaction for every append until the flush, as the SQL log batches them.
      let settle: (ok: boolean) => void = () => undefined;
      const shared = new Promise<void>((resolve, reject) => {
        settle = (ok) => (ok ? resolve() : reject(new Error("disk full")));
      });
      const appended: number[] = [];
      const sink: InferenceLog = {
        ...failingLog("unused"),
        append: (records) => {
          appended.push(records.length);
          return shared;
        },
      };
      const log = new PredictionLog(sink, metrics, recordingLogger(logged));
      const records = log.sampledRecords(config, result, table, 1000, 1, undefined, false) as InferenceRecord[];
      for (let i = 0; i < 3; i++) expect(log.append(records, false, `r-${i}`)).toBeUndefined();
      expect(appended).toEqual([1, 1, 1]);
      expect(await metric(metrics, "keel_serving_inference_log_records_total")).toEqual([]);
      settle(outcome === "commit");
      await log.idle();
      if (outcome === "commit") {
        expect(await metric(metrics, "keel_serving_inference_log_records_total")).toEqual([
          'keel_serving_inference_log_records_total{outcome="written"} 3',
        ]);
        expect(logged).toEqual([]);
      } else {
        expect(await metric(metrics, "keel_serving_inference_log_records_total")).toEqual([
          'keel_serving_inference_log_records_total{outcome="failed"} 3',
        ]);
        expect(await metric(metrics, "keel_inference_log_write_failures_total")).toEqual([
          'keel_inference_log_write_failures_total{durability="async"} 3',
        ]);
        expect(logged).toHaveLength(1);
        expect(logged[0]).toMatchObject({ msg: "inference log append failed", records: 3, appends: 3 });
      }
    }
  });

  it("shows and logs records the log holds after a failed write, and does not wait for them when idle", async () => {
    const metrics = new ServingMetrics();
    const logged: Record<string, unknown>[] = [];
    let report: (e: WriteRetryEvent) => void = () => undefined;
    let commit: () => void = () => undefined;
    const sink: InferenceLog = {
      ...failingLog("unused"),
      append: () => new Promise<void>((resolve) => (commit = resolve)),
      onWriteRetry: (listener) => (report = listener),
    };
    const log = new PredictionLog(sink, metrics, recordingLogger(logged));
    const records = log.sampledRecords(config, result, table, 1000, 1, undefined, false) as InferenceRecord[];
    expect(log.append(records, false, "r-1")).toBeUndefined();
    const idle = log.idle();
    report({ kind: "held", error: new Error("connection refused"), heldRecords: 1, retryInMs: 1000 });
    await idle; // resolves with the record still held
    expect(await metric(metrics, "keel_inference_log_held_records")).toEqual(["keel_inference_log_held_records 1"]);
    expect(logged[0]).toMatchObject({ level: "warn", heldRecords: 1, retryInMs: 1000 });
    await log.idle();
    report({ kind: "resumed", written: 1 });
    commit();
    await log.idle();
    expect(await metric(metrics, "keel_inference_log_held_records")).toEqual(["keel_inference_log_held_records 0"]);
    expect(await metric(metrics, "keel_serving_inference_log_records_total")).toEqual([
      'keel_serving_inference_log_records_total{outcome="written"} 1',
    ]);
    expect(logged[1]).toMatchObject({
      level: "info",
      records: 1,
      msg: "inference log writes resumed; held records written",
    });
  });

  it("idle writes out the log's buffer instead of waiting for its flush timer", async () => {
    let commit: () => void = () => undefined;
    let flushed = 0;
    const sink: InferenceLog = {
      ...failingLog("unused"),
      // An append that commits only when the log is flushed, as a buffered log's does.
      append: () => new Promise<void>((resolve) => (commit = resolve)),
      flush: () => {
        flushed++;
        commit();
        return Promise.resolve();
      },
    };
    const log = new PredictionLog(sink, new ServingMetrics(), recordingLogger([]));
    const records = log.sampledRecords(config, result, table, 1000, 1, undefined, false) as InferenceRecord[];
    expect(log.append(records, false, "r-1")).toBeUndefined();
    await log.idle();
    expect(flushed).toBe(1);
  });
});

describe("ModelServer with a failing inference log", () => {
  it("answers the request, holds its async record while writes fail, shows it on /metrics, and writes it once they succeed", async () => {
    const stack = await openStack();
    const { meta, db, log } = await openInferenceLog(stack, 20, { retryDelayMs: 50 });
    const logged: Record<string, unknown>[] = [];
    const served = await serve(stack, { inferenceLog: log, logger: recordingLogger(logged) });
    const metricsText = async () => (await get(`${served.url}/metrics`)).text;
    try {
      const v = await stack.register("credit", "xgb_binary.json");
      await stack.registry.setAlias("credit", "champion", v);
      await served.serving.sync();
      await sql`alter table inference_log rename to inference_log_away`.execute(db);
      const url = `${served.url}/api/keel/endpoints/credit/predict`;
      const r = await post(url, [fixture("xgb_binary.json").row(0)], { "x-request-id": "held-1" });
      expect(r.status).toBe(200);
      await until("the record held", async () => (await metricsText()).includes("keel_inference_log_held_records 1"));
      const held = logged.find((l) => l.msg === "inference log write failed; its records are held to be written again");
      expect(held).toMatchObject({ level: "warn", heldRecords: 1 });
      expect(String((held?.err as Error | undefined)?.message)).toMatch(/inference_log/);
      await sql`alter table inference_log_away rename to inference_log`.execute(db);
      await until("the record written", async () =>
        (await metricsText()).includes("keel_inference_log_held_records 0"),
      );
      const text = await metricsText();
      expect(text).toContain('keel_serving_inference_log_records_total{outcome="written"} 1');
      expect(text).not.toContain('outcome="failed"');
      expect(text).not.toContain("keel_inference_log_write_failures_total{");
      expect(logged.find((l) => l.msg === "inference log writes resumed; held records written")).toMatchObject({
        level: "info",
        records: 1,
      });
      expect((await log.query({ requestIds: ["held-1"] })).map((x) => x.route)).toEqual(["champion"]);
    } finally {
      await served.close();
      await log.close();
      await meta.close();
      await stack.close();
    }
  });
});
