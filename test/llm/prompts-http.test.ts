import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeelClient, KeelLlmClient } from "../../src/client/index.js";
import { http, startTestServer, type TestServer } from "../server/helpers.js";
import { rejected } from "../keel-error.js";

describe("prompt registry over HTTP with auth on", () => {
  let server: TestServer;
  const tokens: Record<string, string> = {};
  const as = (role: string) => new KeelLlmClient(new KeelClient({ baseUrl: server.url, token: tokens[role]! }));

  beforeAll(async () => {
    server = await startTestServer({ auth: true });
    for (const role of ["reader", "writer", "approver"] as const) {
      tokens[role] = (await server.stores.tokens.create({ name: `${role}-token`, role })).token;
    }
  });
  afterAll(async () => {
    await server.close();
  });

  it("creates, shows, renders and diffs versions; MLflow's model search leaves prompts out", async () => {
    const writer = as("writer");
    expect(
      (await rejected(as("reader").createPromptVersion({ name: "p", template: "x", commit_message: "m" }))).status,
    ).toBe(403);
    const v1 = await writer.createPromptVersion({
      name: "triage",
      template: "Classify: {{ticket}}",
      model: "m-1",
      parameters: { temperature: 0 },
      commit_message: "first",
    });
    expect(v1).toMatchObject({
      version: "1",
      type: "text",
      variables: ["ticket"],
      model: "m-1",
      parameters: { temperature: 0 },
    });
    await writer.createPromptVersion({
      name: "triage",
      template: "Classify briefly: {{ticket}}",
      commit_message: "shorter",
    });

    const reader = as("reader");
    expect((await reader.getPrompt("triage")).versions.map((v) => v.commit_message)).toEqual(["shorter", "first"]);
    expect(await reader.renderPrompt("triage", "1", { ticket: "card lost" })).toMatchObject({
      rendered: "Classify: card lost",
      model: "m-1",
    });
    const missing = await rejected(reader.renderPrompt("triage", "1", {}));
    expect([missing.status, missing.message]).toEqual([400, "missing prompt variable: ticket"]);
    const diff = await reader.diffPrompt("triage", "1", "2");
    expect(diff.lines.filter((l) => l.op !== " ")).toEqual([
      { op: "-", text: "model: m-1" },
      { op: "-", text: "temperature: 0" },
      { op: "-", text: "Classify: {{ticket}}" },
      { op: "+", text: "Classify briefly: {{ticket}}" },
    ]);

    // MLflow's REST API sees the prompt only when it asks for prompts.
    const auth = { authorization: `Bearer ${tokens.reader}` };
    const all = await http(`${server.url}/api/2.0/mlflow/registered-models/search`, "GET", undefined, auth);
    expect(all.json.registered_models ?? []).toEqual([]);
    const filter = encodeURIComponent("tags.`mlflow.prompt.is_prompt` = 'true'");
    const prompts = await http(
      `${server.url}/api/2.0/mlflow/registered-models/search?filter=${filter}`,
      "GET",
      undefined,
      auth,
    );
    expect((prompts.json.registered_models as { name: string }[]).map((m) => m.name)).toEqual(["triage"]);
  });

  it("moves an alias only for an approver, who is recorded as such", async () => {
    const request = { version: "2", to: "production", reason: "CHG-1" };
    const refused = await rejected(as("writer").promotePrompt("triage", request));
    expect(refused.status).toBe(403);
    const move = await as("approver").promotePrompt("triage", request);
    expect(move).toMatchObject({ alias: "production", to_version: "2", actor: "approver-token", reason: "CHG-1" });
    expect((await as("reader").getPromptVersion("triage", "production")).version).toBe("2");
    const audit = await server.stores.audit.list({ targetType: "registered_model", targetId: "triage" });
    expect(audit.filter((a) => a.action === "registered_model.promote").map((a) => a.actor)).toEqual([
      "approver-token",
    ]);
  });
});
