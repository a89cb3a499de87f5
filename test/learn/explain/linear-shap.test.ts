import { describe, expect, it } from "vitest";
import { readTable } from "../../../src/data/index.js";
import { keelExplainer } from "../../../src/learn/explain/explainer.js";
import { meanAbsShap } from "../../../src/learn/explain/importance.js";
import { linearShap } from "../../../src/learn/explain/linear-shap.js";
import { predictLinear } from "../../../src/learn/linear/train.js";
import { trainModel } from "../../../src/learn/train.js";

const churn = await readTable("test/fixtures/learn/linear_churn.csv");

describe("linearShap", () => {
  it("gives w·(x − training mean) per numeric input, the category's weight per categorical one, and sums to the log-odds", async () => {
    const { model } = await trainModel(churn, { target: "churn", model: "linear", positive: "yes" });
    if (model.model_type !== "linear") throw new Error("expected a linear model");
    const body = model.linear;
    const ex = keelExplainer(model);
    expect(ex.features).toEqual(body.terms.map((t) => t.name));
    expect(ex.bias).toBe(body.intercept);
    const phi = ex.explain(churn);
    const width = body.terms.length + 1;
    const p = predictLinear(body, churn);
    let worst = 0;
    for (let i = 0; i < churn.nRows; i++) {
      let s = 0;
      for (let j = 0; j < width; j++) s += phi[i * width + j] as number;
      worst = Math.max(worst, Math.abs(s - Math.log((p[i] as number) / (1 - (p[i] as number)))));
    }
    expect(worst).toBeLessThan(1e-9);

    const j = body.terms.findIndex((t) => t.name === "account_length");
    const t = body.terms[j];
    if (t?.kind !== "numeric") throw new Error("account_length should be numeric");
    const col = churn.columns.find((c) => c.name === "account_length");
    if (col?.kind !== "numeric") throw new Error("account_length column");
    const present = col.values.findIndex((v) => !Number.isNaN(v));
    const missing = col.values.findIndex((v) => Number.isNaN(v));
    expect(missing).toBeGreaterThanOrEqual(0);
    expect(phi[present * width + j]).toBeCloseTo((t.coef / t.scale) * ((col.values[present] as number) - t.mean), 12);
    // A missing value is imputed with the training mean: it moves the margin by nothing.
    expect(phi[missing * width + j]).toBe(0);

    const k = body.terms.findIndex((u) => u.kind === "categorical");
    const cat = body.terms[k];
    const ccol = churn.columns.find((c) => c.name === cat?.name);
    if (cat?.kind !== "categorical" || ccol?.kind !== "categorical") throw new Error("categorical term");
    const code = ccol.codes[0] as number;
    expect(phi[k]).toBe(cat.coef[cat.dictionary.indexOf(ccol.dictionary[code] ?? "")]);

    // Mean |SHAP| of the account_length column, computed directly.
    let direct = 0;
    for (let i = 0; i < churn.nRows; i++) direct += Math.abs(phi[i * width + j] as number);
    expect(meanAbsShap(phi, churn.nRows, body.terms.length)[j]).toBeCloseTo(direct / churn.nRows, 12);
  });

  it("names a missing input column", async () => {
    const { model } = await trainModel(churn, { target: "churn", model: "linear", positive: "yes" });
    if (model.model_type !== "linear") throw new Error("expected a linear model");
    expect(() => linearShap(model.linear, { nRows: 0, columns: [] })).toThrow(/input column "\w+" is missing/);
  });
});
