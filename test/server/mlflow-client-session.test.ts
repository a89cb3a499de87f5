import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshPostgresUri, startTestServer } from "./helpers.js";
import type { TestServer } from "./helpers.js";

/**
 * The HTTP calls MLflow's python client (RestStore / RestStore for the registry) makes, in its
 * order, with its methods and its JSON: POST bodies built by message_to_json (int64 as numbers,
 * empty fields left out) and GETs with the same fields as query parameters (booleans as
 * "True"/"False", repeated fields as repeated keys).
 */
describe.each([
  ["SQLite", undefined],
  ["PostgreSQL", freshPostgresUri("session")],
])("an MLflow client session against keel server on %s", (_backend, backendStoreUri) => {
  let server: TestServer;
  let api: (method: string, endpoint: string, params?: Record<string, unknown>) => Promise<Record<string, unknown>>;

  beforeAll(async () => {
    server = await startTestServer(backendStoreUri === undefined ? {} : { backendStoreUri });
    api = async (method, endpoint, params = {}) => {
      let url = `${server.url}/api/2.0/mlflow/${endpoint}`;
      const init: RequestInit = { method, headers: { "User-Agent": "mlflow-python-client/2.16.2" } };
      if (method === "GET") {
        const q = new URLSearchParams();
        for (const [k, v] of Object.entries(params)) {
          for (const item of Array.isArray(v) ? (v as unknown[]) : [v]) {
            q.append(k, typeof item === "boolean" ? (item ? "True" : "False") : String(item));
          }
        }
        url += `?${q.toString()}`;
      } else {
        init.headers = { ...init.headers, "Content-Type": "application/json" };
        init.body = JSON.stringify(params);
      }
      const res = await fetch(url, init);
      const body = (await res.json()) as Record<string, unknown>;
      if (res.status !== 200) throw new Error(`${method} ${endpoint} → ${res.status} ${JSON.stringify(body)}`);
      return body;
    };
  });

  afterAll(async () => {
    await server.close();
  });

  it("tracks an experiment, runs, params, metrics with steps and tags, searches and reads history", async () => {
    // mlflow.set_experiment("loan-default"): get-by-name (404), then create.
    const missing = await fetch(`${server.url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=loan-default`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error_code: "RESOURCE_DOES_NOT_EXIST" });
    const { experiment_id: experimentId } = (await api("POST", "experiments/create", { name: "loan-default" })) as {
      experiment_id: string;
    };
    expect(typeof experimentId).toBe("string");
    const { experiment } = (await api("GET", "experiments/get-by-name", { experiment_name: "loan-default" })) as {
      experiment: Record<string, unknown>;
    };
    expect(experiment).toMatchObject({ experiment_id: experimentId, name: "loan-default", lifecycle_stage: "active" });
    expect(typeof experiment.creation_time).toBe("number");

    // mlflow.start_run(): runs/create with the context tags the client adds.
    const t0 = 1_700_000_000_000;
    const runIds: string[] = [];
    for (const [i, model] of ["gbdt", "linear", "gbdt"].entries()) {
      const { run } = (await api("POST", "runs/create", {
        experiment_id: experimentId,
        user_id: "alice",
        start_time: t0 + i,
        tags: [
          { key: "mlflow.user", value: "alice" },
          { key: "mlflow.source.name", value: "train.py" },
          { key: "mlflow.runName", value: `run-${i}` },
        ],
        run_name: `run-${i}`,
      })) as { run: { info: Record<string, unknown> } };
      expect(run.info).toMatchObject({ experiment_id: experimentId, status: "RUNNING", run_name: `run-${i}` });
      const runId = run.info.run_id as string;
      expect(run.info.run_uuid).toBe(runId);
      runIds.push(runId);

      // mlflow.log_params / log_metrics / set_tags go through log-batch.
      await api("POST", "runs/log-batch", {
        run_id: runId,
        metrics: [0, 1, 2].map((step) => ({
          key: "auc",
          value: 0.7 + 0.05 * step + 0.01 * i,
          timestamp: t0 + step,
          step,
        })),
        params: [
          { key: "model", value: model },
          { key: "max_depth", value: "5" },
        ],
        tags: [{ key: "team", value: "risk" }],
      });
      // mlflow.log_metric / log_param / set_tag send both run_id and the older run_uuid.
      await api("POST", "runs/log-metric", {
        run_id: runId,
        run_uuid: runId,
        key: "loss",
        value: 0.5 - 0.1 * i,
        timestamp: t0 + 10,
        step: 3,
      });
      await api("POST", "runs/log-parameter", { run_id: runId, run_uuid: runId, key: "seed", value: "42" });
      await api("POST", "runs/set-tag", { run_id: runId, run_uuid: runId, key: "stage", value: "dev" });
      // mlflow.end_run()
      await api("POST", "runs/update", {
        run_id: runId,
        run_uuid: runId,
        status: "FINISHED",
        end_time: t0 + 100,
        run_name: `run-${i}`,
      });
    }

    // MlflowClient.get_run: GET with run_uuid and run_id.
    const { run } = (await api("GET", "runs/get", { run_uuid: runIds[2], run_id: runIds[2] })) as {
      run: { info: Record<string, unknown>; data: Record<string, { key: string; value: unknown; step?: number }[]> };
    };
    expect(run.info.status).toBe("FINISHED");
    expect(run.info.end_time).toBe(t0 + 100);
    const auc = run.data.metrics!.find((m) => m.key === "auc");
    // Latest value as MLflow picks it: the max step (2): 0.7 + 0.1 + 0.02.
    expect(auc?.step).toBe(2);
    expect(auc?.value).toBeCloseTo(0.82, 12);
    expect(Object.fromEntries(run.data.params!.map((p) => [p.key, p.value]))).toEqual({
      model: "gbdt",
      max_depth: "5",
      seed: "42",
    });
    expect(run.data.tags!.find((t) => t.key === "team")?.value).toBe("risk");

    // mlflow.search_runs(filter_string=..., order_by=...): POST runs/search.
    const found = (await api("POST", "runs/search", {
      experiment_ids: [experimentId],
      filter: "metrics.auc > 0.805 and params.model = 'gbdt'",
      run_view_type: "ACTIVE_ONLY",
      max_results: 1000,
      order_by: ["metrics.auc DESC"],
    })) as { runs?: { info: { run_id: string } }[] };
    // Run 0 (gbdt) ends at auc 0.80; run 1 is linear; only run 2 (0.82) passes.
    expect(found.runs?.map((r) => r.info.run_id)).toEqual([runIds[2]]);

    const ordered = (await api("POST", "runs/search", {
      experiment_ids: [experimentId],
      run_view_type: "ACTIVE_ONLY",
      max_results: 2,
      order_by: ["metrics.loss ASC"],
    })) as { runs?: { info: { run_id: string } }[]; next_page_token?: string };
    expect(ordered.runs?.map((r) => r.info.run_id)).toEqual([runIds[2], runIds[1]]);
    expect(typeof ordered.next_page_token).toBe("string");
    const rest = (await api("POST", "runs/search", {
      experiment_ids: [experimentId],
      run_view_type: "ACTIVE_ONLY",
      max_results: 2,
      order_by: ["metrics.loss ASC"],
      page_token: ordered.next_page_token,
    })) as { runs?: { info: { run_id: string } }[]; next_page_token?: string };
    expect(rest.runs?.map((r) => r.info.run_id)).toEqual([runIds[0]]);
    expect(rest.next_page_token).toBeUndefined();

    // MlflowClient.get_metric_history: GET with run_id, run_uuid, metric_key.
    const history = (await api("GET", "metrics/get-history", {
      run_id: runIds[1],
      run_uuid: runIds[1],
      metric_key: "auc",
    })) as { metrics: { key: string; value: number; timestamp: number; step: number }[] };
    expect(history.metrics.map((m) => [m.step, m.timestamp])).toEqual([
      [0, t0],
      [1, t0 + 1],
      [2, t0 + 2],
    ]);
    // Doubles come back bit for bit as they were sent.
    expect(history.metrics.map((m) => m.value)).toEqual([0, 1, 2].map((step) => 0.7 + 0.05 * step + 0.01 * 1));

    // The registry: mlflow.register_model(f"runs:/{run_id}/model", "loan-default").
    await api("POST", "registered-models/create", { name: "loan-default" });
    const { model_version: mv } = (await api("POST", "model-versions/create", {
      name: "loan-default",
      source: `runs:/${runIds[2]}/model`,
      run_id: runIds[2],
    })) as { model_version: Record<string, unknown> };
    expect(mv).toMatchObject({ name: "loan-default", version: "1", current_stage: "None", run_id: runIds[2] });
    // The client polls until the version is READY.
    const { model_version: polled } = (await api("GET", "model-versions/get", {
      name: "loan-default",
      version: "1",
    })) as {
      model_version: Record<string, unknown>;
    };
    expect(polled.status).toBe("READY");
    await api("POST", "model-versions/create", {
      name: "loan-default",
      source: `runs:/${runIds[0]}/model`,
      run_id: runIds[0],
    });

    // MlflowClient.set_registered_model_alias / transition_model_version_stage.
    await api("POST", "registered-models/alias", { name: "loan-default", alias: "champion", version: "1" });
    const { model_version: moved } = (await api("POST", "model-versions/transition-stage", {
      name: "loan-default",
      version: "1",
      stage: "Production",
      archive_existing_versions: false,
    })) as { model_version: Record<string, unknown> };
    expect(moved.current_stage).toBe("Production");
    await api("POST", "model-versions/transition-stage", {
      name: "loan-default",
      version: "2",
      stage: "staging",
      archive_existing_versions: false,
    });

    // MlflowClient.get_model_version_by_alias: GET registered-models/alias.
    const { model_version: champion } = (await api("GET", "registered-models/alias", {
      name: "loan-default",
      alias: "champion",
    })) as { model_version: Record<string, unknown> };
    expect(champion).toMatchObject({ version: "1", current_stage: "Production", aliases: ["champion"] });

    // MlflowClient.get_latest_versions: POST with stages.
    const latest = (await api("POST", "registered-models/get-latest-versions", {
      name: "loan-default",
      stages: ["Production", "Staging"],
    })) as { model_versions: { version: string; current_stage: string }[] };
    expect(latest.model_versions.map((v) => [v.version, v.current_stage]).sort()).toEqual([
      ["1", "Production"],
      ["2", "Staging"],
    ]);

    // MlflowClient.get_registered_model and search_model_versions (GET).
    const { registered_model: rm } = (await api("GET", "registered-models/get", { name: "loan-default" })) as {
      registered_model: { aliases: { alias: string; version: string }[] };
    };
    expect(rm.aliases).toEqual([{ alias: "champion", version: "1" }]);
    const versions = (await api("GET", "model-versions/search", {
      filter: "name='loan-default'",
      max_results: 10000,
    })) as { model_versions: { version: string }[] };
    expect(versions.model_versions.map((v) => v.version).sort()).toEqual(["1", "2"]);
  });
});
