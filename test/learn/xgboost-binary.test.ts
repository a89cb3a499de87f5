import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Column, Frame } from "../../src/data/frame.js";
import { InvalidParameterError } from "../../src/errors.js";
import { detectModelFormat, loadPredictor } from "../../src/learn/index.js";
import { decodeUbjson, legacyBinaryToJson } from "../../src/learn/xgboost-binary.js";

/** Written by test/fixtures/mlflow/make_mlflow_models.py with XGBoost 1.7's Booster.predict. */
const DIR = new URL("../fixtures/mlflow/", import.meta.url);
const expected = JSON.parse(readFileSync(new URL("expected.json", DIR), "utf8")) as {
  columns: Record<string, (number | null)[]>;
  xgb_json: number[];
  xgb_ubj: number[];
  xgb_legacy: number[];
};
const NAMES = Object.keys(expected.columns);
const bytesOf = (file: string) => new Uint8Array(readFileSync(new URL(file, DIR)));

function frame(): Frame {
  const columns: Column[] = NAMES.map((name) => ({
    kind: "numeric",
    name,
    values: Float64Array.from(expected.columns[name] ?? [], (v) => (v === null ? NaN : v)),
  }));
  return { nRows: expected.xgb_json.length, columns };
}

describe("XGBoost UBJSON and legacy binary models", () => {
  it.each([
    ["xgb_json/model.json", "xgb_json"],
    ["xgb_ubj/model.ubj", "xgb_ubj"],
    ["xgb_legacy/model.xgb", "xgb_legacy"],
  ] as const)("%s scores as XGBoost's predict (1e-6)", async (file, key) => {
    const bytes = bytesOf(file);
    expect(detectModelFormat(bytes, file).format).toBe("xgboost");
    const p = await loadPredictor(bytes, { featureNames: NAMES });
    try {
      expect(p.signature.inputs.map((c) => c.name)).toEqual(NAMES);
      const scores = await p.predict(frame());
      expect(scores.length).toBe(expected[key].length);
      expected[key].forEach((e, i) => expect(Math.abs((scores[i] ?? NaN) - e)).toBeLessThan(1e-6));
    } finally {
      await p.close();
    }
  });

  it("decodes UBJSON to the very document XGBoost writes as JSON", () => {
    const fromJson = JSON.parse(new TextDecoder().decode(bytesOf("xgb_json/model.json"))) as {
      learner: { gradient_booster: { model: { trees: { split_conditions: number[] }[] } } };
    };
    const fromUbj = decodeUbjson(bytesOf("xgb_ubj/model.ubj")) as typeof fromJson;
    const a = fromJson.learner.gradient_booster.model.trees;
    const b = fromUbj.learner.gradient_booster.model.trees;
    expect(b.length).toBe(a.length);
    // JSON prints float32 leaves in shortest form; UBJSON holds the float32 itself.
    a.forEach((t, i) => expect(b[i]?.split_conditions).toEqual(t.split_conditions.map((v) => Math.fround(v))));
  });

  it("reads the legacy format's header: objective, feature count, trees", () => {
    const doc = legacyBinaryToJson(bytesOf("xgb_legacy/model.xgb")) as {
      learner: {
        objective: { name: string };
        learner_model_param: { num_feature: string };
        gradient_booster: { model: { trees: unknown[] } };
      };
    };
    expect(doc.learner.objective.name).toBe("binary:logistic");
    expect(doc.learner.learner_model_param.num_feature).toBe("4");
    expect(doc.learner.gradient_booster.model.trees.length).toBe(25);
  });

  it("names the file and the rule when a binary model is truncated or the names do not fit", async () => {
    const legacy = bytesOf("xgb_legacy/model.xgb");
    await expect(loadPredictor(legacy.subarray(0, 400))).rejects.toThrow(/XGBoost legacy binary model: truncated/);
    const ubj = bytesOf("xgb_ubj/model.ubj");
    await expect(loadPredictor(ubj.subarray(0, 200))).rejects.toThrow(/XGBoost UBJSON model: truncated/);
    const err = await loadPredictor(legacy, { featureNames: ["a", "b"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidParameterError);
    expect((err as Error).message).toMatch(/signature names 2 inputs but the XGBoost model has 4 features/);
  });

  it("keeps the file's own feature names over the ones offered", async () => {
    const p = await loadPredictor(bytesOf("xgb_ubj/model.ubj"), { featureNames: ["w", "x", "y", "z"] });
    expect(p.signature.inputs.map((c) => c.name)).toEqual(NAMES);
    await p.close();
  });
});
