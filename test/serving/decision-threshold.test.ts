import { afterEach, describe, expect, it } from "vitest";
import { DECISION_THRESHOLD_TAG, setVersionDecision } from "../../src/registry/index.js";
import { parseEndpointConfig } from "../../src/serving/index.js";
import { fixture, openStack, post, serve, type Served, type Stack } from "./harness.js";

const v1 = fixture("xgb_binary.json");

let stack: Stack | undefined;
let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  await stack?.close();
  served = undefined;
  stack = undefined;
});

describe("decision thresholds travel with the version", () => {
  it("serving decides at the version's stored threshold unless the endpoint sets its own", async () => {
    stack = await openStack();
    const a = await stack.register("credit", "xgb_binary.json");
    await stack.registry.setAlias("credit", "champion", a);
    await setVersionDecision(stack.registry, "credit", a, { threshold: 0.2 }, { userId: "ana" });
    served = await serve(stack, {
      endpoints: [
        parseEndpointConfig({
          name: "strict",
          model: "credit",
          decision: { threshold: 0.9, positive: "reject", negative: "approve" },
        }),
      ],
    });
    const decisions = async (endpoint: string) => {
      const out: string[] = [];
      for (let e = 0; e < 40; e++) {
        const r = await post(`${served?.url ?? ""}/api/keel/endpoints/${endpoint}/predict`, [v1.row(e)]);
        out.push((r.body as { predictions: { decision: string }[] }).predictions[0]?.decision ?? "");
      }
      return out;
    };
    const expected = (t: number, pos: string, neg: string) => v1.expected.slice(0, 40).map((s) => (s >= t ? pos : neg));
    expect(await decisions("credit")).toEqual(expected(0.2, "reject", "approve"));
    expect(await decisions("strict")).toEqual(expected(0.9, "reject", "approve"));
    expect(new Set(expected(0.2, "p", "n"))).toEqual(new Set(["p", "n"]));
    const audit = await stack.stores.audit.list({ limit: 1000 });
    expect(
      audit.find(
        (r) => r.action === "model_version.set_tag" && JSON.stringify(r.after).includes(DECISION_THRESHOLD_TAG),
      )?.actor,
    ).toBe("ana");
  });
});
