import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readTable } from "../../src/data/index.js";
import { loadKeelPredictor, saveKeelModel } from "../../src/learn/keel-model.js";
import { detectModelFormat, loadPredictor } from "../../src/learn/load-model.js";
import { trainModel } from "../../src/learn/train.js";

describe("loadPredictor with keel JSON models", () => {
  it("detects a saved keel model and scores it as the keel loader does", async () => {
    const churn = await readTable("test/fixtures/data/mlc_churn.csv");
    const res = await trainModel(churn, { target: "churn", model: "gbdt", params: { n_estimators: 10, max_depth: 3 } });
    const path = join(mkdtempSync(join(tmpdir(), "keel-load-")), "m.json");
    await saveKeelModel(res.model, path);
    expect(detectModelFormat(readFileSync(path)).format).toBe("keel");
    const viaDetect = await loadPredictor(path);
    const direct = await loadKeelPredictor(path);
    try {
      expect(viaDetect.format).toBe("keel");
      expect(viaDetect.signature).toEqual(direct.signature);
      const a = await viaDetect.predict(churn);
      const b = await direct.predict(churn);
      expect(a.length).toBe(churn.nRows);
      expect(Array.from(a)).toEqual(Array.from(b));
      expect(a.every((p) => p > 0 && p < 1)).toBe(true);
    } finally {
      await viaDetect.close();
      await direct.close();
    }
  });
});
