import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeelClient } from "../../src/client/index.js";
import { http, startTestServer } from "./helpers.js";
import type { TestServer } from "./helpers.js";
import { rejected } from "../keel-error.js";

let server: TestServer;
const tokens: Record<string, string> = {};
const as = (role: string) => new KeelClient({ baseUrl: server.url, token: tokens[role]! });

beforeAll(async () => {
  server = await startTestServer({ auth: true });
  for (const role of ["reader", "writer", "approver", "admin"] as const) {
    tokens[role] = (await server.stores.tokens.create({ name: `${role}-token`, role })).token;
  }
});
afterAll(async () => {
  await server.close();
});

const refusal = (p: Promise<unknown>) => rejected(p);

describe("bearer-token auth", () => {
  it("answers 401 with a clear JSON message without a valid token, and leaves /health open", async () => {
    const none = await http(`${server.url}/api/2.0/mlflow/experiments/get?experiment_id=0`, "GET");
    expect(none.status).toBe(401);
    expect(none.json).toEqual({
      error_code: "UNAUTHENTICATED",
      message:
        "authentication required: send 'Authorization: Basic base64(username:password)' or 'Authorization: Bearer <token>'",
    });
    const wrong = await http(`${server.url}/api/2.0/mlflow/experiments/get?experiment_id=0`, "GET", undefined, {
      authorization: "Bearer not-a-real-token",
    });
    expect(wrong.status).toBe(401);
    expect(wrong.json.message).toBe("invalid or revoked token");
    const basic = await http(`${server.url}/api/2.0/mlflow/experiments/get?experiment_id=0`, "GET", undefined, {
      authorization: "Basic dXNlcjpwYXNz",
    });
    expect(basic.status).toBe(401);
    // Basic credentials are checked against the users (none match here).
    expect(basic.json.message).toBe("invalid username or password");
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
  });

  it("lets a reader read but not write (403 naming the role needed)", async () => {
    expect((await as("reader").getExperiment("0")).name).toBe("Default");
    const e = await refusal(as("reader").createExperiment("nope"));
    expect(e.code).toBe("PERMISSION_DENIED");
    expect(e.status).toBe(403);
    expect(e.message).toBe(
      "POST /api/2.0/mlflow/experiments/create requires role writer; token 'reader-token' has role reader",
    );
  });

  it("requires an approver for stage Production and alias champion", async () => {
    const writer = as("writer");
    const id = await writer.createExperiment("auth-exp");
    const run = await writer.createRun({ experiment_id: id });
    await writer.createModelVersion({
      name: "gated",
      source: `runs:/${run.info.run_id}/model`,
      run_id: run.info.run_id,
    });
    await writer.setAlias("gated", "challenger", "1");
    expect((await writer.transitionStage("gated", "1", "Staging")).current_stage).toBe("Staging");

    const toProd = await refusal(writer.transitionStage("gated", "1", "Production"));
    expect(toProd.code).toBe("PERMISSION_DENIED");
    expect(toProd.message).toBe(
      "moving a model to stage Production requires role approver; token 'writer-token' has role writer",
    );
    const toChampion = await refusal(writer.setAlias("gated", "champion", "1"));
    expect(toChampion.code).toBe("PERMISSION_DENIED");
    expect(toChampion.message).toContain("setting alias 'champion' requires role approver");
    // Nothing moved.
    expect((await writer.getModelVersion("gated", "1")).current_stage).toBe("Staging");
    expect((await refusal(writer.getModelVersionByAlias("gated", "champion"))).code).toBe("RESOURCE_DOES_NOT_EXIST");

    const approver = as("approver");
    expect((await approver.transitionStage("gated", "1", "Production")).current_stage).toBe("Production");
    await approver.setAlias("gated", "champion", "1");
    expect((await approver.getModelVersionByAlias("gated", "champion")).version).toBe("1");
  });

  it("keeps webhooks for admins", async () => {
    const e = await refusal(as("approver").listWebhooks());
    expect(e.code).toBe("PERMISSION_DENIED");
    expect(await as("admin").listWebhooks()).toEqual([]);
  });

  it("refuses a revoked token", async () => {
    const { token, info } = await server.stores.tokens.create({ name: "short-lived", role: "reader" });
    const client = new KeelClient({ baseUrl: server.url, token });
    expect((await client.getExperiment("0")).experiment_id).toBe("0");
    await server.stores.tokens.revoke(info.id);
    const e = await refusal(client.getExperiment("0"));
    expect(e.code).toBe("UNAUTHENTICATED");
  });

  it("records the token's name as the actor in the audit log", async () => {
    await as("writer").createExperiment("audited");
    const rows = await server.stores.audit.list({ limit: 10_000 });
    const created = rows.filter(
      (r) => r.action.startsWith("experiment") && JSON.stringify(r.after ?? "").includes("audited"),
    );
    expect(created.map((r) => r.actor)).toContain("writer-token");
  });
});
