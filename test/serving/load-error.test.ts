import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { artifactFetcher, artifactModelLoader } from "../../src/serving/index.js";
import { fixture } from "./fixtures.js";
import { get, openStack, post, serve, type Served, type Stack } from "./harness.js";

const xgb = fixture("xgb_binary.json");
let stack: Stack;
let served: Served;
beforeAll(async () => {
  stack = await openStack();
  const { artifacts, registry } = stack.stores;
  await artifacts.putFile("models/credit.json", new Uint8Array(readFileSync(xgb.file)));
  // The registered checksum is not the artifact's: the bytes were swapped after registration.
  const mv = await registry.createModelVersion({
    name: "credit",
    source: "mlflow-artifacts:/models/credit.json",
    checksum: "e".repeat(64),
  });
  await registry.setAlias("credit", "champion", mv.version);
  served = await serve(stack, { loadModel: artifactModelLoader(artifactFetcher({ artifacts })) });
});
afterAll(async () => {
  await served.close();
  await stack.close();
});

describe("a champion whose artifact fails its checksum", () => {
  it("is reported with its checksum error, not as loading", async () => {
    const listed = (await get(`${served.url}/api/keel/endpoints`)).body as {
      endpoints: { name: string; ready: boolean; load_error?: string }[];
    };
    const credit = listed.endpoints.find((e) => e.name === "credit");
    expect(credit?.ready).toBe(false);
    expect(credit?.load_error).toMatch(
      /^model credit version 1: artifact sha256 [0-9a-f]{64} does not match the registered checksum e{64}$/,
    );

    const r = await post(`${served.url}/api/keel/endpoints/credit/predict`, [xgb.row(0)]);
    expect(r.status).toBe(503);
    const message = (r.body as { message: string }).message;
    expect(message).not.toContain("loading");
    expect(message).toMatch(
      /^endpoint "credit" cannot serve: its models failed to load \(model credit version 1: artifact sha256/,
    );
    const oip = await post(`${served.url}/v2/models/credit/infer`, { inputs: [] });
    expect(oip.status).toBe(503);
    expect((oip.body as { error: string }).error).toContain("does not match the registered checksum");
  });
});
