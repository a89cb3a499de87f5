import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { http, startTestServer } from "./helpers.js";
import type { TestServer } from "./helpers.js";
import { rejected } from "../keel-error.js";

let server: TestServer;
const mlflow = (path: string) => `${server.url}/api/2.0/mlflow/${path}`;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

const refusal = (p: Promise<unknown>) => rejected(p);

describe("MLflow REST errors", () => {
  it("answers bad input with 400 INVALID_PARAMETER_VALUE naming the field, never 500", async () => {
    const badJson = await http(mlflow("experiments/create"), "POST", "{not json");
    expect(badJson.status).toBe(400);
    expect(badJson.json.error_code).toBe("INVALID_PARAMETER_VALUE");

    const notObject = await http(mlflow("experiments/create"), "POST", "[1,2]");
    expect(notObject.status).toBe(400);
    expect(notObject.json.error_code).toBe("INVALID_PARAMETER_VALUE");

    const missing = await http(mlflow("experiments/create"), "POST", "{}");
    expect(missing).toEqual({
      status: 400,
      json: {
        error_code: "INVALID_PARAMETER_VALUE",
        message: "Missing value for required parameter 'name'",
        details: { field: "name", rule: "required" },
      },
    });

    const badInt = await http(mlflow("experiments/search?max_results=ten"), "GET");
    expect(badInt.status).toBe(400);
    expect(badInt.json.message).toBe('max_results = "ten": must be an integer');

    const badView = await http(mlflow("experiments/search?view_type=SOME"), "GET");
    expect(badView.status).toBe(400);
    expect(badView.json.message).toBe('view_type = "SOME": must be one of ACTIVE_ONLY, DELETED_ONLY, ALL');
  });

  it("answers unknown things with 404 RESOURCE_DOES_NOT_EXIST as JSON", async () => {
    const noRoute = await http(`${server.url}/api/2.0/mlflow/nothing/here`, "GET");
    expect(noRoute.status).toBe(404);
    expect(noRoute.json).toEqual({
      error_code: "ENDPOINT_NOT_FOUND",
      message: "no endpoint GET /api/2.0/mlflow/nothing/here",
    });
    const noRun = await http(mlflow("runs/get?run_id=0123456789abcdef0123456789abcdef"), "GET");
    expect(noRun.status).toBe(404);
    expect(noRun.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
  });

  it("answers a taken name with 400 RESOURCE_ALREADY_EXISTS", async () => {
    await server.client.createExperiment("dup");
    const e = await refusal(server.client.createExperiment("dup"));
    expect(e.code).toBe("RESOURCE_ALREADY_EXISTS");
    const raw = await http(mlflow("experiments/create"), "POST", JSON.stringify({ name: "dup" }));
    expect(raw.status).toBe(400);
    expect(raw.json.error_code).toBe("RESOURCE_ALREADY_EXISTS");
  });

  it("refuses a param logged again with another value", async () => {
    const id = await server.client.createExperiment("params");
    const run = await server.client.createRun({ experiment_id: id });
    await server.client.logParam(run.info.run_id, "lr", "0.1");
    await server.client.logParam(run.info.run_id, "lr", "0.1");
    const e = await refusal(server.client.logParam(run.info.run_id, "lr", "0.2"));
    expect(e.code).toBe("INVALID_PARAMETER_VALUE");
    expect(e.status).toBe(400);
  });
});

describe("MLflow REST endpoints", () => {
  it("serves the Default experiment (id 0), experiments/list for older clients, and the ajax-api alias", async () => {
    const listed = await http(mlflow("experiments/list"), "GET");
    expect(listed.status).toBe(200);
    const names = (listed.json.experiments as { experiment_id: string; name: string }[]).map((e) => [
      e.experiment_id,
      e.name,
    ]);
    expect(names).toContainEqual(["0", "Default"]);
    const ajax = await http(`${server.url}/ajax-api/2.0/mlflow/experiments/get?experiment_id=0`, "GET");
    expect(ajax.status).toBe(200);
    expect((ajax.json.experiment as { name: string }).name).toBe("Default");
  });

  it("renames, tags, deletes and restores an experiment", async () => {
    const id = await server.client.createExperiment("to-rename", { tags: [{ key: "owner", value: "risk" }] });
    await server.client.updateExperiment(id, "renamed");
    await server.client.setExperimentTag(id, "team", "fraud");
    const e = await server.client.getExperimentByName("renamed");
    expect(e.experiment_id).toBe(id);
    expect(e.tags).toEqual(
      expect.arrayContaining([
        { key: "owner", value: "risk" },
        { key: "team", value: "fraud" },
      ]),
    );
    await server.client.deleteExperiment(id);
    expect((await server.client.getExperiment(id)).lifecycle_stage).toBe("deleted");
    const active = await server.client.searchExperiments({ view_type: "ACTIVE_ONLY" });
    expect(active.experiments?.map((x) => x.experiment_id)).not.toContain(id);
    await server.client.restoreExperiment(id);
    expect((await server.client.getExperiment(id)).lifecycle_stage).toBe("active");
  });

  it("keeps NaN and infinite metric values through protobuf JSON", async () => {
    const id = await server.client.createExperiment("nan");
    const run = await server.client.createRun({ experiment_id: id });
    await server.client.logBatch(run.info.run_id, {
      metrics: [
        { key: "a", value: "NaN", timestamp: 1, step: 0 },
        { key: "b", value: "Infinity", timestamp: 1, step: 0 },
      ],
    });
    const got = await server.client.getRun(run.info.run_id);
    const values = Object.fromEntries((got.data.metrics ?? []).map((m) => [m.key, m.value]));
    expect(values).toEqual({ a: "NaN", b: "Infinity" });
  });

  it("records logged models (MLflow 3) and finalizes them", async () => {
    const id = await server.client.createExperiment("logged-models");
    const run = await server.client.createRun({ experiment_id: id });
    const created = await server.client.createLoggedModel({
      experiment_id: id,
      name: "model",
      source_run_id: run.info.run_id,
      params: [{ key: "depth", value: "5" }],
    });
    expect(created.info).toMatchObject({ experiment_id: id, name: "model", status: "LOGGED_MODEL_PENDING" });
    // MLflow 3's log_model: upload the files under the model's artifact_uri, finalize, link to the run.
    expect(created.info.artifact_uri).toMatch(/^mlflow-artifacts:\//);
    const modelRoot = created.info.artifact_uri.replace(/^mlflow-artifacts:\/+/, "");
    await server.client.uploadArtifact(`${modelRoot}/MLmodel`, new TextEncoder().encode("flavors: {}"));
    const ready = await server.client.finalizeLoggedModel(created.info.model_id, "LOGGED_MODEL_READY");
    const linked = await http(
      mlflow("runs/outputs"),
      "POST",
      JSON.stringify({ run_id: run.info.run_id, models: [{ model_id: created.info.model_id, step: 0 }] }),
    );
    expect(linked.status).toBe(200);
    const runTags = (await server.client.getRun(run.info.run_id)).data.tags ?? [];
    expect(runTags).toContainEqual({ key: `keel.output.model.${created.info.model_id}`, value: "0" });
    const badLink = await http(
      mlflow("runs/outputs"),
      "POST",
      JSON.stringify({ run_id: run.info.run_id, models: [{ model_id: "m-missing", step: 0 }] }),
    );
    expect(badLink.status).toBe(404);
    expect(new TextDecoder().decode(await server.client.downloadArtifact(`${modelRoot}/MLmodel`))).toBe("flavors: {}");
    expect(ready.info.status).toBe("LOGGED_MODEL_READY");
    const got = await server.client.getLoggedModel(created.info.model_id);
    expect(got.data.params).toEqual([{ key: "depth", value: "5" }]);
    const found = await server.client.searchLoggedModels({ experiment_ids: [id] });
    expect(found.models?.map((m) => m.info.model_id)).toEqual([created.info.model_id]);
    const badStatus = await http(
      mlflow(`logged-models/${created.info.model_id}`),
      "PATCH",
      JSON.stringify({ status: "DONE" }),
    );
    expect(badStatus.status).toBe(400);
  });

  it("manages registry webhooks under /api/keel/webhooks", async () => {
    const hook = await server.client.createWebhook({
      url: "http://127.0.0.1:9/hook",
      events: ["MODEL_VERSION_CREATED"],
      model_name: "m",
      secret: "webhook-secret-for-tests",
    });
    expect(hook).toMatchObject({ url: "http://127.0.0.1:9/hook", events: ["MODEL_VERSION_CREATED"], model_name: "m" });
    expect((await server.client.listWebhooks()).map((w) => w.id)).toContain(hook.id);
    const bad = await http(
      `${server.url}/api/keel/webhooks`,
      "POST",
      JSON.stringify({ url: "http://x", events: ["NOPE"] }),
    );
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain("events[0]");
    await server.client.deleteWebhook(hook.id);
    expect((await server.client.listWebhooks()).map((w) => w.id)).not.toContain(hook.id);
  });
});

describe("health", () => {
  it("answers /health with OK and /version with the package version, as MLflow's server does", async () => {
    const health = await fetch(`${server.url}/health`);
    expect([health.status, await health.text()]).toEqual([200, "OK"]);
    const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    const res = await fetch(`${server.url}/version`);
    expect(await res.text()).toBe(version);
  });
});

describe("GET with query parameters", () => {
  it("reads repeated keys as lists and numbers from text, as MLflow's GET clients send them", async () => {
    const a = await server.client.createExperiment("query-a");
    const b = await server.client.createExperiment("query-b");
    const ra = await server.client.createRun({ experiment_id: a });
    const rb = await server.client.createRun({ experiment_id: b });
    const res = await http(
      mlflow(`runs/search?experiment_ids=${a}&experiment_ids=${b}&max_results=10&order_by=attributes.start_time%20ASC`),
      "GET",
    );
    expect(res.status).toBe(200);
    const ids = (res.json.runs as { info: { run_id: string } }[]).map((r) => r.info.run_id).sort();
    expect(ids).toEqual([ra.info.run_id, rb.info.run_id].sort());
  });
});
