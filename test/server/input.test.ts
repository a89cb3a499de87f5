import { describe, expect, it } from "vitest";
import { Input, doubleOut, toDouble } from "../../src/server/input.js";
import { thrown } from "../keel-error.js";

const refusal = (fn: () => unknown) => thrown(fn);

describe("Input", () => {
  it("reads query-string numbers, booleans and repeated keys as MLflow's GET clients send them", () => {
    const input = new Input({ max_results: "25", archive: "True", experiment_ids: ["1", "2"], order_by: "x" });
    expect(input.integer("max_results")).toBe(25);
    expect(input.boolean("archive")).toBe(true);
    expect(input.stringList("experiment_ids")).toEqual(["1", "2"]);
    expect(input.stringList("order_by")).toEqual(["x"]);
    expect(input.stringList("absent")).toEqual([]);
  });

  it("names the field, the value and the rule when it refuses a value", () => {
    const e = refusal(() => new Input({ max_results: "ten" }).integer("max_results"));
    expect(e.code).toBe("INVALID_PARAMETER_VALUE");
    expect(e.message).toBe('max_results = "ten": must be an integer');
    expect(e.details).toEqual({ field: "max_results", value: "ten", rule: "must be an integer" });
    expect(refusal(() => new Input({ n: 1.5 }).integer("n")).message).toBe("n = 1.5: must be an integer");
    expect(refusal(() => new Input({ n: 0 }).integer("n", { min: 1 })).message).toBe("n = 0: must be at least 1");
    expect(refusal(() => new Input({ b: "maybe" }).boolean("b")).message).toBe('b = "maybe": must be true or false');
    expect(refusal(() => new Input({ s: "X" }).oneOf("s", ["A", "B"])).message).toBe('s = "X": must be one of A, B');
    expect(refusal(() => new Input({ tags: "k" }).objectList("tags")).message).toBe('tags = "k": must be a JSON array');
    expect(refusal(() => new Input({ tags: [1] }).objectList("tags")).message).toBe("tags[0] = 1: must be an object");
  });

  it("reports a missing required parameter with MLflow's wording", () => {
    const e = refusal(() => new Input({}).requiredString("run_id"));
    expect(e.message).toBe("Missing value for required parameter 'run_id'");
    expect(refusal(() => new Input({ run_id: "" }).requiredString("run_id")).code).toBe("INVALID_PARAMETER_VALUE");
  });

  it("falls back to the older field name (run_uuid) when the newer one is absent", () => {
    expect(new Input({ run_uuid: "abc" }).requiredStringOf("run_id", "run_uuid")).toBe("abc");
    expect(new Input({ run_id: "new", run_uuid: "old" }).requiredStringOf("run_id", "run_uuid")).toBe("new");
  });

  it("reads and writes doubles as protobuf JSON does, NaN and infinities included", () => {
    expect(toDouble("value", "NaN")).toBeNaN();
    expect(toDouble("value", "Infinity")).toBe(Infinity);
    expect(toDouble("value", "-Infinity")).toBe(-Infinity);
    expect(toDouble("value", "0.25")).toBe(0.25);
    expect(refusal(() => toDouble("value", "abc")).message).toBe('value = "abc": must be a number');
    expect(refusal(() => toDouble("value", true)).message).toBe("value = true: must be a number");
    expect([doubleOut(NaN), doubleOut(Infinity), doubleOut(-Infinity), doubleOut(1.5)]).toEqual([
      "NaN",
      "Infinity",
      "-Infinity",
      1.5,
    ]);
  });
});
