import { describe, expect, it } from "vitest";
import { categoricalFromStrings, numericColumn } from "../../src/data/index.js";
import type { Column, Frame } from "../../src/data/index.js";
import { InvalidParameterError } from "../../src/errors.js";
import { KeelPredictor } from "../../src/learn/keel-model.js";
import { trainModel } from "../../src/learn/train.js";
import {
  parseBehaviourTests,
  runBehaviourTests,
  type BehaviourResult,
  type BehaviourTestSpec,
} from "../../src/pipeline/behaviour.js";

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function num(frame: Frame, name: string): Float64Array {
  const c = frame.columns.find((x) => x.name === name);
  if (c?.kind !== "numeric") throw new Error(`no numeric column ${name}`);
  return c.values;
}

/** One row of `frame` repeated, with `feature` set to each of `values`. */
function rowWith(frame: Frame, row: number, feature: string, values: readonly (number | string)[]): Frame {
  const columns: Column[] = frame.columns.map((c) => {
    if (c.name === feature) {
      return typeof values[0] === "number"
        ? numericColumn(c.name, Float64Array.from(values as number[]))
        : categoricalFromStrings(c.name, values as string[]);
    }
    if (c.kind === "numeric")
      return numericColumn(c.name, new Float64Array(values.length).fill(c.values[row] as number));
    const label = c.dictionary[c.codes[row] as number] as string;
    return categoricalFromStrings(
      c.name,
      values.map(() => label),
    );
  });
  return { nRows: values.length, columns };
}

/**
 * Loan-like applications. Default risk falls with credit_score on the whole, but the data carry
 * a bump (risk rises again between roughly 640 and 720, e.g. a mis-priced product), so a model
 * fitted freely is not monotone in credit_score.
 */
function loanFrame(n: number, seed: number): Frame {
  const r = rng(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const credit = new Float64Array(n);
  const dti = new Float64Array(n);
  const delinq = new Float64Array(n);
  const region: string[] = [];
  const y: string[] = [];
  for (let i = 0; i < n; i++) {
    credit[i] = Math.round(Math.min(850, Math.max(300, 690 + 70 * normal())));
    dti[i] = Math.round(r() * 0.8 * 1e4) / 1e4;
    delinq[i] = r() < 0.2 ? (r() < 0.3 ? 2 : 1) : 0;
    region.push(["north", "south", "east", "west"][Math.floor(r() * 4)] as string);
    const c = credit[i] as number;
    const bump = 1.6 * Math.exp(-(((c - 680) / 25) ** 2));
    const z = -1.6 - 0.012 * (c - 690) + bump + 3 * ((dti[i] as number) - 0.3) + 0.5 * (delinq[i] as number);
    y.push(r() < 1 / (1 + Math.exp(-z)) ? "yes" : "no");
  }
  return {
    nRows: n,
    columns: [
      numericColumn("credit_score", credit),
      numericColumn("debt_to_income_ratio", dti),
      numericColumn("num_delinquencies_12m", delinq),
      categoricalFromStrings("region", region),
      categoricalFromStrings("default", y),
    ],
  };
}

async function trainLoanModel(frame: Frame, params: Record<string, unknown>): Promise<KeelPredictor> {
  const res = await trainModel(frame, {
    target: "default",
    positive: "yes",
    exclude: ["region"],
    params: { n_estimators: 60, max_depth: 4, learning_rate: 0.1, min_child_weight: 5, ...params },
  });
  return new KeelPredictor(res.model);
}

describe("behaviour tests on a GBDT trained on loan applications", () => {
  const frame = loanFrame(4000, 2024);
  const sample = loanFrame(600, 77);
  const monotonic: BehaviourTestSpec = { test: "monotonic", feature: "credit_score", direction: "decreasing" };

  it("passes the monotonic test with a monotone constraint on credit_score", async () => {
    const model = await trainLoanModel(frame, { monotone_constraints: { credit_score: -1 } });
    try {
      const { passed, results } = await runBehaviourTests([monotonic], (f) => model.predict(f), sample, { seed: 5 });
      expect(passed).toBe(true);
      expect(results[0]).toMatchObject({ test: "monotonic", feature: "credit_score", checked: 200, violations: 0 });
      expect(results[0]?.counterExamples).toEqual([]);
      expect(results[0]?.message).toMatch(
        /^behaviour monotonic credit_score \(decreasing\) passed: 200 rows × 20 grid/,
      );
    } finally {
      await model.close();
    }
  });

  it("fails without the constraint and shows a counter-example that re-scoring confirms", async () => {
    const model = await trainLoanModel(frame, {});
    try {
      const { passed, results } = await runBehaviourTests([monotonic], (f) => model.predict(f), sample, {
        seed: 5,
        maxCounterExamples: 3,
      });
      const r = results[0] as BehaviourResult;
      expect(passed).toBe(false);
      expect(r.violations).toBeGreaterThan(0);
      expect(r.counterExamples).toHaveLength(3);
      expect(r.message).toContain(`failed: ${r.violations} of 200 rows`);
      const first = r.counterExamples[0];
      if (first === undefined) throw new Error("no counter-example");
      expect(r.message).toContain(`worst row ${first.row}: credit_score`);
      let previousRise = Infinity;
      for (const c of r.counterExamples) {
        const lo = c.before.value as number;
        const hi = c.after.value as number;
        // Raising credit_score raised the default risk: the score moved against "decreasing".
        expect(hi).toBeGreaterThan(lo);
        expect(c.after.score).toBeGreaterThan(c.before.score);
        // Re-score the two points on their own, from the sample row, outside the batch.
        const again = await model.predict(rowWith(sample, c.row, "credit_score", [lo, hi]));
        expect(again[0]).toBe(c.before.score);
        expect(again[1]).toBe(c.after.score);
        // Worst first.
        const rise = c.after.score - c.before.score;
        expect(rise).toBeLessThanOrEqual(previousRise);
        previousRise = rise;
      }
      // The grid spans the sample's observed credit scores.
      const cs = num(sample, "credit_score");
      for (const c of r.counterExamples) {
        expect(c.before.value).toBeGreaterThanOrEqual(Math.min(...cs));
        expect(c.after.value).toBeLessThanOrEqual(Math.max(...cs));
      }
    } finally {
      await model.close();
    }
  });

  it("checks directional and invariance expectations on the same model", async () => {
    const model = await trainLoanModel(frame, { monotone_constraints: { credit_score: -1, debt_to_income_ratio: 1 } });
    try {
      const { results } = await runBehaviourTests(
        [
          { test: "directional", feature: "debt_to_income_ratio", change: 0.3, expect: "increase", minShare: 0.9 },
          { test: "directional", feature: "debt_to_income_ratio", change: 0.3, expect: "decrease" },
          // region is not a model input: shuffling it cannot move any score.
          { test: "invariance", feature: "region", perturbation: { shuffle: true }, tolerance: 0 },
          { test: "invariance", feature: "num_delinquencies_12m", perturbation: { add: 2 }, tolerance: 0.01 },
        ],
        (f) => model.predict(f),
        sample,
        { seed: 1 },
      );
      const [up, down, region, delinq] = results as [
        BehaviourResult,
        BehaviourResult,
        BehaviourResult,
        BehaviourResult,
      ];
      // With a monotone-increasing constraint no row can move down; most move up.
      expect(up.passed).toBe(true);
      expect(up.message).toContain("0 moved the other way");
      expect(down.passed).toBe(false);
      expect(down.violations).toBe(200);
      expect(region).toMatchObject({ passed: true, violations: 0, checked: 200 });
      expect(delinq.passed).toBe(false);
      const c = delinq.counterExamples[0];
      if (c === undefined) throw new Error("no counter-example");
      expect(c.after.value).toBe((c.before.value as number) + 2);
      const again = await model.predict(
        rowWith(sample, c.row, "num_delinquencies_12m", [c.before.value as number, c.after.value as number]),
      );
      expect(Array.from(again)).toEqual([c.before.score, c.after.score]);
      expect(Math.abs(c.after.score - c.before.score)).toBeGreaterThan(0.01);
    } finally {
      await model.close();
    }
  });
});

describe("behaviour tests against a known score function", () => {
  // x = 0, 0.5, …, 6 on 13 rows; kind 1 rows score sin(x) + row·1e-3, kind 0 rows score x.
  const n = 13;
  const x = Float64Array.from({ length: n }, (_, i) => i * 0.5);
  const kind = Float64Array.from({ length: n }, (_, i) => i % 2);
  const color = categoricalFromStrings(
    "color",
    Array.from({ length: n }, (_, i) => (i % 3 === 0 ? "red" : "blue")),
  );
  const frame: Frame = { nRows: n, columns: [numericColumn("x", x), numericColumn("kind", kind), color] };
  const calls: number[] = [];
  const score = (f: Frame): Float64Array => {
    calls.push(f.nRows);
    const xs = num(f, "x");
    const ks = num(f, "kind");
    const col = f.columns.find((c) => c.name === "color");
    if (col?.kind !== "categorical") throw new Error("color");
    return Float64Array.from(xs, (v, i) => {
      const bonus = col.dictionary[col.codes[i] as number] === "green" ? 0.25 : 0;
      return (ks[i] === 1 ? Math.sin(v) : v) + bonus;
    });
  };

  it("scores the monotonic grid in one batch and finds the largest move against the direction", async () => {
    calls.length = 0;
    const { results } = await runBehaviourTests(
      [{ test: "monotonic", feature: "x", direction: "increasing", grid: 13, rows: 50 }],
      score,
      frame,
      { maxCounterExamples: 10 },
    );
    // All 13 rows (rows > nRows), 13 grid points at the quantiles of x = 0, 0.5, …, 6: one call of 169 rows.
    expect(calls).toEqual([13 * 13]);
    const r = results[0] as BehaviourResult;
    expect(r.checked).toBe(13);
    // Only kind-1 rows (sin) are non-monotone: the 6 odd rows.
    expect(r.violations).toBe(6);
    expect(new Set(r.counterExamples.map((c) => c.row))).toEqual(new Set([1, 3, 5, 7, 9, 11]));
    // The worst drop of sin over the grid {0, 0.5, …, 6}: from the max at 1.5 to the min at 4.5.
    let drop = 0;
    let at: [number, number] = [0, 0];
    for (let i = 0; i < 13; i++)
      for (let j = i + 1; j < 13; j++)
        if (Math.sin(i * 0.5) - Math.sin(j * 0.5) > drop) {
          drop = Math.sin(i * 0.5) - Math.sin(j * 0.5);
          at = [i * 0.5, j * 0.5];
        }
    expect(at).toEqual([1.5, 4.5]);
    for (const c of r.counterExamples) {
      expect(c.before).toEqual({ value: 1.5, score: Math.sin(1.5) });
      expect(c.after).toEqual({ value: 4.5, score: Math.sin(4.5) });
    }
    // A tolerance above the drop accepts it.
    const tolerant = await runBehaviourTests(
      [{ test: "monotonic", feature: "x", direction: "increasing", grid: 13, tolerance: drop + 1e-9 }],
      score,
      frame,
    );
    expect(tolerant.passed).toBe(true);
    // Decreasing: every kind-0 row (score = x) rises by 6, every kind-1 row by sin(1.5) − sin(0).
    const dec = await runBehaviourTests(
      [{ test: "monotonic", feature: "x", direction: "decreasing", grid: 13 }],
      score,
      frame,
    );
    expect(dec.results[0]?.violations).toBe(13);
    expect(dec.results[0]?.counterExamples[0]?.before).toEqual({ value: 0, score: 0 });
    expect(dec.results[0]?.counterExamples[0]?.after).toEqual({ value: 6, score: 6 });
  });

  it("samples rows deterministically by seed", async () => {
    const big: Frame = {
      nRows: 500,
      columns: [
        numericColumn(
          "x",
          Float64Array.from({ length: 500 }, (_, i) => (i * 7) % 13),
        ),
        numericColumn(
          "kind",
          Float64Array.from({ length: 500 }, (_, i) => ((i * 31) % 17 === 0 ? 1 : 0)),
        ),
        categoricalFromStrings(
          "color",
          Array.from({ length: 500 }, () => "red"),
        ),
      ],
    };
    const spec: BehaviourTestSpec[] = [{ test: "monotonic", feature: "x", direction: "increasing", rows: 40 }];
    const a = await runBehaviourTests(spec, score, big, { seed: 3, maxCounterExamples: 100 });
    const b = await runBehaviourTests(spec, score, big, { seed: 3, maxCounterExamples: 100 });
    const c = await runBehaviourTests(spec, score, big, { seed: 4, maxCounterExamples: 100 });
    expect(b).toEqual(a);
    expect(a.results[0]?.checked).toBe(40);
    const rows = (r: typeof a): number[] =>
      (r.results[0]?.counterExamples ?? []).map((e) => e.row).sort((p, q) => p - q);
    expect(rows(c)).not.toEqual(rows(a));
    // Every violating row is a kind-1 row.
    for (const row of [...rows(a), ...rows(c)]) expect((row * 31) % 17 === 0).toBe(true);
  });

  it("counts directional moves: expected, the other way, and not at all", async () => {
    // +0.5 on x: kind 0 rows rise by 0.5; kind 1 rows follow sin, up where cos > 0 over the step.
    const { results } = await runBehaviourTests(
      [{ test: "directional", feature: "x", change: 0.5, expect: "increase", minShare: 0.5 }],
      score,
      frame,
      { maxCounterExamples: 20 },
    );
    const r = results[0] as BehaviourResult;
    let up = 0;
    for (let i = 0; i < n; i++) {
      const v = x[i] as number;
      const before = kind[i] === 1 ? Math.sin(v) : v;
      const after = kind[i] === 1 ? Math.sin(v + 0.5) : v + 0.5;
      if (after > before) up++;
    }
    expect(r.checked).toBe(13);
    expect(r.violations).toBe(13 - up);
    expect(r.passed).toBe(up / 13 >= 0.5);
    expect(r.message).toContain(`${up} of 13 rows moved as expected`);
    for (const c of r.counterExamples) {
      expect(c.after.value).toBe((c.before.value as number) + 0.5);
      expect(c.after.score).toBeLessThan(c.before.score);
    }
    // Setting a category the data never had: green adds 0.25 for every row.
    const green = await runBehaviourTests(
      [{ test: "directional", feature: "color", change: { set: "green" }, expect: "increase" }],
      score,
      frame,
    );
    expect(green.results[0]).toMatchObject({ passed: true, checked: 13, violations: 0 });
    // Setting it to red leaves red rows unmoved: they count against a share of 1.
    const red = await runBehaviourTests(
      [{ test: "directional", feature: "color", change: { set: "red" }, expect: "increase" }],
      score,
      frame,
    );
    expect(red.results[0]).toMatchObject({ passed: false, violations: 13 });
    expect(red.results[0]?.message).toContain("0 moved the other way, 13 did not move");
  });

  it("checks invariance under add, set and shuffle against the tolerance", async () => {
    const { results } = await runBehaviourTests(
      [
        { test: "invariance", feature: "color", perturbation: { set: "blue" }, tolerance: 0 },
        { test: "invariance", feature: "color", perturbation: { set: "green" }, tolerance: 0.2 },
        { test: "invariance", feature: "color", perturbation: { set: "green" }, tolerance: 0.3 },
        { test: "invariance", feature: "kind", perturbation: { shuffle: true }, tolerance: 0 },
        { test: "invariance", feature: "x", perturbation: { add: 0.01 }, tolerance: 0.0101 },
      ],
      score,
      frame,
      { maxCounterExamples: 50 },
    );
    const [blue, green02, green03, shuffled, nudged] = results;
    expect(blue).toMatchObject({ passed: true, violations: 0 });
    expect(green02).toMatchObject({ passed: false, violations: 13 });
    expect(green02?.counterExamples[0]?.after.value).toBe("green");
    expect(green03?.passed).toBe(true);
    // Shuffling kind moves exactly the rows whose kind changed and whose two formulas differ there.
    for (const c of shuffled?.counterExamples ?? []) expect(c.before.value).not.toBe(c.after.value);
    expect(shuffled?.violations).toBe(shuffled?.counterExamples.length);
    expect(shuffled?.violations).toBeGreaterThan(0);
    // |sin(x + 0.01) − sin(x)| ≤ 0.01 and x + 0.01 − x = 0.01: within 0.0101.
    expect(nudged?.passed).toBe(true);
  });

  it("rejects bad specs and bad inputs with the field, the value and the rule", async () => {
    const rejects = async (p: Promise<unknown>, ...parts: string[]): Promise<void> => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InvalidParameterError);
      for (const part of parts) expect((err as Error).message).toContain(part);
    };
    await rejects(
      runBehaviourTests([{ test: "monotonic", feature: "age", direction: "increasing" }], score, frame),
      'behaviour_tests[0].feature = "age"',
      "columns: x, kind, color",
    );
    await rejects(
      runBehaviourTests([{ test: "monotonic", feature: "color", direction: "increasing" }], score, frame),
      "needs a numeric column",
    );
    await rejects(
      runBehaviourTests(
        [{ test: "directional", feature: "x", change: { set: "high" }, expect: "increase" }],
        score,
        frame,
      ),
      '= "high"',
      "x is numeric",
    );
    await rejects(
      runBehaviourTests(
        [{ test: "invariance", feature: "x", perturbation: { shuffle: true }, tolerance: 0 }],
        () => new Float64Array(2),
        frame,
      ),
      "score(frame).length = 2",
    );
    await rejects(
      runBehaviourTests([{ test: "invariance", feature: "x", perturbation: { add: 1 }, tolerance: 0 }], score, frame, {
        seed: -2,
      }),
      "seed = -2",
    );
  });
});

describe("parseBehaviourTests", () => {
  it("accepts the three kinds and keeps their options", () => {
    const json: unknown = [
      { test: "monotonic", feature: "credit_score", direction: "decreasing", grid: 30, rows: 100, tolerance: 0.001 },
      { test: "directional", feature: "dti", change: 0.1, expect: "increase", minShare: 0.95 },
      { test: "directional", feature: "purpose", change: { set: "small_business" }, expect: "increase" },
      { test: "invariance", feature: "region", perturbation: { shuffle: true }, tolerance: 0.02 },
      { test: "invariance", feature: "applicant_id", perturbation: { set: "A0" }, tolerance: 0 },
    ];
    expect(parseBehaviourTests(json)).toEqual(json);
  });

  it("names the field, the value and the rule", () => {
    const cases: [unknown, string[]][] = [
      [{}, ["behaviour_tests = {}", "must be an array"]],
      [
        [{ test: "fairness", feature: "x" }],
        ['behaviour_tests[0].test = "fairness"', "monotonic, directional, invariance"],
      ],
      [[{ test: "monotonic", direction: "increasing" }], ["behaviour_tests[0].feature = undefined", "is required"]],
      [[{ test: "monotonic", feature: "x", direction: "up" }], ['behaviour_tests[0].direction = "up"']],
      [[{ test: "monotonic", feature: "x", direction: "increasing", grid: 1 }], ["behaviour_tests[0].grid = 1", "≥ 2"]],
      [
        [{ test: "monotonic", feature: "x", direction: "increasing", step: 1 }],
        ["behaviour_tests[0].step", "unknown field"],
      ],
      [[{ test: "directional", feature: "x", change: 0, expect: "increase" }], ["behaviour_tests[0].change = 0"]],
      [
        [{ test: "directional", feature: "x", change: { to: 1 }, expect: "increase" }],
        ["behaviour_tests[0].change.to"],
      ],
      [[{ test: "directional", feature: "x", change: 1, expect: "increase", minShare: 0 }], ["minShare = 0", "> 0"]],
      [
        [{ test: "invariance", feature: "x", perturbation: { shuffle: true } }],
        ["tolerance = undefined", "is required"],
      ],
      [[{ test: "invariance", feature: "x", perturbation: { shuffle: false }, tolerance: 0 }], ["shuffle = false"]],
      [[{ test: "invariance", feature: "x", perturbation: { add: 1, set: 2 }, tolerance: 0 }], ["perturbation = "]],
      [[{ test: "invariance", feature: "x", perturbation: { add: 1 }, tolerance: -1 }], ["tolerance = -1", "≥ 0"]],
    ];
    for (const [json, parts] of cases) {
      let err: unknown;
      try {
        parseBehaviourTests(json);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(json)).toBeInstanceOf(InvalidParameterError);
      for (const p of parts) expect((err as Error).message).toContain(p);
    }
    expect(() => parseBehaviourTests([{ test: "monotonic" }], "pipeline.behaviour")).toThrow(
      "pipeline.behaviour[0].feature",
    );
  });
});
