import { describe, expect, it } from "vitest";
import { InvalidParameterError } from "../../src/errors.js";
import { parseEndpointConfig, parseServingFile } from "../../src/serving/endpoint-config.js";

function fieldOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    if (e instanceof InvalidParameterError) return e.details?.field;
    throw e;
  }
  throw new Error("expected a rejection");
}

describe("endpoint configuration", () => {
  it("caps the shadows of one endpoint, naming the limit", () => {
    const shadows = (n: number) => Array.from({ length: n }, (_, i) => ({ model: `m${i}`, version: "1" }));
    expect(parseEndpointConfig({ name: "wide", model: "loans", shadows: shadows(16) }).shadows).toHaveLength(16);
    expect(() => parseEndpointConfig({ name: "wide", model: "loans", shadows: shadows(5000) })).toThrow(
      'endpoint.shadows = "5000 shadows": must hold at most 16 shadow models',
    );
  });

  it("fills defaults: champion alias, no split, full logging, no threshold of its own", () => {
    const c = parseEndpointConfig({ name: "loans", model: "loan-default" });
    expect(c.champion).toEqual({ model: "loan-default", alias: "champion" });
    expect(c.shadows).toEqual([]);
    expect(c.inferenceLog).toEqual({ sampleRate: 1, audit: "async" });
    // no threshold of its own: the served version's stored threshold applies, else 0.5
    expect(c.decision).toEqual({ positive: "reject", negative: "approve" });
  });

  it("resolves a full policy", () => {
    const c = parseEndpointConfig({
      name: "loans",
      model: "m",
      challenger: { alias: "challenger", percent: 10 },
      canary: { version: "8", stepSeconds: 60 },
      shadows: [{ model: "other", version: "2" }],
      fallback: { previousVersion: true, score: 0.5 },
      cache: { ttlSeconds: 5 },
    });
    expect(c.challenger).toEqual({ model: "m", alias: "challenger", percent: 10 });
    expect(c.canary?.schedule).toEqual({ steps: [5, 25, 100], stepMs: 60_000, maxErrorRate: 0.05, minRequests: 20 });
    expect(c.shadows).toEqual([{ model: "other", version: "2" }]);
    expect(c.fallback).toEqual({ previousVersion: true, score: 0.5 });
    expect(c.cache).toEqual({ ttlMs: 5000, maxEntries: 10_000 });
    expect(c.featureService).toBeUndefined();
    expect(parseEndpointConfig({ name: "by-id", model: "m", featureService: "loan_default_v1" }).featureService).toBe(
      "loan_default_v1",
    );
  });

  it("names the bad field", () => {
    expect(
      fieldOf(() => parseEndpointConfig({ name: "x", model: "m", challenger: { alias: "c", percent: 120 } })),
    ).toBe("endpoint.challenger.percent");
    expect(fieldOf(() => parseEndpointConfig({ name: "x", model: "m", shadows: [{ version: "1", alias: "a" }] }))).toBe(
      "endpoint.shadows[0]",
    );
    expect(fieldOf(() => parseEndpointConfig({ name: "x", model: "m", canary: { percent: 5 } }))).toBe(
      "endpoint.canary.percent",
    );
    expect(fieldOf(() => parseEndpointConfig({ name: "x", model: "m", canary: { version: "2", steps: [5, 0] } }))).toBe(
      "endpoint.canary.steps[1]",
    );
    expect(fieldOf(() => parseEndpointConfig({ name: "x", model: "m", fallback: {} }))).toBe("endpoint.fallback");
    expect(fieldOf(() => parseEndpointConfig({ name: "bad name", model: "m" }))).toBe("endpoint.name");
    expect(
      fieldOf(() =>
        parseServingFile({
          endpoints: [
            { name: "a", model: "m" },
            { name: "a", model: "n" },
          ],
        }),
      ),
    ).toBe("endpoints[1].name");
    expect(fieldOf(() => parseServingFile({ models: { m: { batching: { maxBatchSize: 0 } } } }))).toBe(
      "models.m.batching.maxBatchSize",
    );
  });

  it("says field = value: rule, as every spec does", () => {
    expect(() => parseEndpointConfig({ name: "x", model: "m", challenger: { alias: "c", percent: 120 } })).toThrow(
      "endpoint.challenger.percent = 120: must be a finite number, ≥ 0, ≤ 100",
    );
    expect(() => parseEndpointConfig({ name: "x", model: "m", inferenceLog: { audit: "later" } })).toThrow(
      'endpoint.inferenceLog.audit = "later": must be one of sync, async',
    );
    expect(() => parseEndpointConfig({ name: "x", model: "m", shadows: [{ model: "n" }] })).toThrow(
      'endpoint.shadows[0] = {"model":"n"}: must name exactly one of version or alias',
    );
    expect(() => parseEndpointConfig({ name: "x" })).toThrow("endpoint.model = undefined: is required");
    expect(() => parseEndpointConfig({ name: "x", model: "m", featureService: ["loan_default_v1"] })).toThrow(
      'endpoint.featureService = ["loan_default_v1"]: must be a non-empty string',
    );
  });

  it("reads server-wide and per-model batching", () => {
    const f = parseServingFile({ batching: { maxLatencyMs: 2 }, models: { m: { batching: { maxBatchSize: 64 } } } });
    expect(f.batching).toEqual({ maxLatencyMs: 2 });
    expect(f.modelBatching).toEqual({ m: { maxBatchSize: 64 } });
    expect(f.endpoints).toEqual([]);
  });
});
