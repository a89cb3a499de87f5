import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { detectModelFormat, loadPredictor } from "../../src/learn/load-model.js";
import { onnxMetadataProps } from "../../src/learn/onnx-model.js";
import { InvalidParameterError, NotFoundError } from "../../src/errors.js";
import { fixtureFrame, maxAbsDiff, modelPath, readFixture } from "./fixture-frame.js";

/** Expected scores come from each model's own runtime (test/fixtures/models/make_fixtures.py). */
describe("ONNX models through onnxruntime-node", () => {
  it("scores a classifier from its probabilities output as onnxruntime (python) does", async () => {
    const fx = readFixture("onnx_logreg.onnx");
    const p = await loadPredictor(modelPath("onnx_logreg.onnx"));
    try {
      expect(p.format).toBe("onnx");
      expect(p.task).toBe("binary");
      // Column names come from the model's feature_names metadata.
      expect(p.signature.inputs.map((c) => c.name)).toEqual(Object.keys(fx.columns));
      const scores = await p.predict(fixtureFrame(fx));
      // Same graph, same runtime: the float32 outputs are equal.
      expect(maxAbsDiff(scores, fx.expected)).toBe(0);
    } finally {
      await p.close();
    }
  });

  it("feeds one input per column and reads a regression output", async () => {
    const fx = readFixture("onnx_mlp_regressor.onnx");
    const p = await loadPredictor(readFileSync(modelPath("onnx_mlp_regressor.onnx")));
    try {
      expect(p.task).toBe("regression");
      expect(p.signature.inputs.map((c) => c.name)).toEqual(["a", "b", "c", "d", "e"]);
      const scores = await p.predict(fixtureFrame(fx));
      expect(maxAbsDiff(scores, fx.expected)).toBe(0);
    } finally {
      await p.close();
    }
  });

  it("reads metadata_props from the protobuf", () => {
    const props = onnxMetadataProps(readFileSync(modelPath("onnx_logreg.onnx")));
    expect(JSON.parse(props.get("feature_names") ?? "[]")).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("names a missing input column", async () => {
    const p = await loadPredictor(modelPath("onnx_mlp_regressor.onnx"));
    try {
      await expect(p.predict({ nRows: 0, columns: [] })).rejects.toThrow(/input column "a" is missing/);
    } finally {
      await p.close();
    }
  });
});

describe("loadPredictor format detection", () => {
  it.each([
    ["xgb_binary.json", "xgboost"],
    ["lgb_binary.txt", "lightgbm"],
    ["onnx_logreg.onnx", "onnx"],
  ])("detects %s as %s and scores as its runtime", async (model, format) => {
    const bytes = readFileSync(modelPath(model));
    expect(detectModelFormat(bytes).format).toBe(format);
    const fx = readFixture(model);
    const p = await loadPredictor(bytes);
    try {
      expect(p.format).toBe(format);
      expect(maxAbsDiff(await p.predict(fixtureFrame(fx)), fx.expected)).toBeLessThan(1e-6);
    } finally {
      await p.close();
    }
  });

  it("rejects unknown content and missing files with typed errors", async () => {
    expect(() => detectModelFormat(new TextEncoder().encode("a,b\n1,2\n"), "data.csv")).toThrow(InvalidParameterError);
    expect(() => detectModelFormat(new TextEncoder().encode('{"x": 1}'), "m.json")).toThrow(
      /keel model or an XGBoost model/,
    );
    await expect(loadPredictor("/nonexistent/model.json")).rejects.toThrow(NotFoundError);
  });
});
