import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Frame } from "../../src/data/index.js";
import { NotFoundError } from "../../src/errors.js";
import {
  attachReferenceProfile,
  binLabels,
  buildTrainingProfile,
  featureHistogram,
} from "../../src/monitoring/index.js";
import { rejected } from "../keel-error.js";
import { sqliteStores } from "../store/backends.js";
import type { TestStores } from "../store/backends.js";
import { DRIFT_CSV, FEATURES, REF_CSV, frameScores, loadFrame, recordsOf } from "./fixtures.js";

const MODEL = "loan-default";
const T0 = Date.UTC(2024, 5, 3);
const STEP = 1000;

let open: TestStores;
let ref: Frame;
let drifted: Frame;

function numeric(f: Frame, name: string): Float64Array {
  const c = f.columns.find((x) => x.name === name);
  if (c?.kind !== "numeric") throw new Error(`no numeric ${name}`);
  return c.values;
}

/**
 * Counts in [−∞, e₀), [e₀, e₁), …, [e_{k−1}, e_k], (e_k, ∞] written out by a linear scan over the
 * edges, independently of src/stats' sorted-sample histogram.
 */
function countByScan(values: Float64Array, edges: readonly number[]): number[] {
  const k = edges.length - 1;
  const counts = new Array<number>(k + 2).fill(0);
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    let slot: number;
    if (v < edges[0]!) slot = 0;
    else if (v > edges[k]!) slot = k + 1;
    else if (v === edges[k]) slot = k;
    else {
      slot = 1;
      while (!(v >= edges[slot - 1]! && v < edges[slot]!)) slot++;
    }
    counts[slot]! += 1;
  }
  return counts;
}

beforeAll(async () => {
  [ref, drifted] = await Promise.all([loadFrame(REF_CSV), loadFrame(DRIFT_CSV)]);
  open = await sqliteStores();
  const s = open.stores;
  await s.registry.createRegisteredModel(MODEL);
  await s.registry.createModelVersion({ name: MODEL, source: "models/loan-default/1" });
  await s.registry.setAlias(MODEL, "champion", "1");
  const profile = buildTrainingProfile(ref, { features: FEATURES, scores: frameScores(ref) });
  await attachReferenceProfile(s, { name: MODEL, version: "1", profile });
  await s.inferenceLog.append(recordsOf(drifted, { start: T0, stepMs: STEP, version: "1", prefix: "d" }), {
    durability: "sync",
  });
}, 60_000);

afterAll(async () => {
  await open.close();
});

const deps = () => ({
  registry: open.stores.registry,
  artifacts: open.stores.artifacts,
  inferenceLog: open.stores.inferenceLog,
});

describe("a feature's histogram in a window against its reference", () => {
  it("bins a numeric feature of the window in the reference's display bins, counted independently", async () => {
    const h = await featureHistogram(deps(), {
      modelName: MODEL,
      feature: "credit_score",
      windowStart: T0,
      windowEnd: T0 + 5000 * STEP,
    });
    expect(h.version).toBe("1");
    expect(h.kind).toBe("numeric");
    expect(h.currentRows).toBe(5000);
    const profile = buildTrainingProfile(ref, { features: FEATURES, scores: frameScores(ref) });
    const cs = profile.features.find((f) => f.name === "credit_score")!;
    if (cs.kind !== "numeric") throw new Error("credit_score is numeric");
    const edges = [...cs.histEdges];
    expect(h.labels).toEqual(binLabels(cs.histEdges));
    expect(h.labels).toHaveLength(edges.length + 1);
    expect(h.reference).toEqual(countByScan(numeric(ref, "credit_score"), edges));
    expect(h.current).toEqual(countByScan(numeric(drifted, "credit_score"), edges));
    expect(h.current.reduce((a, b) => a + b, 0)).toBe(5000 - h.currentNulls);
  });

  it("counts a window's slice only: the first 1000 rows", async () => {
    const h = await featureHistogram(deps(), {
      modelName: MODEL,
      feature: "debt_to_income_ratio",
      version: "1",
      windowStart: T0,
      windowEnd: T0 + 1000 * STEP,
    });
    expect(h.currentRows).toBe(1000);
    expect(h.current.reduce((a, b) => a + b, 0) + h.currentNulls).toBe(1000);
  });

  it("counts a categorical feature per reference category, values the reference never saw apart", async () => {
    const h = await featureHistogram(deps(), {
      modelName: MODEL,
      feature: "region",
      windowStart: T0,
      windowEnd: T0 + 5000 * STEP,
    });
    expect(h.kind).toBe("categorical");
    expect(h.labels[h.labels.length - 1]).toBe("(unseen)");
    const c = drifted.columns.find((x) => x.name === "region")!;
    if (c.kind !== "categorical") throw new Error("region is categorical");
    const byValue = new Map<string, number>();
    for (const code of c.codes)
      if (code >= 0) byValue.set(c.dictionary[code]!, (byValue.get(c.dictionary[code]!) ?? 0) + 1);
    const known = h.labels.slice(0, -1);
    expect(h.current.slice(0, -1)).toEqual(known.map((l) => byValue.get(l) ?? 0));
    expect(h.current[h.current.length - 1]).toBe(
      [...byValue].filter(([v]) => !known.includes(v)).reduce((a, [, n]) => a + n, 0),
    );
  });

  it("refuses a feature the profile does not have, naming the ones it has", async () => {
    const e = await rejected(
      featureHistogram(deps(), { modelName: MODEL, feature: "shoe_size", windowStart: T0, windowEnd: T0 + STEP }),
      NotFoundError,
    );
    expect(e.message).toContain('feature "shoe_size" is not in the reference profile of loan-default version 1');
    expect(e.message).toContain("credit_score");
  });

  it("labels bins with their closed and open ends", () => {
    expect(binLabels(Float64Array.from([0, 0.5, 1]))).toEqual(["< 0", "[0, 0.5)", "[0.5, 1]", "> 1"]);
  });
});
