import { describe, expect, it } from "vitest";
import type { Signature } from "../../src/data/signature.js";
import { InvalidParameterError } from "../../src/errors.js";
import { decodeInferRequest, encodeInferResponse, modelMetadata } from "../../src/serving/oip.js";
import { compileValidator } from "../../src/serving/validator.js";
import { thrown } from "../keel-error.js";

// The spec's own example request names two inputs, input0 (UINT32, shape [2, 2]) and input1 (BOOL).
const specSignature: Signature = {
  inputs: [
    { name: "input0", type: "long", nullable: false },
    { name: "input1", type: "boolean", nullable: false },
  ],
  outputs: [{ name: "output0", type: "double", nullable: false }],
};

const loan: Signature = {
  inputs: [
    { name: "credit_score", type: "long", nullable: false },
    { name: "dti", type: "double", nullable: false },
    { name: "purpose", type: "string", nullable: false },
  ],
  outputs: [{ name: "score", type: "double", nullable: false }],
};

const error = (fn: () => unknown) => thrown(fn, InvalidParameterError);

describe("OIP V2 request decoding", () => {
  it("rejects the spec's example input1, whose shape [3] does not match its one element, naming the field", () => {
    const e = error(() =>
      decodeInferRequest(
        {
          id: "42",
          inputs: [
            { name: "input0", shape: [2, 2], datatype: "UINT32", data: [1, 2, 3, 4] },
            { name: "input1", shape: [3], datatype: "BOOL", data: [true] },
          ],
          outputs: [{ name: "output0" }],
        },
        specSignature,
      ),
    );
    expect(e.details?.field).toBe("inputs[0].shape");
    expect(e.message).toContain("must be [N] or [N, 1]");
    const e2 = error(() =>
      decodeInferRequest({ inputs: [{ name: "input1", shape: [3], datatype: "BOOL", data: [true] }] }, specSignature),
    );
    expect(e2.details?.field).toBe("inputs[0].data");
    expect(e2.message).toContain("must hold 3 elements to fill shape [3]");
  });

  it("reads the spec's example once its shapes are consistent, with the id and requested outputs", () => {
    const req = decodeInferRequest(
      {
        id: "42",
        inputs: [
          { name: "input0", shape: [2, 1], datatype: "UINT32", data: [1, 2] },
          { name: "input1", shape: [2], datatype: "BOOL", data: [true, false] },
        ],
        outputs: [{ name: "output0" }],
      },
      specSignature,
    );
    expect(req.id).toBe("42");
    expect(req.outputs).toEqual(["output0"]);
    const frame = compileValidator(specSignature)(req.table);
    expect(frame.columns.map((c) => (c.kind === "numeric" ? Array.from(c.values) : []))).toEqual([
      [1, 2],
      [1, 0],
    ]);
  });

  it("accepts nested and flat data in row-major order alike, and a single [N, F] tensor", () => {
    // The spec's tensor-data example: [[1, 2], [4, 5]] and [1, 2, 4, 5] are the same 2x2 tensor.
    const sig: Signature = {
      inputs: [
        { name: "a", type: "double", nullable: false },
        { name: "b", type: "double", nullable: false },
      ],
      outputs: [],
    };
    const v = compileValidator(sig);
    const nested = v(
      decodeInferRequest(
        {
          inputs: [
            {
              name: "x",
              shape: [2, 2],
              datatype: "FP32",
              data: [
                [1, 2],
                [4, 5],
              ],
            },
          ],
        },
        sig,
      ).table,
    );
    const flat = v(
      decodeInferRequest({ inputs: [{ name: "x", shape: [2, 2], datatype: "FP32", data: [1, 2, 4, 5] }] }, sig).table,
    );
    const cols = (f: typeof nested) => f.columns.map((c) => (c.kind === "numeric" ? Array.from(c.values) : []));
    expect(cols(nested)).toEqual([
      [1, 4],
      [2, 5],
    ]);
    expect(cols(flat)).toEqual(cols(nested));
  });

  it("maps BYTES to string columns and checks datatypes against the signature", () => {
    const req = decodeInferRequest(
      {
        inputs: [
          { name: "credit_score", shape: [1], datatype: "INT64", data: [640] },
          { name: "dti", shape: [1, 1], datatype: "FP64", data: [[0.4]] },
          { name: "purpose", shape: [1], datatype: "BYTES", data: ["car"] },
        ],
      },
      loan,
    );
    const frame = compileValidator(loan)(req.table);
    expect(frame.columns[2]?.kind === "categorical" && frame.columns[2].dictionary).toEqual(["car"]);
    const bad = error(() =>
      decodeInferRequest({ inputs: [{ name: "purpose", shape: [1], datatype: "FP32", data: [1] }] }, loan),
    );
    expect(bad.details?.field).toBe("inputs[0].datatype");
    expect(bad.message).toContain("must be BYTES for input purpose");
  });

  it("rejects malformed requests with the field named", () => {
    const cases: [unknown, string][] = [
      [[1, 2], "body"],
      [{}, "inputs"],
      [{ inputs: [] }, "inputs"],
      [{ id: 42, inputs: [] }, "id"],
      [{ inputs: [{ name: "dti", shape: [1], datatype: "FP99", data: [1] }] }, "inputs[0].datatype"],
      [{ inputs: [{ name: "dti", shape: [-1], datatype: "FP64", data: [1] }] }, "inputs[0].shape"],
      [{ inputs: [{ name: "dti", shape: [1], datatype: "FP64", data: ["x"] }] }, "inputs[0].data[0]"],
      [{ inputs: [{ name: "dti", shape: [1], datatype: "INT32", data: [1.5] }] }, "inputs[0].data[0]"],
      [{ inputs: [{ name: "nope", shape: [1], datatype: "FP64", data: [1] }] }, "inputs[0].name"],
      [
        {
          inputs: [
            { name: "dti", shape: [1], datatype: "FP64", data: [1] },
            { name: "credit_score", shape: [2], datatype: "INT64", data: [1, 2] },
          ],
        },
        "inputs[1].shape",
      ],
      [
        { inputs: [{ name: "dti", shape: [1], datatype: "FP64", data: [1] }], outputs: [{ name: "zzz" }] },
        "outputs[0].name",
      ],
    ];
    for (const [body, field] of cases) expect(error(() => decodeInferRequest(body, loan)).details?.field).toBe(field);
  });
});

describe("OIP V2 responses and metadata", () => {
  it("shapes the response as the spec's $inference_response", () => {
    const body = encodeInferResponse({
      modelName: "loans",
      modelVersion: "3",
      id: "42",
      signature: loan,
      scores: Float64Array.of(0.25, 0.5),
      outputs: undefined,
    });
    expect(body).toEqual({
      model_name: "loans",
      model_version: "3",
      id: "42",
      outputs: [{ name: "score", shape: [2], datatype: "FP64", data: [0.25, 0.5] }],
    });
  });

  it("describes inputs with -1 for the variable batch dimension", () => {
    expect(modelMetadata("loans", ["1", "2"], "xgboost", loan)).toEqual({
      name: "loans",
      versions: ["1", "2"],
      platform: "xgboost_json",
      inputs: [
        { name: "credit_score", datatype: "INT64", shape: [-1] },
        { name: "dti", datatype: "FP64", shape: [-1] },
        { name: "purpose", datatype: "BYTES", shape: [-1] },
      ],
      outputs: [{ name: "score", datatype: "FP64", shape: [-1] }],
    });
  });
});
