import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readTable } from "../../src/data/index.js";
import { InvalidParameterError } from "../../src/errors.js";
import {
  loadKeelPredictor,
  parseKeelModel,
  readKeelModel,
  saveKeelModel,
  serializeKeelModel,
} from "../../src/learn/keel-model.js";
import { trainModel } from "../../src/learn/train.js";

const dir = mkdtempSync(join(tmpdir(), "keel-model-"));
const churn = await readTable("test/fixtures/data/mlc_churn.csv");

describe("keel model format", () => {
  for (const model of ["gbdt", "linear"] as const) {
    it(`${model}: a saved model scores raw rows exactly as before saving`, async () => {
      const res = await trainModel(churn, {
        target: "churn",
        model,
        params: model === "gbdt" ? { n_estimators: 40, max_depth: 4 } : {},
      });
      const path = join(dir, `${model}.json`);
      await saveKeelModel(res.model, path);
      const loaded = await loadKeelPredictor(path);
      expect(loaded.format).toBe("keel");
      expect(loaded.task).toBe("binary");
      expect(loaded.signature.inputs.map((c) => c.name)).toEqual(res.roles.features);
      const before = await (await loadKeelPredictor(res.model)).predict(churn);
      const after = await loaded.predict(churn);
      expect(Array.from(after)).toEqual(Array.from(before));
      await loaded.close();
      // The file is one JSON document with flat arrays and the version.
      const json = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
      expect(json.format).toBe("keel");
      expect(json.format_version).toBe(1);
      expect(json.target).toEqual({ name: "churn", positive_class: "yes", negative_class: "no" });
      expect(serializeKeelModel(await readKeelModel(path))).toBe(readFileSync(path, "utf8"));
    });
  }

  it("refuses other formats and versions by field", () => {
    expect(() => parseKeelModel({ format: "xgboost" })).toThrow(InvalidParameterError);
    expect(() => parseKeelModel({ format: "keel", format_version: 99 })).toThrow(/format_version = 99/);
    const path = join(dir, "broken.json");
    writeFileSync(path, "{not json");
    return expect(readKeelModel(path)).rejects.toThrow(/not valid JSON/);
  });
});
