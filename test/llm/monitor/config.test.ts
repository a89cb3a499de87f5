import { describe, expect, it } from "vitest";
import { parseLlmConfig } from "../../../src/llm/index.js";
import { rejected } from "../../keel-error.js";

describe("a route's monitor settings", () => {
  const route = (monitor: unknown, extra: Record<string, unknown> = {}) =>
    parseLlmConfig({
      routes: {
        support: { upstream: { url: "http://u/v1" }, monitor },
        judge: { upstream: { url: "http://u/v1" } },
        ...extra,
      },
    });
  it("reads the defaults", () => {
    expect(route({ judge: { route: "judge", rubric: "groundedness@production" } }).routes.support?.monitor).toEqual({
      route: "support",
      windows: ["hourly", "daily"],
      judge: {
        route: "judge",
        rubric: { name: "groundedness", ref: "production" },
        sampleRate: 0.1,
        minScore: 0,
        maxScore: 1,
        hallucinationBelow: 0.5,
        maxPerWindow: 200,
      },
    });
  });
  it.each([
    [{ windows: ["weekly"] }, 'routes.support.monitor.windows[0] = "weekly": must be hourly, daily'],
    [
      { judge: { route: "nope", rubric: "g@1" } },
      'routes.support.monitor.judge.route = "nope": must name another configured route',
    ],
    [
      { judge: { route: "judge", rubric: "g" } },
      'routes.support.monitor.judge.rubric = "g": must be NAME@ALIAS or NAME@VERSION',
    ],
    [{ judge: { route: "judge", rubric: "g@1", sampleRate: 2 } }, "routes.support.monitor.judge.sampleRate = 2"],
    [{ review: { belowScore: 0.3 } }, "routes.support.monitor.review.belowScore = 0.3: needs a judge"],
    [
      { judge: { route: "judge", rubric: "g@1", minScore: 1, maxScore: 1 } },
      "maxScore = 1: must be above minScore (1)",
    ],
    [{ sample: 1 }, "sample"],
  ])("refuses %j naming the field", async (monitor, message) => {
    const e = await rejected(Promise.resolve().then(() => route(monitor)));
    expect(e.code).toBe("INVALID_PARAMETER_VALUE");
    expect(e.message).toContain(message);
  });
});
