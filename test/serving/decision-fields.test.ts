import { describe, expect, it } from "vitest";
import { categoricalFromStrings, numericColumn, type Frame } from "../../src/data/index.js";
import { InvalidParameterError } from "../../src/errors.js";
import { parseEndpointConfig } from "../../src/serving/endpoint-config.js";
import { scoredInputs } from "../../src/serving/prediction-log.js";
import { topReasons } from "../../src/serving/reason-codes.js";
import { frameOf } from "../../src/serving/replay.js";

function rejection(fn: () => unknown): { field: unknown; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof InvalidParameterError) return { field: e.details?.field, message: e.message };
    throw e;
  }
  throw new Error("expected a rejection");
}

describe("endpoint record and explain settings", () => {
  it("records every decision by default, and only a sample when the endpoint samples its log", () => {
    expect(parseEndpointConfig({ name: "loans", model: "m" }).record).toBe("all");
    expect(parseEndpointConfig({ name: "loans", model: "m", inferenceLog: { sampleRate: 0.1 } }).record).toBe(
      "sampled",
    );
    expect(
      rejection(() =>
        parseEndpointConfig({ name: "loans", model: "m", record: "all", inferenceLog: { sampleRate: 0.1 } }),
      ),
    ).toEqual({
      field: "endpoint.inferenceLog.sampleRate",
      message: 'endpoint.inferenceLog.sampleRate = 0.1: must be 1 when record is "all"',
    });
    expect(rejection(() => parseEndpointConfig({ name: "loans", model: "m", record: "some" })).field).toBe(
      "endpoint.record",
    );
  });

  it("takes explain.top_k as an integer from 1 to 20", () => {
    expect(parseEndpointConfig({ name: "loans", model: "m", explain: { top_k: 3 } }).explain).toEqual({ topK: 3 });
    expect(parseEndpointConfig({ name: "loans", model: "m" }).explain).toBeUndefined();
    for (const bad of [0, 21, 2.5, "3"]) {
      expect(rejection(() => parseEndpointConfig({ name: "l", model: "m", explain: { top_k: bad } })).field).toBe(
        "endpoint.explain.top_k",
      );
    }
    expect(rejection(() => parseEndpointConfig({ name: "l", model: "m", explain: { topk: 3 } })).field).toBe(
      "endpoint.explain.topk",
    );
  });
});

describe("reason codes", () => {
  const features = ["income", "debt", "age"];
  // two rows of [income, debt, age, bias]
  const phi = Float64Array.from([0.2, -0.9, 0.2, -1.5, 0.0, 0.3, -0.05, 7]);
  const valueOf = (f: string, row: number) => `${f}@${row}`;

  it("picks the largest |contribution| first, ties in feature order, and never the bias", () => {
    expect(topReasons(phi, 2, features, 2, valueOf)).toEqual([
      [
        { feature: "debt", value: "debt@0", contribution: -0.9 },
        { feature: "income", value: "income@0", contribution: 0.2 },
      ],
      [
        { feature: "debt", value: "debt@1", contribution: 0.3 },
        { feature: "age", value: "age@1", contribution: -0.05 },
      ],
    ]);
    // more asked for than there are inputs: every input, still no bias
    expect(topReasons(phi, 2, features, 20, valueOf)[0]?.map((r) => r.feature)).toEqual(["debt", "income", "age"]);
  });
});

describe("inputs as scored", () => {
  const frame: Frame = {
    nRows: 2,
    columns: [
      numericColumn("income", Float64Array.from([52000, NaN])),
      categoricalFromStrings("purpose", ["car", null]),
      numericColumn("owner", Float64Array.from([1, 0])),
    ],
  };

  it("are not stored when they equal the received inputs (booleans scored as 1/0 included)", () => {
    expect(scoredInputs(frame, 0, { income: 52000, purpose: "car", owner: true, extra: "x" })).toBeUndefined();
    expect(scoredInputs(frame, 1, { income: null, purpose: null, owner: false })).toBeUndefined();
  });

  it("are stored whole when anything was converted", () => {
    expect(scoredInputs(frame, 0, { income: "52000", purpose: "car", owner: true })).toEqual({
      income: 52000,
      purpose: "car",
      owner: 1,
    });
    // an unknown category scored as missing
    expect(scoredInputs(frame, 1, { income: null, purpose: "boat", owner: 0 })).toEqual({
      income: null,
      purpose: null,
      owner: 0,
    });
  });

  it("rebuild the frame the model scored, for replay", () => {
    const signature = {
      inputs: [
        { name: "income", type: "double" as const, nullable: true },
        { name: "purpose", type: "string" as const, nullable: true },
        { name: "owner", type: "boolean" as const, nullable: false },
      ],
      outputs: [{ name: "score", type: "double" as const, nullable: false }],
    };
    const rebuilt = frameOf(signature, [
      { income: 52000, purpose: "car", owner: true },
      { income: null, purpose: null, owner: 0 },
    ]);
    expect(scoredInputs(rebuilt, 0, { income: 52000, purpose: "car", owner: true })).toBeUndefined();
    expect(scoredInputs(rebuilt, 1, { income: null, purpose: null, owner: false })).toBeUndefined();
    expect(rebuilt.columns.map((c) => c.kind)).toEqual(["numeric", "categorical", "numeric"]);
  });
});
