import { describe, expect, it } from "vitest";
import { parseLlmConfig } from "../../../src/llm/index.js";

describe("prompts.promotionGates", () => {
  it("reads a gate name as a tag gate and an object as an evaluation gate", () => {
    const config = parseLlmConfig({
      prompts: {
        promotionGates: {
          staging: "smoke",
          production: {
            gate: "eval",
            dataset: "golden",
            thresholds: {
              "judge/pass_rate": { min: 0.8 },
              errors: { max: 0 },
              "latency_ms.p95": { min: 0, max: 2000 },
            },
          },
        },
      },
    });
    expect(config.promptGates).toEqual({ staging: "smoke" });
    expect(config.evalGates).toEqual({
      production: {
        gate: "eval",
        dataset: "golden",
        thresholds: { "judge/pass_rate": { min: 0.8 }, errors: { max: 0 }, "latency_ms.p95": { min: 0, max: 2000 } },
      },
    });
  });

  it.each([
    [{ production: 3 }, "prompts.promotionGates.production = 3: must be a gate name or { gate, dataset, thresholds }"],
    [
      { production: { gate: "eval" } },
      "prompts.promotionGates.production.thresholds = undefined: must name at least one metric",
    ],
    [
      { production: { thresholds: { errors: {} } } },
      "prompts.promotionGates.production.thresholds.errors = {}: needs min or max",
    ],
    [
      { production: { thresholds: { errors: { min: 2, max: 1 } } } },
      "prompts.promotionGates.production.thresholds.errors.max = 1: must be at least min 2",
    ],
    [
      { production: { thresholds: { errors: { below: 1 } } } },
      "prompts.promotionGates.production.thresholds.errors.below",
    ],
  ])("refuses %j", (gates, message) => {
    expect(() => parseLlmConfig({ prompts: { promotionGates: gates } })).toThrow(message);
  });
});
