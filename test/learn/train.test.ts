import { describe, expect, it } from "vitest";
import { categoricalFromStrings, readTable } from "../../src/data/index.js";
import { serializeKeelModel } from "../../src/learn/keel-model.js";
import { trainModel } from "../../src/learn/train.js";

const lending = await readTable("test/fixtures/data/lending_club.csv");
const churn = await readTable("test/fixtures/data/mlc_churn.csv");

describe("trainModel on the real data sets", () => {
  it("trains the churn GBDT with string categoricals and a yes/no target", async () => {
    const iterations: number[] = [];
    const res = await trainModel(churn, {
      target: "churn",
      params: { n_estimators: 150, learning_rate: 0.1, max_depth: 5 },
      onIteration: (i) => iterations.push(i),
    });
    expect(res.model.target.positive_class).toBe("yes");
    expect(res.nValid).toBe(1000);
    expect(res.nTrain).toBe(4000);
    // A floor, not a reference figure: a model that ignored the features would score 0.5.
    expect(res.metrics.auc).toBeGreaterThan(0.87);
    expect(iterations.length).toBe(150);
    expect(res.history.length).toBe(150);
  });

  it("trains logistic regression on lending_club with its 50-state categorical", async () => {
    const res = await trainModel(lending, { target: "Class", model: "linear" });
    expect(res.model.target).toEqual({ name: "Class", positive_class: "bad", negative_class: "good" });
    expect(res.metrics.auc).toBeGreaterThan(0.7);
    expect(res.model.model_type).toBe("linear");
  });

  it("carries an id column through as the row id, not as a feature", async () => {
    const ids = categoricalFromStrings(
      "loan_ref",
      Array.from({ length: lending.nRows }, (_, i) => `L${i}`),
    );
    const res = await trainModel(
      { nRows: lending.nRows, columns: [ids, ...lending.columns] },
      { target: "Class", params: { n_estimators: 5 } },
    );
    expect(res.roles.idColumn).toBe("loan_ref");
    expect(res.model.id_column).toBe("loan_ref");
    expect(res.roles.features).not.toContain("loan_ref");
  });

  it("is reproducible: same seed, same bytes", async () => {
    const opts = { target: "churn", params: { n_estimators: 20, subsample: 0.8, colsample_bytree: 0.8, seed: 3 } };
    const a = await trainModel(churn, opts);
    const b = await trainModel(churn, opts);
    expect(serializeKeelModel(b.model)).toBe(serializeKeelModel(a.model));
  });
});
