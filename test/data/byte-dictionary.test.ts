import { describe, expect, it } from "vitest";
import { ByteDictionary } from "../../src/data/byte-dictionary.js";

/** Codes of `values` fed one by one, each as a field inside a larger buffer. */
function codes(dict: ByteDictionary, values: readonly string[]): number[] {
  return values.map((v) => {
    const buf = Buffer.from(`,${v},`);
    return dict.code(buf, 1, buf.length - 1);
  });
}

describe("ByteDictionary", () => {
  it("gives a value seen before its first code, after an ascending run too", () => {
    const dict = new ByteDictionary();
    // A run in byte order (A1 < A2 < A3), then a repeat that ends it, a smaller value, more repeats.
    expect(codes(dict, ["A1", "A2", "A3", "A2", "A0", "A3", "A4", "A1"])).toEqual([0, 1, 2, 1, 3, 2, 4, 0]);
    expect(dict.distinct).toBe(5);
    expect(dict.finish()?.strings).toEqual(["A1", "A2", "A3", "A0", "A4"]);
  });

  it("keeps a prefix and its extension apart, in a run and after it", () => {
    const dict = new ByteDictionary();
    expect(codes(dict, ["A", "AB", "ABC", "AB", "A", "ABC", "B"])).toEqual([0, 1, 2, 1, 0, 2, 3]);
    expect(dict.distinct).toBe(4);
  });

  it("finds every one of many values after the table has grown", () => {
    const dict = new ByteDictionary();
    const values = Array.from({ length: 5000 }, (_, i) => `v${(i * 7919) % 5000}`);
    const first = codes(dict, values);
    expect(first).toEqual(values.map((_, i) => i));
    expect(codes(dict, values)).toEqual(first);
    expect(dict.distinct).toBe(5000);
  });

  it("finds an identifier run's values once the run has ended, past the table's first size", () => {
    const dict = new ByteDictionary();
    const ids = Array.from({ length: 3000 }, (_, i) => `id${String(i).padStart(5, "0")}`);
    expect(codes(dict, ids)).toEqual(ids.map((_, i) => i));
    expect(codes(dict, [ids[1500] as string, ids[0] as string, "zz"])).toEqual([1500, 0, 3000]);
  });
});
