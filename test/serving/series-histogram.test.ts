import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { SeriesHistogram } from "../../src/serving/series-histogram.js";

/** prom-client's own Histogram is the reference: the same observations must expose the same text and JSON. */
describe("SeriesHistogram", () => {
  const buckets = [0.0005, 0.001, 0.0025, 0.01, 0.5, 1];
  const labelNames = ["endpoint", "model_version", "route"] as const;

  function pair() {
    const ref = new Registry();
    const own = new Registry();
    const reference = new Histogram({ name: "h_seconds", help: "A histogram.", labelNames, buckets, registers: [ref] });
    const series = new SeriesHistogram("h_seconds", "A histogram.", labelNames, buckets, [own]);
    return { ref, own, reference, series };
  }

  it("exposes the same Prometheus text and JSON as prom-client for the same observations", async () => {
    const { ref, own, reference, series } = pair();
    const a = { endpoint: "loans", model_version: "3", route: "champion" };
    const b = { endpoint: "cards", model_version: "1", route: "canary" };
    // Values on bucket bounds, between them, past the last one and negative; two series.
    const values = [0.0005, 0.0004, 0.001, 0.00099, 0.7, 1, 2.5, -3, 0.01, 0.2500001];
    const child = series.labels(a);
    for (const [i, v] of values.entries()) {
      reference.observe(i % 3 === 0 ? b : a, v);
      if (i % 3 === 0) series.observe(b, v);
      else child.observe(v);
    }
    expect(await own.metrics()).toBe(await ref.metrics());
    const strip = (json: unknown): unknown =>
      JSON.parse(JSON.stringify(json, (k, v: unknown) => (k === "exemplar" ? undefined : v)));
    expect(strip(await own.getMetricsAsJSON())).toEqual(strip(await ref.getMetricsAsJSON()));
  });

  it("merges into another registry and resets as prom-client does", async () => {
    const { ref, own, reference, series } = pair();
    reference.observe({ endpoint: "x", model_version: "1", route: "champion" }, 0.3);
    series.observe({ endpoint: "x", model_version: "1", route: "champion" }, 0.3);
    expect(await Registry.merge([own]).metrics()).toBe(await Registry.merge([ref]).metrics());
    ref.resetMetrics();
    own.resetMetrics();
    expect(await own.metrics()).toBe(await ref.metrics());
  });

  it("refuses a value that is not a finite number, as prom-client does", () => {
    const { reference, series } = pair();
    const labels = { endpoint: "x", model_version: "1", route: "champion" };
    expect(() => reference.observe(labels, Number.NaN)).toThrow(TypeError);
    expect(() => series.observe(labels, Number.NaN)).toThrow(TypeError);
  });
});
