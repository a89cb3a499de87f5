import { describe, expect, it } from "vitest";
import type { Frame } from "../../src/data/frame.js";
import { LruTtlCache, rowCacheKeys } from "../../src/serving/cache.js";

describe("LruTtlCache", () => {
  it("expires entries after the TTL and evicts the least recently used", async () => {
    let now = 0;
    const c = new LruTtlCache({ maxEntries: 2, ttlMs: 100, now: () => now });
    await c.setMany([
      ["a", 1],
      ["b", 2],
    ]);
    expect(await c.getMany(["a"])).toEqual([1]); // a is now most recent
    await c.setMany([["c", 3]]); // evicts b
    expect(await c.getMany(["a", "b", "c"])).toEqual([1, undefined, 3]);
    now = 100;
    expect(await c.getMany(["a", "c"])).toEqual([undefined, undefined]);
    expect(c.size).toBe(0);
  });
});

describe("rowCacheKeys", () => {
  it("keys by model version and row values, distinguishing null from NaN-free values", () => {
    const f: Frame = {
      nRows: 2,
      columns: [
        { kind: "numeric", name: "x", values: Float64Array.of(1, NaN), valid: Uint8Array.of(1, 0) },
        { kind: "categorical", name: "c", codes: Int32Array.of(0, 0), dictionary: ["a;b"] },
      ],
    };
    const [k1, k2] = rowCacheKeys("m", "3", f);
    expect(k1).toBe('1:m@3|1;"a;b";');
    expect(k2).not.toBe(k1);
    expect(rowCacheKeys("m", "4", f)[0]).not.toBe(k1);
  });
});
