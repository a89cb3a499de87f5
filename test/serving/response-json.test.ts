import { describe, expect, it } from "vitest";
import { encodeInferResponse } from "../../src/serving/oip.js";
import { inferResponseJson, keelPredictionsJson, mlflowPredictionsJson } from "../../src/serving/response-json.js";

const scores = Float64Array.of(0.14000615269710473, 1e-21, 0, -0, 0.5, NaN, 1 / 3);

describe("prediction answers written as JSON text", () => {
  it("equal JSON.stringify of the same documents, including odd numbers and escaped strings", () => {
    expect(mlflowPredictionsJson(scores)).toBe(JSON.stringify({ predictions: Array.from(scores) }));
    const decide = (s: number) => (s >= 0.35 ? 'rej"ect' : "approve\u2028");
    expect(keelPredictionsJson("id-\\1", scores, decide, "12", "champion")).toBe(
      JSON.stringify({
        request_id: "id-\\1",
        predictions: Array.from(scores, (score) => ({
          score,
          decision: decide(score),
          model_version: "12",
          route: "champion",
        })),
      }),
    );
    const signature = { inputs: [], outputs: [{ name: "p\u00e9", type: "double" as const, nullable: false }] };
    for (const outputs of [undefined, ["p\u00e9"], []]) {
      const parameters = { route: "fallback", fallback: "deadline" };
      expect(
        inferResponseJson({
          modelName: "loans",
          modelVersion: "3",
          id: "r1",
          outputName: "p\u00e9",
          includeOutput: outputs === undefined || outputs.length > 0,
          scores,
          parameters,
        }),
      ).toBe(
        JSON.stringify(
          encodeInferResponse({
            modelName: "loans",
            modelVersion: "3",
            id: "r1",
            signature,
            scores,
            outputs,
            parameters,
          }),
        ),
      );
    }
  });
});
