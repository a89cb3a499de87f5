import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { startServer, type RunningServer } from "../../src/server/start.js";
import { ModelServer } from "../../src/serving/index.js";
import { FIXTURES } from "./fixtures.js";
import { fixture, fixtureLoader, openStack, post, type Stack } from "./harness.js";

const xgb = fixture("xgb_binary.json");
let stack: Stack;
let serving: ModelServer;
let server: RunningServer;
const tokens: Record<string, string> = {};

/**
 * One approved champion (credit v1, set by an approver) and versions a writer registered. Every
 * attempt a writer makes below must leave v1 answering — judged by the version predictions report.
 */
beforeAll(async () => {
  stack = await openStack();
  const { registry } = stack.stores;
  await registry.createModelVersion({ name: "credit", source: path.join(FIXTURES, "xgb_binary.json") });
  await registry.setAlias("credit", "champion", "1");
  await registry.transitionStage("credit", "1", "Production", false);
  await registry.createModelVersion({ name: "credit", source: path.join(FIXTURES, "xgb_binary_base.json") });
  // Another team's approved model, which a rename could put in credit's place.
  await registry.createModelVersion({ name: "fraud", source: path.join(FIXTURES, "xgb_binary_base.json") });
  await registry.setAlias("fraud", "champion", "1");
  // An endpoint an approver pointed at the alias "prod".
  await registry.createModelVersion({ name: "churn", source: path.join(FIXTURES, "xgb_binary.json") });
  await registry.createModelVersion({ name: "churn", source: path.join(FIXTURES, "xgb_binary_base.json") });
  await registry.setAlias("churn", "prod", "1");
  serving = new ModelServer({
    registry,
    loadModel: fixtureLoader,
    inferenceLog: stack.stores.servingInferenceLog,
    endpointStore: stack.stores.endpoints,
    pollIntervalMs: 50,
  });
  await serving.start();
  await serving.saveEndpoint({ name: "churn", model: "churn", champion: { alias: "prod" } });
  const config = loadConfig({ flags: { port: 0, dataDir: stack.dir, logLevel: "silent", authEnabled: true }, env: {} });
  server = await startServer({ config, stores: stack.stores, serving });
  for (const role of ["writer", "approver"] as const) {
    tokens[role] = (await stack.stores.tokens.create({ name: `${role}-token`, role })).token;
  }
});
afterAll(async () => {
  await server.close();
  await serving.stop();
  await stack.close();
});

const auth = (role: string) => ({ authorization: `Bearer ${tokens[role]}` });

async function call(method: string, route: string, body: unknown, role = "writer"): Promise<number> {
  const res = await fetch(`${server.url}${route}`, {
    method,
    headers: { ...auth(role), "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

/** The version that answers an endpoint's requests now, after serving caught up with the registry. */
async function answering(endpoint: string): Promise<string> {
  await serving.sync();
  const r = await post(`${server.url}/api/keel/endpoints/${endpoint}/predict`, [xgb.row(0)], auth("writer"));
  return r.status === 200
    ? ((r.body as { predictions: { model_version: string }[] }).predictions[0]?.model_version ?? "none")
    : `status ${r.status}`;
}

describe("a writer cannot make an unapproved version answer as champion", () => {
  it("by any route: each attempt is refused and version 1 keeps answering", async () => {
    expect(await answering("credit")).toBe("1");
    const mlflow = "/api/2.0/mlflow";
    const attempts: [string, string, unknown][] = [
      ["PUT", "/api/keel/endpoints/credit", { model: "credit", champion: { version: "2" } }],
      ["PUT", "/api/keel/endpoints/credit", { model: "credit", challenger: { version: "2", percent: 100 } }],
      ["POST", `${mlflow}/registered-models/alias`, { name: "credit", alias: "champion", version: "2" }],
      ["POST", `${mlflow}/registered-models/alias`, { name: "credit", alias: "Champion", version: "2" }],
      ["DELETE", `${mlflow}/registered-models/alias`, { name: "credit", alias: "champion" }],
      ["POST", `${mlflow}/model-versions/transition-stage`, { name: "credit", version: "2", stage: "Production" }],
      ["POST", `${mlflow}/model-versions/transition-stage`, { name: "credit", version: "1", stage: "Archived" }],
      ["DELETE", `${mlflow}/model-versions/delete`, { name: "credit", version: "1" }],
      ["POST", `${mlflow}/registered-models/rename`, { name: "credit", new_name: "credit-old" }],
      ["DELETE", `${mlflow}/registered-models/delete`, { name: "credit" }],
      ["POST", `${mlflow}/registered-models/rename`, { name: "fraud", new_name: "credit" }],
      ["POST", "/api/keel/models/credit/promote", { version: "2" }],
      ["POST", "/api/keel/models/credit/rollback", {}],
    ];
    for (const [method, route, body] of attempts) {
      const status = await call(method, route, body);
      expect(status, `${method} ${route} ${JSON.stringify(body)}`).toBe(403);
      expect(await answering("credit"), `after ${method} ${route} ${JSON.stringify(body)}`).toBe("1");
    }
  });

  it("nor move an alias an approver made an endpoint's champion", async () => {
    expect(await answering("churn")).toBe("1");
    const status = await call("POST", "/api/2.0/mlflow/registered-models/alias", {
      name: "churn",
      alias: "prod",
      version: "2",
    });
    expect(status).toBe(403);
    expect(await call("DELETE", "/api/2.0/mlflow/registered-models/alias", { name: "churn", alias: "prod" })).toBe(403);
    expect(await answering("churn")).toBe("1");
    // Aliases no endpoint answers with stay a writer's to move.
    expect(
      await call("POST", "/api/2.0/mlflow/registered-models/alias", {
        name: "churn",
        alias: "candidate",
        version: "2",
      }),
    ).toBe(200);
  });

  it("while an approver may do each of these", async () => {
    expect(
      await call(
        "POST",
        "/api/2.0/mlflow/registered-models/alias",
        { name: "credit", alias: "champion", version: "2" },
        "approver",
      ),
    ).toBe(200);
    expect(await answering("credit")).toBe("2");
    expect(
      await call(
        "POST",
        "/api/2.0/mlflow/model-versions/transition-stage",
        { name: "credit", version: "1", stage: "Archived" },
        "approver",
      ),
    ).toBe(200);
  });
});
