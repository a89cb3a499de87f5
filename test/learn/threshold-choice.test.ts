import { describe, expect, it } from "vitest";
import { chooseThreshold, parseCostMatrix, parseThresholdRule } from "../../src/learn/index.js";
import { thrown } from "../keel-error.js";

/** Scores on a 0.05 grid (many ties) and outcomes, the same on every run. */
function sample(n: number, seed: number): { y: Float64Array; s: Float64Array } {
  let a = seed;
  const next = () => (a = (a * 16807) % 2147483647) / 2147483647;
  const y = new Float64Array(n);
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = next() < 0.3 ? 1 : 0;
    s[i] = Math.round(Math.min(0.95, Math.max(0, 0.3 + 0.3 * (y[i] as number) + 0.5 * (next() - 0.5))) * 20) / 20;
  }
  return { y, s };
}

/** Every candidate threshold counted row by row: the brute force the sweep must agree with. */
function brute(y: Float64Array, s: Float64Array) {
  const candidates = [...new Set([...s, 1])].sort((a, b) => a - b);
  return candidates.map((t) => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let tn = 0;
    for (let i = 0; i < y.length; i++) {
      const pos = (s[i] as number) >= t;
      if (y[i] === 1 && pos) tp++;
      else if (y[i] === 1) fn++;
      else if (pos) fp++;
      else tn++;
    }
    return { t, fp, fn, fnr: fn / (tp + fn), fpr: fp / (fp + tn) };
  });
}

describe("chooseThreshold", () => {
  const { y, s } = sample(500, 42);
  const all = brute(y, s);

  it("fnr<=B: the highest threshold meeting it", () => {
    const c = chooseThreshold(y, s, parseThresholdRule("fnr<=0.15", "--choose-threshold"));
    const want = all.filter((x) => x.fnr <= 0.15).reduce((a, b) => (b.t > a.t ? b : a));
    expect(c).toMatchObject({ rule: "fnr<=0.15", threshold: want.t, fnr: want.fnr, fpr: want.fpr });
  });

  it("fpr<=B: the lowest threshold meeting it", () => {
    const c = chooseThreshold(y, s, parseThresholdRule("fpr <= 0.1", "--choose-threshold"));
    const want = all.filter((x) => x.fpr <= 0.1).reduce((a, b) => (b.t < a.t ? b : a));
    expect(c).toMatchObject({ threshold: want.t, fnr: want.fnr, fpr: want.fpr });
  });

  it("costs: the least total cost, ties to the highest threshold", () => {
    const c = chooseThreshold(y, s, parseCostMatrix("fp=1,fn=5", "--cost-matrix"));
    const cost = (x: { fp: number; fn: number }) => x.fp + 5 * x.fn;
    const least = Math.min(...all.map(cost));
    const want = all.filter((x) => cost(x) === least).reduce((a, b) => (b.t > a.t ? b : a));
    expect(c.threshold).toBe(want.t);
    expect(c.costPerRow).toBeCloseTo(least / y.length, 12);
  });

  it("refuses malformed rules and costs, naming the flag", () => {
    expect(thrown(() => parseThresholdRule("auc>=0.8", "--choose-threshold")).message).toMatch(
      /^--choose-threshold = /,
    );
    expect(thrown(() => parseCostMatrix("fp=1", "--cost-matrix")).message).toMatch(/^--cost-matrix = /);
    expect(thrown(() => parseCostMatrix("fp=0,fn=0", "--cost-matrix")).message).toMatch(/not both 0/);
  });
});
