import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { endpointFigures, figureHistory } from "../../ui/src/endpoint-figures.js";
import type { Sample } from "../../ui/src/prom.js";
import { bucketIncrease, histogramQuantile, increase, parseProm } from "../../ui/src/prom.js";
import { requireTool } from "../tools.js";

const promtool = requireTool("promtool");
const LATENCY = "keel_serving_request_duration_seconds";
const LES = ["0.005", "0.01", "0.025", "+Inf"];

/** One scrape in the exposition format: per route, cumulative latency buckets and counters. */
function exposition(routes: Record<string, { buckets: number[]; counters: Record<string, number> }>): string {
  const lines: string[] = [];
  for (const [route, r] of Object.entries(routes)) {
    const labels = `endpoint="loans",route="${route}"`;
    r.buckets.forEach((c, i) => lines.push(`${LATENCY}_bucket{${labels},le="${LES[i]}"} ${c}`));
    for (const [name, v] of Object.entries(r.counters)) lines.push(`${name}{${labels}} ${v}`);
  }
  // Another endpoint's series: in no figure of "loans".
  lines.push(`keel_serving_requests_total{endpoint="other",route="champion"} 99999`);
  lines.push(`${LATENCY}_bucket{endpoint="other",route="champion",le="+Inf"} 99999`);
  return lines.join("\n") + "\n";
}

/**
 * Two scrapes 10 s apart. The champion's series grow; the challenger's process restarted between
 * them, so its counters are lower than before (a reset: all of the new value is the interval's).
 */
const BEFORE = exposition({
  champion: {
    buckets: [1000, 1500, 1900, 2000],
    counters: {
      keel_serving_requests_total: 2000,
      keel_serving_errors_total: 10,
      keel_serving_cache_hits_total: 300,
      keel_serving_cache_misses_total: 700,
    },
  },
  challenger: {
    buckets: [500, 700, 800, 820],
    counters: { keel_serving_requests_total: 820, keel_serving_errors_total: 4 },
  },
});
const AFTER = exposition({
  champion: {
    buckets: [1040, 1580, 1990, 2100],
    counters: {
      keel_serving_requests_total: 2100,
      keel_serving_errors_total: 16,
      keel_serving_cache_hits_total: 330,
      keel_serving_cache_misses_total: 760,
      // Absent before: the first fallback since the server started is in this interval.
      keel_serving_fallbacks_total: 3,
    },
  },
  challenger: {
    buckets: [10, 15, 20, 20],
    counters: { keel_serving_requests_total: 20, keel_serving_errors_total: 0 },
  },
});

describe("serving figures over the interval between two scrapes", () => {
  const before = { samples: parseProm(BEFORE), at: 0 };
  const after = { samples: parseProm(AFTER), at: 10_000 };

  it("sums bucket increases per bound, taking a reset series' whole value", () => {
    // champion +40 +80 +90 +100; challenger reset: 10 15 20 20
    const b = bucketIncrease(after.samples, before.samples, LATENCY, { endpoint: "loans" });
    expect(b.sort((x, y) => x.le - y.le)).toEqual([
      { le: 0.005, count: 50 },
      { le: 0.01, count: 95 },
      { le: 0.025, count: 110 },
      { le: Infinity, count: 120 },
    ]);
  });

  it("interpolates quantiles within the bucket, as histogram_quantile (worked by hand)", () => {
    const b = bucketIncrease(after.samples, before.samples, LATENCY, { endpoint: "loans" });
    // rank 60 of 120 falls in (0.005, 0.01] holding 45 from 50: 0.005 + 0.005 · 10/45
    expect(histogramQuantile(b, 0.5)).toBeCloseTo(0.005 + (0.005 * 10) / 45, 12);
    // rank 108 in (0.01, 0.025] holding 15 from 95: 0.01 + 0.015 · 13/15 = 0.023
    expect(histogramQuantile(b, 0.9)).toBeCloseTo(0.023, 12);
    // rank 118.8 past the last finite bound (110): that bound
    expect(histogramQuantile(b, 0.99)).toBe(0.025);
    // rank 12 in the first bucket, from 0
    expect(histogramQuantile(b, 0.1)).toBeCloseTo(0.0012, 12);
    expect(histogramQuantile([{ le: Infinity, count: 0 }], 0.5)).toBeNull();
  });

  it("makes the endpoint's figures from the increases: rate, p50/p99 in ms, error, fallback and cache-hit rates", () => {
    const f = endpointFigures(after, before, "loans");
    expect(f.requests).toBe(120); // 100 + 20 (reset)
    expect(f.rate).toBe(12); // 120 over 10 s
    expect(f.p50).toBeCloseTo((0.005 + (0.005 * 10) / 45) * 1000, 9);
    expect(f.p99).toBeCloseTo(25, 9);
    expect(f.errorRate).toBeCloseTo(6 / 126, 12); // champion +6, challenger reset to 0
    expect(f.fallbackRate).toBeCloseTo(3 / 120, 12);
    expect(f.cacheHitRate).toBeCloseTo(30 / 90, 12);
  });

  it("keeps the since-start figures apart: one scrape against none", () => {
    const f = endpointFigures(after, null, "loans");
    expect(f.requests).toBe(2120);
    expect(f.rate).toBeNull();
    // buckets 1050, 1595, 2010, 2120: rank 1060 in (0.005, 0.01]
    expect(f.p50).toBeCloseTo((0.005 + (0.005 * 10) / 545) * 1000, 9);
    expect(f.cacheHitRate).toBeCloseTo(330 / 1090, 12);
  });

  it("answers no figures for an interval without requests, and one history point per interval", () => {
    const same = { samples: after.samples, at: 15_000 };
    const idle = endpointFigures(same, after, "loans");
    expect(idle).toMatchObject({ requests: 0, rate: 0, p50: null, p99: null, errorRate: null, fallbackRate: null });
    const history = figureHistory([before, after, same], "loans");
    expect(history.map((h) => [h.at, h.figures.rate])).toEqual([
      [10_000, 12],
      [15_000, 0],
    ]);
  });

  it("makes bucket counts monotonic before interpolating, as Prometheus does", () => {
    // A bucket's own reset can leave it below the bound before it: treated as that bound's count.
    const b = [
      { le: 0.01, count: 40 },
      { le: 0.025, count: 10 },
      { le: 0.05, count: 80 },
      { le: Infinity, count: 80 },
    ];
    expect(histogramQuantile(b, 0.5)).toBe(0.01);
    expect(histogramQuantile(b, 0.75)).toBeCloseTo(0.025 + (0.025 * 20) / 40, 12);
  });
});

/** A small deterministic generator (mulberry32) for the promtool scenarios. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BOUNDS = ["0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "+Inf"];

/**
 * Cumulative buckets of three route series at two scrapes, one series reset between them. Every
 * series' first value is at least its increase, so Prometheus' extrapolation of `increase` over
 * [2m] scales each series by the same factor (2), which no quantile sees.
 */
function scenario(seed: number): { before: Sample[]; after: Sample[] } {
  const next = random(seed);
  const before: Sample[] = [];
  const after: Sample[] = [];
  for (const route of ["champion", "challenger", "canary"]) {
    const reset = route === "canary";
    let b = 0;
    let a = 0;
    for (const le of BOUNDS) {
      const grow = Math.floor(next() * 50);
      b += 2 * grow + 50 + Math.floor(next() * 500);
      a += reset ? Math.floor(next() * 30) : grow;
      const labels = { endpoint: "loans", route, le };
      before.push({ name: `${LATENCY}_bucket`, labels, value: b });
      after.push({ name: `${LATENCY}_bucket`, labels, value: reset ? a : b + a });
    }
  }
  return { before, after };
}

/**
 * PromQL's `round(v, 1e-9)` (floor(v · 1/1e-9 + 0.5) / (1/1e-9)): promtool compares samples
 * exactly, and the two sums of the interpolation may differ in their last bit.
 */
function toNano(v: number): number {
  const inverse = 1 / 1e-9;
  return Math.floor(v * inverse + 0.5) / inverse;
}

describe.skipIf(promtool.skip)("histogram_quantile over interval increases, against promtool", () => {
  it("agrees with Prometheus' histogram_quantile(q, sum by (le) (increase(…[2m]))) to 1e-9 s", () => {
    const tests: string[] = [];
    for (let seed = 1; seed <= 6; seed++) {
      const { before, after } = scenario(seed);
      const series = before.map((s, i) => {
        const labels = Object.entries(s.labels)
          .map(([k, v]) => `${k}="${v}"`)
          .join(",");
        return `      - series: '${s.name}{${labels}}'\n        values: '${s.value} ${after[i]!.value}'`;
      });
      const b = bucketIncrease(after, before, LATENCY, { endpoint: "loans" });
      const exprs = [0.25, 0.5, 0.9, 0.99].map((q) => {
        const want = toNano(histogramQuantile(b, q)!);
        return [
          `      - expr: round(histogram_quantile(${q}, sum by (le) (increase(${LATENCY}_bucket{endpoint="loans"}[2m]))), 1e-9)`,
          `        eval_time: 1m`,
          `        exp_samples:`,
          `          - labels: '{}'`,
          `            value: ${want}`,
        ].join("\n");
      });
      const total = increase(after, before, `${LATENCY}_bucket`, { endpoint: "loans", le: "+Inf" });
      exprs.push(
        [
          `      - expr: sum(increase(${LATENCY}_bucket{endpoint="loans",le="+Inf"}[2m])) / 2`,
          `        eval_time: 1m`,
          `        exp_samples:`,
          `          - labels: '{}'`,
          `            value: ${total}`,
        ].join("\n"),
      );
      tests.push(
        `  - interval: 1m\n    input_series:\n${series.join("\n")}\n    promql_expr_test:\n${exprs.join("\n")}`,
      );
    }
    const dir = mkdtempSync(path.join(tmpdir(), "keel-promtool-"));
    try {
      const file = path.join(dir, "quantiles.test.yml");
      writeFileSync(file, `rule_files: []\nevaluation_interval: 1m\ntests:\n${tests.join("\n")}\n`);
      const run = spawnSync(promtool.path, ["test", "rules", file], { encoding: "utf8" });
      expect(run.stdout + run.stderr, "promtool test rules").toContain("SUCCESS");
      expect(run.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
