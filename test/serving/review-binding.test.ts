import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseEndpointConfig } from "../../src/serving/endpoint-config.js";
import { recordingLogger } from "../runtime/recording-logger.js";
import { openStack, serve, type Stack } from "./harness.js";

let stack: Stack;
beforeEach(async () => {
  stack = await openStack();
});
afterEach(async () => {
  await stack.close();
});

describe("review rules at binding time", () => {
  it("refuse to bind a model that lacks a rule's column, so a rule never silently stops matching", async () => {
    const v1 = await stack.register("credit", "lgb_binary.txt");
    await stack.registry.setAlias("credit", "champion", v1);
    const logged: Record<string, unknown>[] = [];
    const served = await serve(stack, {
      logger: recordingLogger(logged),
      endpoints: [
        parseEndpointConfig({ name: "loans", model: "credit", review: { rules: ["cat != null"] } }),
        parseEndpointConfig({ name: "broken", model: "credit", review: { rules: ["zzz > 1"] } }),
      ],
    });
    try {
      const state = () => new Map(served.serving.listEndpoints().map((e) => [e.name, e]));
      expect(state().get("loans")).toMatchObject({ ready: true, versions: { champion: v1 } });
      expect(state().get("broken")?.ready).toBe(false);
      const failures = () =>
        logged.filter((e) => e.level === "error").map((e) => `${String(e.msg)}: ${(e.err as Error).message}`);
      expect(failures()).toContain(
        'serving: endpoint broken could not be bound: endpoint.review.rules[0] = "zzz > 1": column zzz is not an input of the model\'s signature',
      );

      // The champion moves to a model without `cat`: the endpoint keeps serving the version it has.
      const v2 = await stack.register("credit", "xgb_binary.json");
      await stack.registry.setAlias("credit", "champion", v2);
      await served.serving.sync();
      expect(state().get("loans")).toMatchObject({ ready: true, versions: { champion: v1 } });
      expect(failures()).toContain(
        'serving: endpoint loans could not be bound: endpoint.review.rules[0] = "cat != null": column cat is not an input of the model\'s signature',
      );
    } finally {
      await served.close();
    }
  });
});
