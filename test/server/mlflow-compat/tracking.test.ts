/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return --
   MLflow's JSON answers are read field by field, as MLflow's own REST tests read response.json(). */
import { beforeAll, describe, expect, it } from "vitest";
import { asMap, type MlflowApi, describeOnBackends } from "./harness.js";

/**
 * MLflow's tracking REST behaviour, case by case, against keel's server over HTTP. Each case is
 * named after the MLflow test whose behaviour it checks (`tests/tracking/test_rest_tracking.py`,
 * `tests/store/tracking/test_sqlalchemy_store.py`, `tests/utils/test_search_utils.py`); the
 * requests and expectations are written anew from that behaviour.
 */
let api: MlflowApi;

describeOnBackends((opened) => (api = opened), cases);

function cases(): void {
  describe("experiments (test_rest_tracking.py)", () => {
    it("test_create_get_search_experiment: tags, view types, pagination", async () => {
      const id = await api.newExperiment("My Experiment", {
        tags: [
          { key: "key1", value: "val1" },
          { key: "key2", value: "val2" },
        ],
      });
      const exp = (await api.ok("GET", `experiments/get?experiment_id=${id}`)).experiment;
      expect(exp.name).toBe("My Experiment");
      expect(asMap(exp.tags)).toEqual({ key1: "val1", key2: "val2" });
      await api.ok("POST", "experiments/delete", { experiment_id: id });
      const names = async (viewType: string | number) =>
        (
          (await api.ok("POST", "experiments/search", { view_type: viewType, max_results: 1000 })).experiments as {
            name: string;
          }[]
        ).map((e) => e.name);
      expect(await names("DELETED_ONLY")).toEqual(["My Experiment"]);
      expect(await names("ACTIVE_ONLY")).not.toContain("My Experiment");
      expect(await names("ALL")).toContain("My Experiment");
      await api.ok("POST", "experiments/restore", { experiment_id: id });
    });

    it("test_create_get_search_experiment: view_type as its protobuf number (Julia's and R's clients)", async () => {
      const id = await api.newExperiment("numbered view");
      await api.ok("POST", "experiments/delete", { experiment_id: id });
      const deleted = await api.ok("POST", "experiments/search", { view_type: 2 });
      expect((deleted.experiments as { name: string }[]).map((e) => e.name)).toContain("numbered view");
      const active = await api.get("experiments/search", { view_type: 1 });
      expect((active.json.experiments as { name: string }[]).map((e) => e.name)).not.toContain("numbered view");
      const bad = await api.post("experiments/search", { view_type: 9 });
      expect(bad.status).toBe(400);
      expect(bad.json.message).toBe("view_type = 9: must be one of ACTIVE_ONLY (1), DELETED_ONLY (2), ALL (3)");
      await api.ok("POST", "experiments/restore", { experiment_id: id });
    });

    it("test_create_experiment_validation: a missing name and a non-list tags field are 400", async () => {
      const missing = await api.post("experiments/create", {});
      expect(missing.status).toBe(400);
      expect(missing.json.message).toContain("Missing value for required parameter 'name'");
      const tags = await api.post("experiments/create", { name: "x-tags", tags: "5" });
      expect(tags.status).toBe(400);
      expect(tags.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    });

    it("test_delete_restore_experiment: lifecycle_stage follows delete and restore", async () => {
      const id = await api.newExperiment("Deleterious");
      const stage = async () => (await api.ok("GET", `experiments/get?experiment_id=${id}`)).experiment.lifecycle_stage;
      expect(await stage()).toBe("active");
      await api.ok("POST", "experiments/delete", { experiment_id: id });
      expect(await stage()).toBe("deleted");
      await api.ok("POST", "experiments/restore", { experiment_id: id });
      expect(await stage()).toBe("active");
    });

    it("test_rename_experiment: experiments/update renames", async () => {
      const id = await api.newExperiment("BadName");
      await api.ok("POST", "experiments/update", { experiment_id: id, new_name: "GoodName" });
      expect((await api.ok("GET", `experiments/get?experiment_id=${id}`)).experiment.name).toBe("GoodName");
    });

    it("test_get_experiment_by_name: found by name; an unknown name is RESOURCE_DOES_NOT_EXIST", async () => {
      const id = await api.newExperiment("test_get_experiment_by_name");
      const got = await api.get("experiments/get-by-name", { experiment_name: "test_get_experiment_by_name" });
      expect(got.json.experiment.experiment_id).toBe(id);
      const none = await api.get("experiments/get-by-name", { experiment_name: "idontexist" });
      expect(none.status).toBe(404);
      expect(none.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
    });

    it("test_get_experiment: by id", async () => {
      const id = await api.newExperiment("test_get_experiment");
      const got = (await api.ok("GET", `experiments/get?experiment_id=${id}`)).experiment;
      expect([got.experiment_id, got.name]).toEqual([id, "test_get_experiment"]);
    });

    it("test_set_experiment_tag: set, overwrite, per experiment, multi-line", async () => {
      const a = await api.newExperiment("SetExperimentTagTest");
      const b = await api.newExperiment("SetExperimentTagTest2");
      await api.ok("POST", "experiments/set-experiment-tag", { experiment_id: a, key: "dataset", value: "imagenet1K" });
      await api.ok("POST", "experiments/set-experiment-tag", { experiment_id: a, key: "dataset", value: "birdbike" });
      await api.ok("POST", "experiments/set-experiment-tag", { experiment_id: b, key: "dataset", value: "birds200" });
      await api.ok("POST", "experiments/set-experiment-tag", {
        experiment_id: a,
        key: "multiline tag",
        value: "v\nv\nv",
      });
      const tagsOf = async (id: string) =>
        asMap((await api.ok("GET", `experiments/get?experiment_id=${id}`)).experiment.tags);
      expect(await tagsOf(a)).toEqual({ dataset: "birdbike", "multiline tag": "v\nv\nv" });
      expect(await tagsOf(b)).toEqual({ dataset: "birds200" });
    });

    it("test_set_experiment_tag_with_empty_string_as_value", async () => {
      const id = await api.newExperiment("empty experiment tag");
      await api.ok("POST", "experiments/set-experiment-tag", { experiment_id: id, key: "tag_key", value: "" });
      expect(asMap((await api.ok("GET", `experiments/get?experiment_id=${id}`)).experiment.tags)).toEqual({
        tag_key: "",
      });
    });
  });

  describe("experiment search (test_rest_tracking.py::test_search_experiments)", () => {
    let prefix = "";
    beforeAll(async () => {
      prefix = "se-";
      await api.newExperiment(`${prefix}a`, { tags: [{ key: "key", value: "value" }] });
      await api.newExperiment(`${prefix}ab`, { tags: [{ key: "key", value: "vaLue" }] });
      await api.newExperiment(`${prefix}Abc`);
    });
    const names = async (body: Record<string, unknown>) =>
      (((await api.ok("POST", "experiments/search", body)).experiments as { name: string }[] | undefined) ?? []).map(
        (e) => e.name,
      );

    it("test_search_experiments: name = and != on attributes", async () => {
      expect(await names({ filter: `attribute.name = '${prefix}a'` })).toEqual([`${prefix}a`]);
      expect(await names({ filter: `attribute.name != '${prefix}a' and name LIKE '${prefix}%'` })).toEqual([
        `${prefix}Abc`,
        `${prefix}ab`,
      ]);
    });

    it("test_search_experiments: LIKE is case-sensitive, tag ILIKE is not", async () => {
      expect(await names({ filter: `name LIKE '${prefix}a%'` })).toEqual([`${prefix}ab`, `${prefix}a`]);
      expect(await names({ filter: "tag.key = 'value'" })).toEqual([`${prefix}a`]);
      expect(await names({ filter: "tag.key != 'value'" })).toEqual([`${prefix}ab`]);
      expect(await names({ filter: "tag.key ILIKE '%alu%'" })).toEqual([`${prefix}ab`, `${prefix}a`]);
    });

    it("test_search_experiments: order_by name DESC", async () => {
      expect(await names({ filter: `name LIKE '${prefix}%'`, order_by: ["name DESC"] })).toEqual([
        `${prefix}ab`,
        `${prefix}a`,
        `${prefix}Abc`,
      ]);
    });

    it("test_search_experiments: max_results and page_token walk the same order", async () => {
      const first = await api.ok("POST", "experiments/search", { filter: `name LIKE '${prefix}%'`, max_results: 2 });
      expect((first.experiments as { name: string }[]).map((e) => e.name)).toEqual([`${prefix}Abc`, `${prefix}ab`]);
      const second = await api.ok("POST", "experiments/search", {
        filter: `name LIKE '${prefix}%'`,
        max_results: 2,
        page_token: first.next_page_token,
      });
      expect((second.experiments as { name: string }[]).map((e) => e.name)).toEqual([`${prefix}a`]);
      expect(second.next_page_token).toBeUndefined();
    });
  });

  describe("runs (test_rest_tracking.py)", () => {
    let exp = "";
    beforeAll(async () => {
      exp = await api.newExperiment("runs");
    });

    it("test_create_run_all_args: start time, name, tags and user as given; run_uuid = run_id", async () => {
      const id = await api.newRun(exp, {
        start_time: 456,
        run_name: "my name",
        user_id: "username",
        tags: [
          { key: "mlflow.source.name", value: "Hello" },
          { key: "my", value: "tag" },
        ],
      });
      const run = await api.getRun(id);
      expect(run.info).toMatchObject({
        run_id: id,
        run_uuid: id,
        experiment_id: exp,
        start_time: 456,
        run_name: "my name",
        user_id: "username",
      });
      expect(asMap(run.data.tags)).toMatchObject({ "mlflow.source.name": "Hello", my: "tag" });
    });

    it("test_create_run_all_args, as Julia's MLFlowClient sends it: experiment_id and start_time as numbers", async () => {
      const r = await api.post("runs/create", { experiment_id: Number(exp), start_time: 789 });
      expect(r.status).toBe(200);
      expect(r.json.run.info).toMatchObject({ experiment_id: exp, start_time: 789 });
    });

    it("test_create_run_defaults: RUNNING, no end time, in the experiment", async () => {
      const run = await api.getRun(await api.newRun(exp));
      expect(run.info.status).toBe("RUNNING");
      expect(run.info.end_time).toBeUndefined();
      expect(run.info.experiment_id).toBe(exp);
    });

    it("test_log_metrics_params_tags: NaN and ±Infinity survive; a step defaults to 0", async () => {
      const id = await api.newRun(exp);
      await api.ok("POST", "runs/log-metric", { run_id: id, key: "metric", value: 123.456, timestamp: 789, step: 2 });
      await api.ok("POST", "runs/log-metric", { run_id: id, key: "nan_metric", value: "NaN", timestamp: 1 });
      await api.ok("POST", "runs/log-metric", { run_id: id, key: "inf_metric", value: "Infinity", timestamp: 1 });
      await api.ok("POST", "runs/log-metric", { run_id: id, key: "-inf_metric", value: "-Infinity", timestamp: 1 });
      await api.ok("POST", "runs/log-metric", { run_id: id, key: "stepless-metric", value: 987.654, timestamp: 321 });
      await api.ok("POST", "runs/log-parameter", { run_id: id, key: "param", value: "value" });
      await api.ok("POST", "runs/set-tag", { run_id: id, key: "taggity", value: "do-dah" });
      const run = await api.getRun(id);
      expect(asMap(run.data.metrics)).toEqual({
        metric: 123.456,
        nan_metric: "NaN",
        inf_metric: "Infinity",
        "-inf_metric": "-Infinity",
        "stepless-metric": 987.654,
      });
      expect(asMap(run.data.params)).toEqual({ param: "value" });
      const history = await api.get("metrics/get-history", { run_id: id, metric_key: "stepless-metric" });
      expect(history.json.metrics).toEqual([{ key: "stepless-metric", value: 987.654, timestamp: 321, step: 0 }]);
      const none = await api.get("metrics/get-history", { run_id: id, metric_key: "a_test_accuracy" });
      expect(none.json.metrics ?? []).toEqual([]);
    });

    it("test_log_metric_validation: missing run_id or key, non-numeric step or timestamp are 400", async () => {
      const id = await api.newRun(exp);
      const cases: [Record<string, unknown>, string][] = [
        [{ key: "foo", value: 31, timestamp: 59, step: 41 }, "Missing value for required parameter 'run_id'"],
        [{ run_id: id, value: 31, timestamp: 59, step: 41 }, "Missing value for required parameter 'key'"],
        [{ run_id: id, key: null, value: 31, timestamp: 59, step: 41 }, "Missing value for required parameter 'key'"],
        [{ run_id: id, key: "foo", value: 31, timestamp: 59, step: "foo" }, 'step = "foo": must be an integer'],
        [{ run_id: id, key: "foo", value: 31, timestamp: "foo", step: 41 }, 'timestamp = "foo": must be an integer'],
      ];
      for (const [body, message] of cases) {
        const r = await api.post("runs/log-metric", body);
        expect({ status: r.status, message: r.json.message }).toEqual({ status: 400, message });
      }
    });

    it("test_log_param_with_empty_string_as_value", async () => {
      const id = await api.newRun(exp);
      await api.ok("POST", "runs/log-parameter", { run_id: id, key: "param_key", value: "" });
      expect(asMap((await api.getRun(id)).data.params)).toEqual({ param_key: "" });
    });

    it("test_set_tag_with_empty_string_as_value", async () => {
      const id = await api.newRun(exp);
      await api.ok("POST", "runs/set-tag", { run_id: id, key: "tag_key", value: "" });
      expect(asMap((await api.getRun(id)).data.tags)).toMatchObject({ tag_key: "" });
    });

    it("test_log_batch_containing_params_and_tags_with_empty_string_values", async () => {
      const id = await api.newRun(exp);
      await api.ok("POST", "runs/log-batch", {
        run_id: id,
        params: [{ key: "param_key", value: "" }],
        tags: [{ key: "tag_key", value: "" }],
      });
      const run = await api.getRun(id);
      expect(asMap(run.data.params)).toEqual({ param_key: "" });
      expect(asMap(run.data.tags)).toMatchObject({ tag_key: "" });
    });

    it("test_set_tag_validation: a missing key is 400; the older run_uuid field is accepted", async () => {
      const id = await api.newRun(exp);
      const missing = await api.post("runs/set-tag", { run_id: id, value: "value" });
      expect(missing.status).toBe(400);
      expect(missing.json.message).toBe("Missing value for required parameter 'key'");
      expect((await api.post("runs/set-tag", { run_uuid: id, key: "key", value: "value" })).status).toBe(200);
    });

    it("test_path_validation: artifacts/list refuses a path that climbs out", async () => {
      const id = await api.newRun(exp);
      const r = await api.get("artifacts/list", { run_id: id, path: "../path" });
      expect(r.status).toBe(400);
      expect(r.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    });

    it("test_delete_tag: the tag is gone; an unknown run is 404; a deleted run refuses", async () => {
      const id = await api.newRun(exp);
      await api.ok("POST", "runs/set-tag", { run_id: id, key: "taggity", value: "do-dah" });
      await api.ok("POST", "runs/delete-tag", { run_id: id, key: "taggity" });
      expect(asMap((await api.getRun(id)).data.tags).taggity).toBeUndefined();
      const unknownRun = await api.post("runs/delete-tag", { run_id: "0".repeat(32), key: "taggity" });
      expect(unknownRun.status).toBe(404);
      const unknownTag = await api.post("runs/delete-tag", { run_id: id, key: "fakeTag" });
      expect(unknownTag.status).toBe(404);
      await api.ok("POST", "runs/delete", { run_id: id });
      const deleted = await api.post("runs/delete-tag", { run_id: id, key: "taggity" });
      expect(deleted.status).toBe(400);
      // MLflow answers INVALID_PARAMETER_VALUE: "The run ... must be in the 'active' state".
      expect(deleted.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    });

    it("test_log_batch: metrics, params and tags in one call", async () => {
      const id = await api.newRun(exp);
      await api.ok("POST", "runs/log-batch", {
        run_id: id,
        metrics: [{ key: "metric", value: 123.456, timestamp: 789, step: 3 }],
        params: [{ key: "param", value: "value" }],
        tags: [{ key: "taggity", value: "do-dah" }],
      });
      const run = await api.getRun(id);
      expect(asMap(run.data.metrics)).toEqual({ metric: 123.456 });
      expect(asMap(run.data.params)).toEqual({ param: "value" });
      const history = await api.get("metrics/get-history", { run_id: id, metric_key: "metric" });
      expect(history.json.metrics).toEqual([{ key: "metric", value: 123.456, timestamp: 789, step: 3 }]);
    });

    it("test_log_batch_validation: non-list fields and a metric without timestamp are 400; no step is fine", async () => {
      const id = await api.newRun(exp);
      for (const field of ["metrics", "params", "tags"]) {
        const r = await api.post("runs/log-batch", { run_id: id, [field]: "foo" });
        expect({ field, status: r.status }).toEqual({ field, status: 400 });
      }
      const noTimestamp = await api.post("runs/log-batch", { run_id: id, metrics: [{ key: "mae", value: 2.5 }] });
      expect(noTimestamp.status).toBe(400);
      const noStep = await api.post("runs/log-batch", {
        run_id: id,
        metrics: [{ key: "mae", value: 2.5, timestamp: 123456789 }],
      });
      expect(noStep.status).toBe(200);
    });

    it("test_log_model: log-model keeps each logged model in mlflow.log-model.history", async () => {
      const id = await api.newRun(exp);
      for (const path of ["model/path/0", "model/path/1"]) {
        await api.ok("POST", "runs/log-model", {
          run_id: id,
          model_json: JSON.stringify({ artifact_path: path, run_id: id }),
        });
      }
      const history = JSON.parse(asMap((await api.getRun(id)).data.tags)["mlflow.log-model.history"] as string) as {
        artifact_path: string;
      }[];
      expect(history.map((m) => m.artifact_path)).toEqual(["model/path/0", "model/path/1"]);
    });

    it("test_set_terminated_defaults: FINISHED with an end time", async () => {
      const id = await api.newRun(exp);
      await api.ok("POST", "runs/update", { run_id: id, status: "FINISHED", end_time: 1000 });
      expect((await api.getRun(id)).info).toMatchObject({ status: "FINISHED", end_time: 1000 });
    });

    it("test_set_terminated_status: the status may be sent as its protobuf number (FAILED = 4)", async () => {
      const id = await api.newRun(exp);
      await api.ok("POST", "runs/update", { run_id: id, status: 4, end_time: 1000 });
      expect((await api.getRun(id)).info.status).toBe("FAILED");
      const bad = await api.post("runs/update", { run_id: id, status: 7 });
      expect(bad.status).toBe(400);
    });

    it("test_delete_restore_run: lifecycle_stage follows delete and restore", async () => {
      const id = await api.newRun(exp);
      await api.ok("POST", "runs/delete", { run_id: id });
      expect((await api.getRun(id)).info.lifecycle_stage).toBe("deleted");
      await api.ok("POST", "runs/restore", { run_id: id });
      expect((await api.getRun(id)).info.lifecycle_stage).toBe("active");
    });

    it("test_get_run: an unknown run id is RESOURCE_DOES_NOT_EXIST", async () => {
      const r = await api.get("runs/get", { run_id: "f".repeat(32) });
      expect(r.status).toBe(404);
      expect(r.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
    });

    it("test_log_inputs: datasets with their context tag come back on the run", async () => {
      const id = await api.newRun(exp);
      await api.ok("POST", "runs/log-inputs", {
        run_id: id,
        datasets: [
          {
            tags: [{ key: "mlflow.data.context", value: "training" }],
            dataset: { name: "loans", digest: "abc123", source_type: "local", source: "/data/loans.csv" },
          },
        ],
      });
      const inputs = (await api.getRun(id)).inputs.dataset_inputs;
      expect(inputs).toEqual([
        {
          tags: [{ key: "mlflow.data.context", value: "training" }],
          dataset: { name: "loans", digest: "abc123", source_type: "local", source: "/data/loans.csv" },
        },
      ]);
    });
  });

  describe("metric history", () => {
    it("test_get_metric_history: the whole history without max_results, past 25,000 points", async () => {
      const exp = await api.newExperiment("long history");
      const id = await api.newRun(exp);
      const total = 26_000;
      for (let start = 0; start < total; start += 1000) {
        const metrics = Array.from({ length: 1000 }, (_, i) => ({
          key: "loss",
          value: (start + i) / total,
          timestamp: 1,
          step: start + i,
        }));
        await api.ok("POST", "runs/log-batch", { run_id: id, metrics });
      }
      const all = await api.get("metrics/get-history", { run_id: id, metric_key: "loss" });
      expect(all.json.metrics).toHaveLength(total);
      expect(all.json.next_page_token).toBeUndefined();
      expect((all.json.metrics as { step: number }[]).at(-1)?.step).toBe(total - 1);
      const page = await api.get("metrics/get-history", { run_id: id, metric_key: "loss", max_results: 10 });
      expect(page.json.metrics).toHaveLength(10);
      expect(typeof page.json.next_page_token).toBe("string");
    });

    it("test_get_metric_history: points come ordered by step, then timestamp", async () => {
      const exp = await api.newExperiment("history order");
      const id = await api.newRun(exp);
      for (const m of [
        { step: 3, timestamp: 1, value: 11 },
        { step: 2, timestamp: 1, value: 10 },
        { step: 3, timestamp: 2, value: 12 },
      ]) {
        await api.ok("POST", "runs/log-metric", { run_id: id, key: "metricA", ...m });
      }
      const h = await api.get("metrics/get-history", { run_id: id, metric_key: "metricA" });
      expect((h.json.metrics as { value: number }[]).map((m) => m.value)).toEqual([10, 11, 12]);
    });
  });

  describe("API surface (mlflow/server/handlers.py)", () => {
    it("unknown routes under the MLflow prefixes are 404 ENDPOINT_NOT_FOUND", async () => {
      for (const path of [
        "/api/2.0/mlflow/runs/does-not-exist",
        "/ajax-api/2.0/mlflow/nothing",
        "/api/3.0/mlflow/unknown",
      ]) {
        const r = await api.call("GET", path);
        expect({ path, status: r.status, code: r.json.error_code }).toEqual({
          path,
          status: 404,
          code: "ENDPOINT_NOT_FOUND",
        });
      }
    });

    it("GET /api/3.0/mlflow/server-info reports a SQL store without workspaces", async () => {
      const r = await api.call("GET", "/api/3.0/mlflow/server-info");
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ store_type: "SqlStore", workspaces_enabled: false });
    });

    it("the UI's /ajax-api prefix answers like /api", async () => {
      const a = await api.call("GET", "/ajax-api/2.0/mlflow/experiments/get?experiment_id=0");
      expect(a.json.experiment.name).toBe("Default");
    });

    it("/health answers OK and /version the version, as text", async () => {
      const h = await fetch(`${api.server.url}/health`);
      expect(await h.text()).toBe("OK");
      const v = await fetch(`${api.server.url}/version`);
      expect(await v.text()).toMatch(/^\d+\.\d+\.\d+/);
    });

    it("GET parameters come from the query string, repeated keys as lists (experiment_ids)", async () => {
      const a = await api.newExperiment("qs-a");
      const b = await api.newExperiment("qs-b");
      const ra = await api.newRun(a);
      const rb = await api.newRun(b);
      const r = await api.get("runs/search", { experiment_ids: [a, b] });
      expect(new Set((r.json.runs as { info: { run_id: string } }[]).map((x) => x.info.run_id))).toEqual(
        new Set([ra, rb]),
      );
    });
  });
}
