import { describe, expect, it } from "vitest";
import { categoricalFromStrings, numericColumn } from "../../src/data/index.js";
import { trainGbdt } from "../../src/learn/gbdt/train.js";
import { ensembleToJson } from "../../src/learn/keel-model.js";

function data(n: number) {
  let s = 12345;
  const r = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296;
  };
  const x0 = Float64Array.from({ length: n }, () => r());
  const x1 = Float64Array.from({ length: n }, () => (r() < 0.05 ? NaN : r()));
  const c = categoricalFromStrings(
    "c",
    Array.from({ length: n }, () => ["p", "q", "r", "s"][Math.floor(r() * 4)] as string),
  );
  const y = x0.map((v, i) =>
    r() < 0.2 + 0.5 * v * (Number.isNaN(x1[i]) ? 1 : (x1[i] as number)) + (c.codes[i] === 1 ? 0.2 : 0) ? 1 : 0,
  );
  return { features: [numericColumn("x0", x0), numericColumn("x1", x1), c], y };
}

describe("GBDT determinism", () => {
  const { features, y } = data(40_000);
  const train = async (params: Record<string, unknown>) =>
    JSON.stringify(
      ensembleToJson(
        (
          await trainGbdt({
            features,
            nRows: 40_000,
            y,
            objective: "binary",
            params: { n_estimators: 15, max_depth: 4, subsample: 0.7, colsample_bytree: 0.7, ...params },
          })
        ).ensemble,
      ),
    );

  it("gives byte-identical models for the same seed, on one thread or two", async () => {
    const a = await train({ seed: 7 });
    const b = await train({ seed: 7 });
    const c = await train({ seed: 7, threads: 2 });
    expect(b).toBe(a);
    expect(c).toBe(a);
  });

  it("gives a different model for a different seed", async () => {
    expect(await train({ seed: 8 })).not.toBe(await train({ seed: 7 }));
  });
});
