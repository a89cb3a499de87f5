import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Frame } from "../../src/data/index.js";
import { NotFoundError } from "../../src/errors.js";
import {
  attachReferenceProfile,
  binLabels,
  buildTrainingProfile,
  featureHistogram,
  scoreHistograms,
} from "../../src/monitoring/index.js";
import { KeelError } from "../../src/errors.js";
import type { InferenceRecord } from "../../src/store/index.js";
import { rejected } from "../keel-error.js";
import { sqliteStores } from "../store/backends.js";
import type { TestStores } from "../store/backends.js";
import { DRIFT_CSV, FEATURES, REF_CSV, countByScan, frameScores, loadFrame, recordsOf } from "./fixtures.js";

const MODEL = "loan-default";
const T0 = Date.UTC(2024, 5, 3);
const STEP = 1000;

/** After the drifted rows: one scored prediction, one without a score, and two records that are no predictions. */
const EXTRA_AT = T0 + 6000 * STEP;
const extra = (id: string, route: string, outputs: InferenceRecord["outputs"]): InferenceRecord => ({
  requestId: id,
  time: EXTRA_AT,
  endpoint: "loans",
  modelName: MODEL,
  modelVersion: "1",
  route,
  features: {},
  outputs,
  latencyMs: 1,
});
const EXTRA: InferenceRecord[] = [
  extra("x-scored", "champion", { score: 0.5, decision: "reject" }),
  extra("x-unscored", "fallback", { decision: "approve" }),
  extra("x-refused", "refused", { refused: "credit_score: must be at least 300" }),
  extra("x-rollback", "canary_rollback", {}),
];

let open: TestStores;
let ref: Frame;
let drifted: Frame;

function numeric(f: Frame, name: string): Float64Array {
  const c = f.columns.find((x) => x.name === name);
  if (c?.kind !== "numeric") throw new Error(`no numeric ${name}`);
  return c.values;
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
  await s.inferenceLog.append(EXTRA, { durability: "sync" });
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

describe("the score's histogram per window against its training scores", () => {
  const edgesOf = () => {
    const p = buildTrainingProfile(ref, { features: FEATURES, scores: frameScores(ref) }).prediction!;
    return [...p.histEdges];
  };

  it("cuts the range into windows and counts each window's logged scores, recounted independently", async () => {
    const h = await scoreHistograms(deps(), {
      modelName: MODEL,
      windowStart: T0,
      windowEnd: T0 + 5000 * STEP,
      windowMs: 1000 * STEP,
    });
    const edges = edgesOf();
    expect(h).toMatchObject({ model: MODEL, version: "1", output: "score" });
    expect(h.labels).toEqual(binLabels(Float64Array.from(edges)));
    expect(h.reference).toEqual(countByScan(frameScores(ref), edges));
    const scores = frameScores(drifted);
    expect(h.windows.map((w) => [w.windowStart, w.windowEnd, w.rows, w.nulls])).toEqual(
      [0, 1, 2, 3, 4].map((i) => [T0 + i * 1000 * STEP, T0 + (i + 1) * 1000 * STEP, 1000, 0]),
    );
    h.windows.forEach((w, i) => {
      expect(w.current, `window ${i}`).toEqual(countByScan(scores.subarray(i * 1000, (i + 1) * 1000), edges));
    });
    // The drifted population scores higher: its windows' mass sits further up than the reference's.
    const mean = (counts: readonly number[]) =>
      counts.reduce((a, c, i) => a + c * i, 0) / counts.reduce((a, c) => a + c, 0);
    expect(mean(h.windows[0]!.current)).toBeGreaterThan(mean(h.reference));
  });

  it("counts predictions only, those without a score in no slot; windows without traffic are empty", async () => {
    const h = await scoreHistograms(deps(), {
      modelName: MODEL,
      version: "1",
      windowStart: EXTRA_AT - STEP,
      windowEnd: EXTRA_AT + STEP,
      windowMs: STEP,
    });
    expect(h.windows.map((w) => [w.rows, w.nulls])).toEqual([
      [0, 0],
      [2, 1],
    ]);
    expect(h.windows[0]!.current.every((c) => c === 0)).toBe(true);
    expect(h.windows[1]!.current).toEqual(countByScan(Float64Array.of(0.5), edgesOf()));
  });

  it("refuses a window length that does not divide the range, or too many windows, naming window_ms", async () => {
    for (const windowMs of [3 * STEP, 0, 1]) {
      const e = await rejected(
        scoreHistograms(deps(), { modelName: MODEL, windowStart: T0, windowEnd: T0 + 1000 * STEP, windowMs }),
        KeelError,
      );
      expect(e.details).toMatchObject({ field: "window_ms", value: windowMs });
    }
  });
});
