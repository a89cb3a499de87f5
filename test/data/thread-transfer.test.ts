import { describe, expect, it } from "vitest";
import { categoricalColumn, numericColumn } from "../../src/data/io.js";
import { parseCsvPart } from "../../src/data/csv-reader.js";
import {
  packFrame,
  packPart,
  packStrings,
  unpackFrame,
  unpackPart,
  unpackStrings,
} from "../../src/data/thread-transfer.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

describe("thread transfer", () => {
  it("strings survive as one string and their lengths: empty, non-ASCII and astral ones", () => {
    const values = ["", "a", "é", "日本", "😀x", "", 'quote"comma,', "A00000001"];
    const packed = packStrings(values);
    expect(packed.lengths).toHaveLength(values.length);
    expect(unpackStrings(packed)).toEqual(values);
    expect(unpackStrings(packStrings([]))).toEqual([]);
  });

  it("a frame comes back equal through structured clone, its arrays transferred", () => {
    const frame = {
      nRows: 3,
      columns: [
        numericColumn("x", Float64Array.from([1.5, NaN, -0])),
        categoricalColumn("c", Int32Array.from([1, -1, 0]), ["b", "a"]),
      ],
    };
    const expected = structuredClone(frame);
    const { packed, transfer } = packFrame(frame);
    // Each column's values or codes, the null masks and the dictionary's lengths.
    expect(transfer).toHaveLength(5);
    const back = unpackFrame(structuredClone(packed, { transfer }));
    expect(back).toEqual(expected);
  });

  it("a parsed part comes back equal, and outcomes without columns pass as they are", () => {
    const path = join(mkdtempSync(join(tmpdir(), "keel-transfer-")), "t.csv");
    writeFileSync(path, "id,v,c\nA1,1,x\nA2,,y\nA3,2.5,x\n");
    const part = parseCsvPart(path, undefined, []);
    const expected = structuredClone(part);
    const { packed, transfer } = packPart(part);
    expect(unpackPart(structuredClone(packed, { transfer }))).toEqual(expected);
    expect(unpackPart(packPart(undefined).packed)).toBeUndefined();
    expect(unpackPart(packPart({ restartAsString: 2 }).packed)).toEqual({ restartAsString: 2 });
  });
});
