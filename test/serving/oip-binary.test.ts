import { describe, expect, it } from "vitest";
import { binaryOutputWanted, inferRequestDocument } from "../../src/serving/oip-binary.js";

/** The binary tensor data extension's request example, its bytes laid out by hand as the spec says. */
describe("binary tensor data extension", () => {
  it("decodes the spec's example: UINT32 [2, 2] (16 bytes) and BOOL [3] (3 bytes) after the JSON header", () => {
    const header = Buffer.from(
      JSON.stringify({
        model_name: "mymodel",
        inputs: [
          { name: "input0", shape: [2, 2], datatype: "UINT32", parameters: { binary_data_size: 16 } },
          { name: "input1", shape: [3], datatype: "BOOL", parameters: { binary_data_size: 3 } },
        ],
        outputs: [{ name: "output0", parameters: { binary_data: true } }],
      }),
    );
    const u32 = Buffer.from([1, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 1, 0, 0]);
    const bools = Buffer.from([1, 0, 1]);
    const doc = inferRequestDocument(Buffer.concat([header, u32, bools]), String(header.length)) as {
      inputs: { data: unknown[] }[];
    };
    expect(doc.inputs[0]?.data).toEqual([1, 2, 4294967295, 256]);
    expect(doc.inputs[1]?.data).toEqual([true, false, true]);
    expect(binaryOutputWanted(doc, "output0")).toBe(true);
    expect(binaryOutputWanted(doc, "other")).toBe(false);
  });

  it("decodes BYTES (4-byte length then the bytes), FP16, INT64, and NaN floats as missing", () => {
    const bytes = Buffer.concat([
      Buffer.from([2, 0, 0, 0]),
      Buffer.from("ok"),
      Buffer.from([0, 0, 0, 0]),
      Buffer.from([3, 0, 0, 0]),
      Buffer.from("é!"),
    ]);
    const fp16 = Buffer.from([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7e]); // 1, -2, NaN
    const i64 = Buffer.alloc(8);
    i64.writeBigInt64LE(-5n);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: "s", shape: [3], datatype: "BYTES", parameters: { binary_data_size: bytes.length } },
          { name: "h", shape: [3], datatype: "FP16", parameters: { binary_data_size: 6 } },
          { name: "n", shape: [1], datatype: "INT64", parameters: { binary_data_size: 8 } },
          { name: "j", shape: [1], datatype: "FP64", data: [0.5] },
        ],
        parameters: { binary_data_output: true },
      }),
    );
    const doc = inferRequestDocument(Buffer.concat([header, bytes, fp16, i64]), String(header.length)) as {
      inputs: { data: unknown[] }[];
    };
    expect(doc.inputs.map((t) => t.data)).toEqual([["ok", "", "é!"], [1, -2, null], [-5], [0.5]]);
    expect(binaryOutputWanted(doc, "score")).toBe(true);
  });

  it("reads a body without the header as JSON, whatever it is labelled", () => {
    expect(inferRequestDocument(Buffer.from('{"inputs": []}'), undefined)).toEqual({ inputs: [] });
    expect(() => inferRequestDocument(Buffer.from("{"), undefined)).toThrow(/request body: not valid JSON/);
    expect(() => inferRequestDocument(Buffer.from("  "), undefined)).toThrow(/request body: empty/);
  });
});
