import { describe, expect, it } from "vitest";
import { samplePoint } from "../../../src/llm/index.js";

describe("trace sampling", () => {
  it("places a trace at the same point every time, spreading traces evenly", () => {
    const ids = Array.from({ length: 4000 }, (_, i) => i.toString(16).padStart(32, "0"));
    expect(samplePoint("judge", ids[7] as string)).toBe(samplePoint("judge", ids[7] as string));
    const share = ids.filter((id) => samplePoint("judge", id) < 0.25).length / ids.length;
    // binomial(4000, 0.25): sd 0.0068; 5 sd either side
    expect(Math.abs(share - 0.25)).toBeLessThan(0.035);
    expect(samplePoint("review", ids[7] as string)).not.toBe(samplePoint("judge", ids[7] as string));
  });
});
