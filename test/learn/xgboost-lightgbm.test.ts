import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadLightGBMPredictor, parseLightGBMText } from "../../src/learn/lightgbm-model.js";
import { loadXGBoostPredictor } from "../../src/learn/xgboost-model.js";
import { InvalidParameterError } from "../../src/errors.js";
import { fixtureFrame, maxAbsDiff, modelPath, readFixture } from "./fixture-frame.js";

/** Expected scores come from xgboost / lightgbm themselves (test/fixtures/models/make_fixtures.py). */
describe.each(["xgb_binary.json", "xgb_binary_base.json", "xgb_regression.json"])("XGBoost JSON %s", (model) => {
  const fx = readFixture(model);
  const json = JSON.parse(readFileSync(modelPath(model), "utf8")) as unknown;

  it("scores within 1e-6 of xgboost, missing values included", async () => {
    const p = loadXGBoostPredictor(json);
    expect(p.task).toBe(fx.task);
    expect(p.signature.inputs.map((c) => c.name)).toEqual(Object.keys(fx.columns));
    const scores = await p.predict(fixtureFrame(fx));
    expect(maxAbsDiff(scores, fx.expected)).toBeLessThan(1e-6);
    await p.close();
  });

  it('reads a base_score stored as a one-element list ("[5E-1]", XGBoost 3)', async () => {
    const copy = JSON.parse(JSON.stringify(json)) as { learner: { learner_model_param: { base_score: string } } };
    copy.learner.learner_model_param.base_score = `[${copy.learner.learner_model_param.base_score}]`;
    const scores = await loadXGBoostPredictor(copy).predict(fixtureFrame(fx));
    expect(maxAbsDiff(scores, fx.expected)).toBeLessThan(1e-6);
  });
});

describe.each(["lgb_binary.txt", "lgb_regression_zero.txt", "lgb_regression_nomissing.txt", "lgb_pandas_cat.txt"])(
  "LightGBM text %s",
  (model) => {
    const fx = readFixture(model);
    it("scores within 1e-6 of lightgbm (categorical splits and missing types included)", async () => {
      const p = loadLightGBMPredictor(readFileSync(modelPath(model), "utf8"));
      expect(p.task).toBe(fx.task);
      expect(p.signature.inputs.map((c) => c.name)).toEqual(Object.keys(fx.columns));
      const scores = await p.predict(fixtureFrame(fx));
      expect(maxAbsDiff(scores, fx.expected)).toBeLessThan(1e-6);
      await p.close();
    });
  },
);

describe("model parsing errors", () => {
  it("names the field and rule", () => {
    expect(() => loadXGBoostPredictor({ learner: { objective: { name: "multi:softprob" } } })).toThrow(
      /learner.objective.name = "multi:softprob": supported objectives/,
    );
    expect(() => parseLightGBMText("tree\nobjective=lambdarank\n")).toThrow(InvalidParameterError);
    expect(() => parseLightGBMText("nope")).toThrow(/first line/);
  });

  it('reads C++ "inf" thresholds as LightGBM writes them', async () => {
    const text = [
      "tree",
      "version=v4",
      "num_class=1",
      "num_tree_per_iteration=1",
      "max_feature_idx=0",
      "objective=regression",
      "feature_names=x",
      "feature_infos=[0:1]",
      "",
      "Tree=0",
      "num_leaves=2",
      "num_cat=0",
      "split_feature=0",
      "threshold=inf",
      "decision_type=8",
      "left_child=-1",
      "right_child=-2",
      "leaf_value=1 2",
      "",
      "end of trees",
    ].join("\n");
    const p = loadLightGBMPredictor(text);
    const frame = {
      nRows: 3,
      columns: [{ kind: "numeric" as const, name: "x", values: Float64Array.from([5, 1e300, NaN]) }],
    };
    // x <= inf goes left; NaN with missing type NaN and default right goes right.
    expect(Array.from(await p.predict(frame))).toEqual([1, 1, 2]);
  });

  it("maps pandas categories to the model's codes and records them in the signature", () => {
    const m = parseLightGBMText(readFileSync(modelPath("lgb_pandas_cat.txt"), "utf8"));
    expect(m.features.at(-1)).toEqual({ name: "region", categories: ["north", "south", "east", "west"] });
  });
});
