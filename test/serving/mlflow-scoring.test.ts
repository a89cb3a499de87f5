import { describe, expect, it } from "vitest";
import type { Signature } from "../../src/data/signature.js";
import { InvalidParameterError } from "../../src/errors.js";
import { decodeInvocationsCsv, decodeInvocationsJson } from "../../src/serving/mlflow-scoring.js";
import { compileValidator } from "../../src/serving/validator.js";

const sig: Signature = {
  inputs: [
    { name: "a", type: "double", nullable: false },
    { name: "b", type: "string", nullable: true },
  ],
  outputs: [],
};
const v = compileValidator(sig);
function rows(frame: ReturnType<typeof v>): unknown[][] {
  const [a, b] = frame.columns;
  return Array.from({ length: frame.nRows }, (_, i) => [
    a?.kind === "numeric" ? a.values[i] : undefined,
    b?.kind === "categorical" ? (b.codes[i] === -1 ? null : b.dictionary[b.codes[i] as number]) : undefined,
  ]);
}
const want = [
  [1.5, "x"],
  [2, null],
];

describe("MLflow scoring protocol", () => {
  it("reads the four JSON layouts and CSV into the same rows", () => {
    const layouts: unknown[] = [
      {
        dataframe_split: {
          columns: ["a", "b"],
          data: [
            [1.5, "x"],
            [2, null],
          ],
        },
      },
      {
        dataframe_records: [
          { a: 1.5, b: "x" },
          { a: 2, b: null },
        ],
      },
      { instances: [{ a: 1.5, b: "x" }, { a: 2 }] },
      { inputs: { a: [1.5, 2], b: ["x", null] } },
      {
        inputs: [
          [1.5, "x"],
          [2, null],
        ],
        params: { threshold: 0.3 },
      },
    ];
    for (const body of layouts) expect(rows(v(decodeInvocationsJson(body, sig).table))).toEqual(want);
    expect(decodeInvocationsJson(layouts[4], sig).params).toEqual({ threshold: 0.3 });
    expect(rows(v(decodeInvocationsCsv('a,b\r\n1.5,"x"\n2,\n').table))).toEqual(want);
  });

  it("requires exactly one input field, as mlflow's scoring server does", () => {
    for (const body of [{}, { dataframe_records: [], instances: [] }, [1, 2], { data: [] }]) {
      const e = (() => {
        try {
          decodeInvocationsJson(body, sig);
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(e).toBeInstanceOf(InvalidParameterError);
      expect((e as Error).message).toContain(
        "exactly one of the input fields dataframe_split, dataframe_records, instances, inputs",
      );
    }
  });

  it("names the bad cell", () => {
    try {
      decodeInvocationsJson({ dataframe_split: { columns: ["a", "b"], data: [[1, "x"], [2]] } }, sig);
      expect.unreachable();
    } catch (e) {
      expect((e as InvalidParameterError).details?.field).toBe("dataframe_split.data[1]");
    }
  });
});
