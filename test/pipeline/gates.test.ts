import { describe, expect, it } from "vitest";
import { InvalidParameterError } from "../../src/errors.js";
import {
  DEFAULT_LOAN_GATES,
  MIN_SEGMENT_ROWS,
  evaluateGates,
  parseGates,
  type GateEvidence,
  type GateResult,
} from "../../src/pipeline/gates.js";

/** Validation evidence from a seeded generator: scores rise with the label, with overlap. */
function makeEvidence(n: number, separation: number, seed: number): GateEvidence {
  let s = seed;
  const r = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const labels = new Float64Array(n);
  const scores = new Float64Array(n);
  const region: (string | null)[] = [];
  for (let i = 0; i < n; i++) {
    labels[i] = r() < 0.3 ? 1 : 0;
    const z = (labels[i] as number) * separation + (r() + r() + r() - 1.5);
    // Two-decimal scores make ties, which the AUC counts as half.
    scores[i] = Math.round(100 / (1 + Math.exp(-z))) / 100;
    region.push(["north", "south", "east"][i % 3] as string);
  }
  return { labels, scores, threshold: 0.5, segments: { region } };
}

/** AUC by counting every (positive, negative) pair: 1 if the positive scores higher, ½ on a tie. */
function bruteAuc(y: Float64Array, p: Float64Array): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 1) continue;
    for (let j = 0; j < y.length; j++) {
      if (y[j] !== 0) continue;
      pairs++;
      const a = p[i] as number;
      const b = p[j] as number;
      wins += a > b ? 1 : a === b ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

/** KS separation by trying every observed score as the cut: max |TPR − FPR|. */
function bruteKs(y: Float64Array, p: Float64Array): number {
  let pos = 0;
  for (const v of y) pos += v;
  const neg = y.length - pos;
  let best = 0;
  for (const t of p) {
    let tp = 0;
    let fp = 0;
    for (let i = 0; i < y.length; i++) {
      if ((p[i] as number) >= t) {
        if (y[i] === 1) tp++;
        else fp++;
      }
    }
    best = Math.max(best, Math.abs(tp / pos - fp / neg));
  }
  return best;
}

function bruteFnr(y: Float64Array, p: Float64Array, t: number): number {
  let fn = 0;
  let pos = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 1) continue;
    pos++;
    if ((p[i] as number) < t) fn++;
  }
  return fn / pos;
}

function result(results: GateResult[], gate: string): GateResult {
  const r = results.find((x) => x.gate === gate);
  if (r === undefined) throw new Error(`no result for ${gate}`);
  return r;
}

describe("DEFAULT_LOAN_GATES", () => {
  it("are the seed's loan thresholds", () => {
    expect(DEFAULT_LOAN_GATES).toEqual([
      { gate: "auc", min: 0.82 },
      { gate: "ks", min: 0.3 },
      { gate: "fnr", max: 0.15 },
      { gate: "auc_vs_champion", minDelta: -0.005 },
    ]);
    expect(parseGates([{ gate: "auc" }, { gate: "ks" }, { gate: "fnr" }, { gate: "auc_vs_champion" }])).toEqual(
      DEFAULT_LOAN_GATES,
    );
    expect(parseGates([{ gate: "demographic_parity", segment: "region" }])).toEqual([
      { gate: "demographic_parity", segment: "region", maxGap: 0.1 },
    ]);
  });
});

describe("evaluateGates", () => {
  const strong = makeEvidence(600, 1.4, 7);
  const weak = makeEvidence(600, 0.55, 8);

  it("computes AUC, KS and FNR as independent brute-force counts do", () => {
    for (const ev of [strong, weak]) {
      const { results } = evaluateGates(DEFAULT_LOAN_GATES, ev);
      expect(result(results, "auc").observed).toBeCloseTo(bruteAuc(ev.labels, ev.scores), 12);
      expect(result(results, "ks").observed).toBeCloseTo(bruteKs(ev.labels, ev.scores), 12);
      expect(result(results, "fnr").observed).toBeCloseTo(bruteFnr(ev.labels, ev.scores, 0.5), 12);
    }
  });

  it("passes a strong model and fails a weak one, naming gate, observed value and threshold", () => {
    const good = evaluateGates(DEFAULT_LOAN_GATES, { ...strong, threshold: 0.3 });
    const aucStrong = bruteAuc(strong.labels, strong.scores);
    expect(aucStrong).toBeGreaterThan(0.82);
    expect(good.passed).toBe(true);
    expect(result(good.results, "auc").message).toBe(`gate auc passed: validation AUC ${aucStrong.toFixed(4)} > 0.82`);

    const bad = evaluateGates(DEFAULT_LOAN_GATES, weak);
    const aucWeak = bruteAuc(weak.labels, weak.scores);
    expect(aucWeak).toBeLessThan(0.82);
    expect(bad.passed).toBe(false);
    const auc = result(bad.results, "auc");
    expect(auc).toMatchObject({ passed: false, skipped: false, threshold: 0.82, comparator: ">" });
    expect(auc.message).toBe(`gate auc failed: validation AUC ${aucWeak.toFixed(4)} is not > 0.82`);
    const fnr = result(bad.results, "fnr");
    const fnrWeak = bruteFnr(weak.labels, weak.scores, 0.5);
    expect(fnrWeak).toBeGreaterThan(0.15);
    expect(fnr.message).toBe(
      `gate fnr failed: false negative rate (threshold 0.5) ${fnrWeak.toFixed(4)} is not < 0.15`,
    );
    expect(fnr.comparator).toBe("<");
  });

  it("evaluates FNR at the gate's own threshold when it declares one", () => {
    const { results } = evaluateGates([{ gate: "fnr", max: 0.15, threshold: 0.2 }], strong);
    expect(results[0]?.observed).toBeCloseTo(bruteFnr(strong.labels, strong.scores, 0.2), 12);
    expect(results[0]?.message).toContain("(threshold 0.2)");
  });

  it("compares with the champion relatively and skips without one", () => {
    const auc = bruteAuc(strong.labels, strong.scores);
    const none = evaluateGates([{ gate: "auc_vs_champion", minDelta: -0.005 }], strong);
    expect(none.passed).toBe(true);
    expect(none.results[0]).toMatchObject({ skipped: true, passed: true, observed: null });

    // Champion 1% better: relative change −0.990…%, below −0.5%.
    const worse = evaluateGates([{ gate: "auc_vs_champion", minDelta: -0.005 }], {
      ...strong,
      championAuc: auc * 1.01,
    });
    const r = worse.results[0] as GateResult;
    expect(r.passed).toBe(false);
    expect(r.observed).toBeCloseTo(1 / 1.01 - 1, 12);
    expect(r.message).toContain("is not > -0.50%");
    expect(r.message).toContain("-0.99%");

    // Champion 0.4% better: −0.398% is within the allowance.
    const close = evaluateGates([{ gate: "auc_vs_champion", minDelta: -0.005 }], {
      ...strong,
      championAuc: auc * 1.004,
    });
    expect(close.passed).toBe(true);
    expect(close.results[0]?.observed).toBeCloseTo(1 / 1.004 - 1, 12);
  });

  it("measures the demographic-parity gap as max − min positive-decision rate across segment values", () => {
    // 40 rows per region; positive decisions (score ≥ 0.5): north 20 (0.5), south 12 (0.3), east 16 (0.4).
    const n = 120;
    const labels = Float64Array.from({ length: n }, (_, i) => i % 2);
    const scores = new Float64Array(n);
    const region: string[] = [];
    const positives: Record<string, number> = { north: 20, south: 12, east: 16 };
    const seen: Record<string, number> = { north: 0, south: 0, east: 0 };
    for (let i = 0; i < n; i++) {
      const g = ["north", "south", "east"][i % 3] as string;
      region.push(g);
      scores[i] = (seen[g] as number) < (positives[g] as number) ? 0.7 : 0.2;
      seen[g] = (seen[g] as number) + 1;
    }
    const ev: GateEvidence = { labels, scores, threshold: 0.5, segments: { region } };
    const fail = evaluateGates([{ gate: "demographic_parity", segment: "region", maxGap: 0.1 }], ev);
    const r = fail.results[0] as GateResult;
    expect(r.gate).toBe("demographic_parity:region");
    expect(r.observed).toBeCloseTo(0.5 - 0.3, 12);
    expect(r.passed).toBe(false);
    expect(r.message).toBe(
      "gate demographic_parity:region failed: positive-decision rate gap across region (north 0.5000, south 0.3000) 0.2000 is not < 0.1",
    );
    expect(r.segments).toEqual([
      { value: "east", rows: 40, rate: 0.4, compared: true },
      { value: "north", rows: 40, rate: 0.5, compared: true },
      { value: "south", rows: 40, rate: 0.3, compared: true },
    ]);
    expect(evaluateGates([{ gate: "demographic_parity", segment: "region", maxGap: 0.25 }], ev).passed).toBe(true);
  });

  it("reports segment values with too few rows and missing values instead of dropping them silently", () => {
    const ev = makeEvidence(300, 3.2, 9);
    const region = [...(ev.segments?.region ?? [])];
    // 10 rows become "islands" (below the minimum), 5 lose their region.
    for (let i = 0; i < 10; i++) region[i] = "islands";
    for (let i = 10; i < 15; i++) region[i] = null;
    const { results } = evaluateGates([{ gate: "demographic_parity", segment: "region", maxGap: 1 }], {
      ...ev,
      segments: { region },
    });
    const r = results[0] as GateResult;
    expect(MIN_SEGMENT_ROWS).toBe(30);
    expect(r.message).toContain(`not compared, fewer than 30 rows: islands (10)`);
    expect(r.message).toContain("5 rows without a region value not compared");
    expect(r.segments?.find((s) => s.value === "islands")).toMatchObject({ rows: 10, compared: false });

    // One comparable value beside a too-small one: the gate cannot be evaluated, so it fails.
    const two = Array.from({ length: 300 }, (_, i) => (i < 290 ? "a" : "b"));
    const single = evaluateGates([{ gate: "demographic_parity", segment: "region", maxGap: 0.1 }], {
      ...ev,
      segments: { region: two },
    });
    expect(single.passed).toBe(false);
    expect(single.results[0]?.observed).toBeNull();
    expect(single.results[0]?.message).toContain("cannot be evaluated");
    // A lower minimum makes "b" comparable.
    const lowered = evaluateGates([{ gate: "demographic_parity", segment: "region", maxGap: 1, minRows: 5 }], {
      ...ev,
      segments: { region: two },
    });
    expect(lowered.results[0]?.observed).not.toBeNull();
  });

  it("bounds any evaluateBinary metric from either side", () => {
    let brier = 0;
    for (let i = 0; i < strong.labels.length; i++)
      brier += ((strong.scores[i] as number) - (strong.labels[i] as number)) ** 2;
    brier /= strong.labels.length;
    const { results } = evaluateGates(
      [
        { gate: "metric", metric: "brier", max: brier + 0.001 },
        { gate: "metric", metric: "brier", min: brier + 0.001 },
        { gate: "metric", metric: "auc", min: 0.5, max: 0.9 },
      ],
      strong,
    );
    expect(results).toHaveLength(4);
    expect(results[0]).toMatchObject({ gate: "metric:brier", passed: true, comparator: "<" });
    expect(results[0]?.observed).toBeCloseTo(brier, 12);
    expect(results[1]).toMatchObject({ gate: "metric:brier", passed: false, comparator: ">" });
    expect(results[2]).toMatchObject({ gate: "metric:auc", comparator: ">", threshold: 0.5, passed: true });
    expect(results[3]).toMatchObject({ gate: "metric:auc", comparator: "<", threshold: 0.9 });
    expect(results[3]?.passed).toBe(bruteAuc(strong.labels, strong.scores) < 0.9);
  });

  it("rejects evidence that does not fit the gates", () => {
    expect(() => evaluateGates([{ gate: "demographic_parity", segment: "age_band", maxGap: 0.1 }], strong)).toThrow(
      "evidence.segments.age_band = undefined: the gate needs this segment column; given: region",
    );
    expect(() =>
      evaluateGates([{ gate: "demographic_parity", segment: "region", maxGap: 0.1 }], {
        ...strong,
        segments: { region: ["a"] },
      }),
    ).toThrow("evidence.segments.region.length = 1");
    expect(() => evaluateGates([{ gate: "auc", min: 0.8 }], { ...strong, scores: new Float64Array(3) })).toThrow(
      "evidence.scores.length = 3",
    );
    expect(() => evaluateGates([{ gate: "auc", min: 0.8 }], { ...strong, championAuc: 1.5 })).toThrow(
      "evidence.championAuc = 1.5",
    );
    expect(() => evaluateGates([{ gate: "auc", min: 2 } as never], strong)).toThrow("gates[0].min = 2");
  });
});

describe("parseGates", () => {
  function rejects(json: unknown, ...parts: string[]): void {
    let err: unknown;
    try {
      parseGates(json);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidParameterError);
    for (const p of parts) expect((err as Error).message).toContain(p);
    expect((err as InvalidParameterError).details).toHaveProperty("rule");
  }

  it("names the field, the value and the rule", () => {
    rejects({ gate: "auc" }, "gates = ", "must be an array");
    rejects([{ gate: "gini" }], 'gates[0].gate = "gini"', "must be one of");
    rejects([{ gate: "auc", min: "0.8" }], 'gates[0].min = "0.8"', "finite number");
    rejects([{ gate: "auc", min: 1.2 }], "gates[0].min = 1.2", "≤ 1");
    rejects([{ gate: "auc", mni: 0.8 }], "gates[0].mni", "unknown field");
    rejects([{ gate: "fnr", max: -0.1 }], "gates[0].max = -0.1", "≥ 0");
    rejects([{ gate: "demographic_parity" }], "gates[0].segment = undefined", "is required");
    rejects([{ gate: "demographic_parity", segment: "r", minRows: 0.5 }], "gates[0].minRows = 0.5", "integer");
    rejects([{ gate: "metric", metric: "gini", min: 0.1 }], 'gates[0].metric = "gini"', "known: auc, pr_auc");
    rejects([{ gate: "metric", metric: "auc" }], "needs min or max");
    rejects([{ gate: "metric", metric: "auc", min: 0.9, max: 0.8 }], "gates[0].max = 0.8", "must be > min (0.9)");
    rejects([{ gate: "ks" }, 3], "gates[1] = 3", "must be an object");
  });

  it("keeps declared bounds and uses a caller's path", () => {
    expect(
      parseGates([
        { gate: "auc", min: 0.7 },
        { gate: "fnr", max: 0.2, threshold: 0.35 },
      ]),
    ).toEqual([
      { gate: "auc", min: 0.7 },
      { gate: "fnr", max: 0.2, threshold: 0.35 },
    ]);
    expect(() => parseGates([{ gate: "ks", min: -1 }], "pipeline.gates")).toThrow("pipeline.gates[0].min = -1");
  });
});
