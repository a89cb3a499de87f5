import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { InvalidParameterError, InvalidStateError } from "../../src/errors.js";
import { parseMlmodel, servableModel, signatureFromInputExample } from "../../src/registry/index.js";

const DIR = new URL("../fixtures/mlflow/", import.meta.url);
const mlmodel = (folder: string) => parseMlmodel(readFileSync(new URL(`${folder}/MLmodel`, DIR), "utf8"), folder);

describe("MLmodel files", () => {
  it("picks the xgboost flavor's model file for each model_format and maps the column signature", () => {
    for (const [folder, file] of [
      ["xgb_json", "model.json"],
      ["xgb_ubj", "model.ubj"],
      ["xgb_legacy", "model.xgb"],
    ] as const) {
      const m = mlmodel(folder);
      expect(m.flavors).toEqual(["python_function", "xgboost"]);
      expect(m.serving).toEqual({ flavor: "xgboost", modelFile: file });
      expect(m.signature).toEqual({
        inputs: ["age", "income", "debt_ratio", "utilization"].map((name) => ({
          name,
          type: "double",
          nullable: true,
        })),
        outputs: [{ name: "score", type: "double", nullable: false }],
      });
      expect(m.inputExample).toBe("input_example.json");
      expect(m.runId).toBe("9f1c2d3e4b5a69788766554433221100");
    }
    expect(mlmodel("xgb_ubj").modelId).toBe("m-5e0c2a7b9d1f4e3a8b6c0d2e4f6a8b0c");
  });

  it("reads lightgbm and onnx flavors; a tensor signature keeps its tensors", () => {
    expect(mlmodel("lgb_text").serving).toEqual({ flavor: "lightgbm", modelFile: "model.lgb" });
    expect(mlmodel("lgb_text").signature).toBeUndefined();
    const onnx = mlmodel("onnx_logreg");
    expect(onnx.serving).toEqual({ flavor: "onnx", modelFile: "model.onnx" });
    expect(onnx.signature).toBeUndefined();
    expect(onnx.tensorInputs).toEqual([{ name: "float_input", dtype: "float32", shape: [-1, 5] }]);
  });

  it("reports a pickled scikit-learn folder as not servable, naming the flavor and what to do", () => {
    const m = mlmodel("sklearn_pickle");
    expect("notServable" in m.serving).toBe(true);
    expect(() => servableModel(m, "model risk version 3")).toThrow(InvalidStateError);
    expect(() => servableModel(m, "model risk version 3")).toThrow(
      /model risk version 3: not servable: flavor sklearn cannot be served by keel .*export the model to ONNX/,
    );
  });

  it("maps MLflow column types and refuses the ones keel cannot take, naming the field", () => {
    const sig = (inputs: unknown[]) =>
      `flavors:\n  xgboost:\n    data: model.json\nsignature:\n  inputs: '${JSON.stringify(inputs)}'\n  outputs: null\n`;
    const m = parseMlmodel(
      sig([
        { type: "long", name: "n", required: true },
        { type: "integer", name: "k", required: false },
        { type: "boolean", name: "b", required: true },
        { type: "string", name: "s", required: true },
        { type: "float", name: "f", required: true },
      ]),
      "dir",
    );
    expect(m.signature?.inputs).toEqual([
      { name: "n", type: "long", nullable: false },
      { name: "k", type: "long", nullable: true },
      { name: "b", type: "boolean", nullable: false },
      { name: "s", type: "string", nullable: false },
      { name: "f", type: "double", nullable: true },
    ]);
    expect(() => parseMlmodel(sig([{ type: "datetime", name: "t" }]), "dir")).toThrow(
      /dir\/MLmodel: signature\.inputs\[0\]\.type = "?datetime"?: supported column types/,
    );
    expect(() => parseMlmodel("flavors: {}\n", "dir")).toThrow(InvalidParameterError);
    expect(() => parseMlmodel("flavors:\n  xgboost:\n    data: ../../etc/passwd\n", "dir")).toThrow(
      /must stay inside the model folder/,
    );
  });

  it("infers a signature from a saved input example (pandas split orient)", () => {
    expect(
      signatureFromInputExample(
        {
          columns: ["a", "b", "c"],
          data: [
            [1.5, "x", true],
            [null, "y", false],
          ],
        },
        "ex",
      ),
    ).toEqual({
      inputs: [
        { name: "a", type: "double", nullable: true },
        { name: "b", type: "string", nullable: false },
        { name: "c", type: "boolean", nullable: false },
      ],
      outputs: [{ name: "score", type: "double", nullable: false }],
    });
  });
});
