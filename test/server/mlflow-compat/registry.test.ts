/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return --
   MLflow's JSON answers are read field by field, as MLflow's own REST tests read response.json(). */
import { beforeAll, describe, expect, it } from "vitest";
import { asMap, type MlflowApi, describeOnBackends } from "./harness.js";

/**
 * MLflow's model registry and MLflow 3 logged-model REST behaviour against keel's server over
 * HTTP. Each case is named after the MLflow test whose behaviour it checks
 * (`tests/tracking/test_model_registry.py`, `tests/store/model_registry/test_sqlalchemy_store.py`,
 * `tests/tracking/test_logged_model.py`, `tests/genai/prompts`).
 */
let api: MlflowApi;

const model = async (name: string) =>
  (await api.ok("GET", `registered-models/get?name=${encodeURIComponent(name)}`)).registered_model;
const modelNames = async (body: Record<string, unknown>) => {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await api.ok("POST", "registered-models/search", {
      ...body,
      ...(token === undefined ? {} : { page_token: token }),
    });
    out.push(...((page.registered_models ?? []) as { name: string }[]).map((m) => m.name));
    token = page.next_page_token;
  } while (token !== undefined && token !== "");
  return out;
};
const newVersion = async (name: string, extra: Record<string, unknown> = {}) =>
  (await api.ok("POST", "model-versions/create", { name, source: "runs:/run_id/model", ...extra })).model_version;

describeOnBackends((opened) => (api = opened), cases);

function cases(): void {
  describe("registered models (test_model_registry.py)", () => {
    it("test_create_and_query_registered_model_flow: tags as strings, empty description, no versions", async () => {
      const created = await api.ok("POST", "registered-models/create", {
        name: "CreateRMTest",
        tags: [
          { key: "key", value: "value" },
          { key: "another key", value: "some other value" },
          { key: "numeric value", value: 12345 },
        ],
      });
      expect(created.registered_model.name).toBe("CreateRMTest");
      const got = await model("CreateRMTest");
      expect(asMap(got.tags)).toEqual({ key: "value", "another key": "some other value", "numeric value": "12345" });
      expect(got.description ?? "").toBe("");
      expect(got.latest_versions ?? []).toEqual([]);
      expect(await modelNames({ filter: "name = 'CreateRMTest'" })).toEqual(["CreateRMTest"]);
      expect(await modelNames({ filter: "" })).toContain("CreateRMTest");
    });

    it("test_search_registered_model_flow_paginated: every filter gives the same names at any page size", async () => {
      const names = Array.from({ length: 29 }, (_, i) => `CreateRMsearch${String(i).padStart(3, "0")}`);
      for (const name of names) await api.ok("POST", "registered-models/create", { name });
      const cases: [string, (n: string) => boolean][] = [
        ["name LIKE 'CreateRMsearch%7'", (n) => n.endsWith("7")],
        ["name ILIKE '%rmsearch%00%'", (n) => n.includes("00")],
        ["name LIKE '%rmsearch%00%'", () => false],
        ["name = 'badname'", () => false],
        ["name = 'CreateRMsearch023'", (n) => n === "CreateRMsearch023"],
      ];
      for (const maxResults of [1, 8, 100]) {
        for (const [filter, keep] of cases) {
          expect({ filter, maxResults, names: await modelNames({ filter, max_results: maxResults }) }).toEqual({
            filter,
            maxResults,
            names: names.filter(keep),
          });
        }
      }
    }, 120_000);

    it("test_update_registered_model_flow: rename moves the model; the old name is gone; description updates", async () => {
      await api.ok("POST", "registered-models/create", { name: "UpdateRMTest" });
      await api.ok("POST", "registered-models/rename", { name: "UpdateRMTest", new_name: "UpdateRMTest 2" });
      const old = await api.get("registered-models/get", { name: "UpdateRMTest" });
      expect(old.status).toBe(404);
      expect(old.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
      await api.ok("PATCH", "registered-models/update", { name: "UpdateRMTest 2", description: "This is a test" });
      expect((await model("UpdateRMTest 2")).description).toBe("This is a test");
    });

    it("test_delete_registered_model_flow: a taken name is refused; a deleted model is gone and its name reusable", async () => {
      await api.ok("POST", "registered-models/create", { name: "DeleteRMTest" });
      const again = await api.post("registered-models/create", { name: "DeleteRMTest" });
      expect(again.status).toBe(400);
      expect(again.json.error_code).toBe("RESOURCE_ALREADY_EXISTS");
      await api.ok("DELETE", "registered-models/delete", { name: "DeleteRMTest" });
      expect((await api.get("registered-models/get", { name: "DeleteRMTest" })).status).toBe(404);
      const rename = await api.post("registered-models/rename", { name: "DeleteRMTest", new_name: "something else" });
      expect(rename.status).toBe(404);
      expect(await modelNames({ filter: "name = 'DeleteRMTest'" })).toEqual([]);
      await api.ok("POST", "registered-models/create", { name: "DeleteRMTest" });
      expect(await modelNames({ filter: "name = 'DeleteRMTest'" })).toEqual(["DeleteRMTest"]);
    });

    it("test_set_delete_registered_model_tag_flow", async () => {
      await api.ok("POST", "registered-models/create", { name: "SetDeleteRMTagTest" });
      await api.ok("POST", "registered-models/set-tag", { name: "SetDeleteRMTagTest", key: "key", value: "value" });
      await api.ok("POST", "registered-models/set-tag", {
        name: "SetDeleteRMTagTest",
        key: "numeric value",
        value: "12345",
      });
      expect(asMap((await model("SetDeleteRMTagTest")).tags)).toEqual({ key: "value", "numeric value": "12345" });
      await api.ok("DELETE", "registered-models/delete-tag", { name: "SetDeleteRMTagTest", key: "key" });
      expect(asMap((await model("SetDeleteRMTagTest")).tags)).toEqual({ "numeric value": "12345" });
    });

    it("test_set_registered_model_tag_with_empty_string_as_value", async () => {
      await api.ok("POST", "registered-models/create", { name: "SetRMTagEmptyValueTest" });
      await api.ok("POST", "registered-models/set-tag", { name: "SetRMTagEmptyValueTest", key: "tag_key", value: "" });
      expect(asMap((await model("SetRMTagEmptyValueTest")).tags)).toEqual({ tag_key: "" });
    });

    it("test_sqlalchemy_store.py::test_search_registered_models_order_by: name DESC and the default name ASC", async () => {
      for (const n of ["ord-b", "ord-a", "ord-c"]) await api.ok("POST", "registered-models/create", { name: n });
      expect(await modelNames({ filter: "name LIKE 'ord-%'" })).toEqual(["ord-a", "ord-b", "ord-c"]);
      expect(await modelNames({ filter: "name LIKE 'ord-%'", order_by: ["name DESC"] })).toEqual([
        "ord-c",
        "ord-b",
        "ord-a",
      ]);
      const bad = await api.post("registered-models/search", { order_by: ["owner ASC"] });
      expect(bad.status).toBe(400);
    });

    it("test_sqlalchemy_store.py::test_search_registered_models_by_tag", async () => {
      await api.ok("POST", "registered-models/create", { name: "tagged-1", tags: [{ key: "team", value: "risk" }] });
      await api.ok("POST", "registered-models/create", { name: "tagged-2", tags: [{ key: "team", value: "growth" }] });
      expect(await modelNames({ filter: "tags.team = 'risk'" })).toEqual(["tagged-1"]);
      expect(await modelNames({ filter: "tags.`team` LIKE '%o%'" })).toEqual(["tagged-2"]);
    });

    it("handlers.py::_search_registered_models: MLflow's default page is 100 models", async () => {
      for (let i = 0; i < 101; i++) await api.ok("POST", "registered-models/create", { name: `page-${i}` });
      const first = await api.ok("POST", "registered-models/search", {});
      expect((first.registered_models as unknown[]).length).toBe(100);
      expect(typeof first.next_page_token).toBe("string");
      const tooMany = await api.post("registered-models/search", { max_results: 5000 });
      expect(tooMany.status).toBe(400);
    }, 120_000);
  });

  describe("model versions (test_model_registry.py)", () => {
    it("test_create_and_query_model_version_flow: numbers count up; READY; the source and run as given", async () => {
      await api.ok("POST", "registered-models/create", { name: "MV" });
      const v1 = await newVersion("MV", { run_id: "run_id" });
      const v2 = await newVersion("MV");
      expect([v1.version, v2.version]).toEqual(["1", "2"]);
      expect(v1).toMatchObject({
        name: "MV",
        source: "runs:/run_id/model",
        run_id: "run_id",
        status: "READY",
        current_stage: "None",
      });
      const got = (await api.ok("GET", "model-versions/get?name=MV&version=1")).model_version;
      expect(got.version).toBe("1");
    });

    it("test_create_model_version: a version of an unregistered name registers the model (MLflow's register_model)", async () => {
      const v = await newVersion("implicitly-created");
      expect(v.version).toBe("1");
      expect((await model("implicitly-created")).name).toBe("implicitly-created");
    });

    it("test_update_model_version_flow: description; an unknown version is 404", async () => {
      await newVersion("UpdMV");
      await api.ok("PATCH", "model-versions/update", {
        name: "UpdMV",
        version: "1",
        description: "test model version",
      });
      expect((await api.ok("GET", "model-versions/get?name=UpdMV&version=1")).model_version.description).toBe(
        "test model version",
      );
      const missing = await api.call("PATCH", "model-versions/update", {
        name: "UpdMV",
        version: "9",
        description: "x",
      });
      expect(missing.status).toBe(404);
    });

    it("test_latest_models: latest version per stage, filtered by stages", async () => {
      await newVersion("LatestMV");
      await newVersion("LatestMV");
      await newVersion("LatestMV");
      await api.ok("POST", "model-versions/transition-stage", { name: "LatestMV", version: "1", stage: "Production" });
      await api.ok("POST", "model-versions/transition-stage", { name: "LatestMV", version: "2", stage: "staging" });
      const all = await api.ok("POST", "registered-models/get-latest-versions", { name: "LatestMV" });
      const byStage = Object.fromEntries(
        (all.model_versions as { current_stage: string; version: string }[]).map((v) => [v.current_stage, v.version]),
      );
      expect(byStage).toEqual({ None: "3", Staging: "2", Production: "1" });
      const prod = await api.ok("POST", "registered-models/get-latest-versions", {
        name: "LatestMV",
        stages: ["Production"],
      });
      expect((prod.model_versions as { version: string }[]).map((v) => v.version)).toEqual(["1"]);
      const bad = await api.post("model-versions/transition-stage", {
        name: "LatestMV",
        version: "1",
        stage: "Canary",
      });
      expect(bad.status).toBe(400);
    });

    it("test_transition_model_version_stage: archive_existing_versions archives the others in that stage", async () => {
      await newVersion("ArchMV");
      await newVersion("ArchMV");
      await api.ok("POST", "model-versions/transition-stage", { name: "ArchMV", version: "1", stage: "Production" });
      await api.ok("POST", "model-versions/transition-stage", {
        name: "ArchMV",
        version: "2",
        stage: "Production",
        archive_existing_versions: true,
      });
      expect((await api.ok("GET", "model-versions/get?name=ArchMV&version=1")).model_version.current_stage).toBe(
        "Archived",
      );
    });

    it("test_delete_model_version_flow: a deleted version is gone; numbers are not reused", async () => {
      await newVersion("DelMV");
      await newVersion("DelMV");
      await api.ok("DELETE", "model-versions/delete", { name: "DelMV", version: "2" });
      expect((await api.get("model-versions/get", { name: "DelMV", version: "2" })).status).toBe(404);
      expect((await newVersion("DelMV")).version).toBe("3");
    });

    it("test_set_delete_model_version_tag_flow", async () => {
      await newVersion("TagMV");
      await api.ok("POST", "model-versions/set-tag", { name: "TagMV", version: "1", key: "key", value: "value" });
      await api.ok("POST", "model-versions/set-tag", { name: "TagMV", version: "1", key: "empty", value: "" });
      const tags = async () =>
        asMap((await api.ok("GET", "model-versions/get?name=TagMV&version=1")).model_version.tags);
      expect(await tags()).toEqual({ key: "value", empty: "" });
      await api.ok("DELETE", "model-versions/delete-tag", { name: "TagMV", version: "1", key: "key" });
      expect(await tags()).toEqual({ empty: "" });
    });

    it("test_set_registered_model_alias_flow: set, read by alias, listed on model and version, delete", async () => {
      await newVersion("AliasMV");
      await newVersion("AliasMV");
      await api.ok("POST", "registered-models/alias", { name: "AliasMV", alias: "test_alias", version: "1" });
      const byAlias = await api.get("registered-models/alias", { name: "AliasMV", alias: "test_alias" });
      expect(byAlias.json.model_version).toMatchObject({ version: "1", aliases: ["test_alias"] });
      expect((await model("AliasMV")).aliases).toEqual([{ alias: "test_alias", version: "1" }]);
      await api.ok("POST", "registered-models/alias", { name: "AliasMV", alias: "test_alias", version: "2" });
      expect(
        (await api.get("registered-models/alias", { name: "AliasMV", alias: "test_alias" })).json.model_version.version,
      ).toBe("2");
      await api.ok("DELETE", "registered-models/alias", { name: "AliasMV", alias: "test_alias" });
      expect((await api.get("registered-models/alias", { name: "AliasMV", alias: "test_alias" })).status).toBe(404);
    });

    it("test_search_model_versions_filter_string: name, run_id, source and version_number filters", async () => {
      await newVersion("SearchMV-1", { run_id: "r1", source: "s3://b/one" });
      await newVersion("SearchMV-1", { run_id: "r2", source: "s3://b/two" });
      await newVersion("SearchMV-2", { run_id: "r1", source: "s3://b/three" });
      const search = async (filter: string) =>
        (
          (await api.ok("POST", "model-versions/search", { filter })).model_versions as {
            name: string;
            version: string;
          }[]
        ).map((v) => `${v.name}/${v.version}`);
      expect(new Set(await search("run_id = 'r1'"))).toEqual(new Set(["SearchMV-1/1", "SearchMV-2/1"]));
      expect(await search("name = 'SearchMV-1' and version_number = 2")).toEqual(["SearchMV-1/2"]);
      expect(await search("source_path = 's3://b/three'")).toEqual(["SearchMV-2/1"]);
      expect(new Set(await search("name LIKE 'SearchMV-%' and run_id IN ('r2')"))).toEqual(new Set(["SearchMV-1/2"]));
    });

    it("test_search_model_versions_order_by: version_number DESC", async () => {
      for (let i = 0; i < 3; i++) await newVersion("OrderMV");
      const page = await api.ok("POST", "model-versions/search", {
        filter: "name = 'OrderMV'",
        order_by: ["version_number DESC"],
      });
      expect((page.model_versions as { version: string }[]).map((v) => v.version)).toEqual(["3", "2", "1"]);
      const asc = await api.ok("POST", "model-versions/search", {
        filter: "name = 'OrderMV'",
        order_by: ["version_number ASC"],
      });
      expect((asc.model_versions as { version: string }[]).map((v) => v.version)).toEqual(["1", "2", "3"]);
    });

    it("test_search_model_versions_order_by: without order_by, the most recently updated version first", async () => {
      for (let i = 0; i < 3; i++) await newVersion("RecentMV");
      await api.ok("PATCH", "model-versions/update", { name: "RecentMV", version: "2", description: "touched" });
      const page = await api.ok("POST", "model-versions/search", { filter: "name = 'RecentMV'" });
      const got = page.model_versions as { version: string; last_updated_timestamp: number }[];
      // Stated without the clock: sorted by last update (newest first), then by number (highest first).
      const expected = [...got].sort(
        (a, b) => b.last_updated_timestamp - a.last_updated_timestamp || Number(b.version) - Number(a.version),
      );
      expect(got.map((v) => v.version)).toEqual(expected.map((v) => v.version));
    });

    it("test_search_model_versions_max_results: pages with tokens cover every version once", async () => {
      for (let i = 0; i < 5; i++) await newVersion("PagedMV");
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = await api.ok("POST", "model-versions/search", {
          filter: "name = 'PagedMV'",
          max_results: 2,
          ...(token === undefined ? {} : { page_token: token }),
        });
        seen.push(...(page.model_versions as { version: string }[]).map((v) => v.version));
        token = page.next_page_token;
      } while (token !== undefined);
      expect(seen.sort()).toEqual(["1", "2", "3", "4", "5"]);
    });

    it("test_get_model_version_download_uri: runs:/ resolves under the run's artifact root", async () => {
      const exp = (await api.ok("POST", "experiments/create", { name: "download-uri" })).experiment_id;
      const run = (await api.ok("POST", "runs/create", { experiment_id: exp })).run.info;
      const v = await newVersion("DownloadMV", { source: `runs:/${run.run_id}/model`, run_id: run.run_id });
      const uri = await api.get("model-versions/get-download-uri", { name: "DownloadMV", version: v.version });
      expect(uri.json.artifact_uri).toBe(`${run.artifact_uri}/model`);
      const plain = await newVersion("DownloadMV", { source: "s3://bucket/path/model" });
      expect(
        (await api.get("model-versions/get-download-uri", { name: "DownloadMV", version: plain.version })).json
          .artifact_uri,
      ).toBe("s3://bucket/path/model");
    });
  });

  describe("MLflow 3: logged models and prompts", () => {
    let exp = "";
    beforeAll(async () => {
      exp = (await api.ok("POST", "experiments/create", { name: "logged models" })).experiment_id;
    });
    const createLogged = async (extra: Record<string, unknown> = {}) =>
      (await api.ok("POST", "logged-models", { experiment_id: exp, ...extra })).model;

    it("test_logged_model.py::test_create_logged_model: PENDING, an m- id, an artifact location, params and tags", async () => {
      const m = await createLogged({
        name: "clf",
        model_type: "sklearn",
        params: [{ key: "alpha", value: "0.1" }],
        tags: [{ key: "t", value: "v" }],
      });
      expect(m.info).toMatchObject({
        experiment_id: exp,
        name: "clf",
        status: "LOGGED_MODEL_PENDING",
        model_type: "sklearn",
      });
      expect(m.info.model_id).toMatch(/^m-[0-9a-f]+$/);
      expect(m.info.artifact_uri).toContain(m.info.model_id);
      expect(asMap(m.data.params)).toEqual({ alpha: "0.1" });
      expect(asMap(m.info.tags)).toEqual({ t: "v" });
    });

    it("test_logged_model.py::test_finalize_logged_model: status by name or by protobuf number (READY = 2)", async () => {
      const a = await createLogged();
      const byName = await api.ok("PATCH", `logged-models/${a.info.model_id}`, { status: "LOGGED_MODEL_READY" });
      expect(byName.model.info.status).toBe("LOGGED_MODEL_READY");
      const b = await createLogged();
      const byNumber = await api.ok("PATCH", `logged-models/${b.info.model_id}`, { status: 2 });
      expect(byNumber.model.info.status).toBe("LOGGED_MODEL_READY");
      const unknown = await api.call("PATCH", `logged-models/${b.info.model_id}`, { status: 9 });
      expect(unknown.status).toBe(400);
    });

    it("test_logged_model.py::test_search_logged_models: order by a metric, models without it last", async () => {
      const e = (await api.ok("POST", "experiments/create", { name: "logged-model order" })).experiment_id;
      const run = (await api.ok("POST", "runs/create", { experiment_id: e })).run.info.run_id;
      const ids: string[] = [];
      for (const acc of [0.7, 0.9, undefined, 0.8]) {
        const m = (await api.ok("POST", "logged-models", { experiment_id: e })).model.info.model_id as string;
        if (acc !== undefined)
          await api.ok("POST", "runs/log-metric", {
            run_id: run,
            key: "accuracy",
            value: acc,
            timestamp: 1,
            model_id: m,
          });
        ids.push(m);
      }
      const order = async (ascending: boolean) =>
        (
          (
            await api.ok("POST", "logged-models/search", {
              experiment_ids: [e],
              order_by: [{ field_name: "metrics.accuracy", ascending }],
            })
          ).models as { info: { model_id: string } }[]
        ).map((m) => ids.indexOf(m.info.model_id));
      expect(await order(false)).toEqual([1, 3, 0, 2]);
      expect(await order(true)).toEqual([0, 3, 1, 2]);
      const filtered = await api.ok("POST", "logged-models/search", {
        experiment_ids: [e],
        filter: "metrics.accuracy >= 0.8",
      });
      expect(
        (filtered.models as { info: { model_id: string } }[]).map((m) => ids.indexOf(m.info.model_id)).sort(),
      ).toEqual([1, 3]);
    });

    it("test_logged_model.py::test_search_logged_models_datasets: metric filters and order scoped to a dataset", async () => {
      const e = (await api.ok("POST", "experiments/create", { name: "logged-model datasets" })).experiment_id;
      const run = (await api.ok("POST", "runs/create", { experiment_id: e })).run.info.run_id;
      const a = (await api.ok("POST", "logged-models", { experiment_id: e })).model.info.model_id as string;
      const b = (await api.ok("POST", "logged-models", { experiment_id: e })).model.info.model_id as string;
      const log = (model: string, value: number, dataset: string) =>
        api.ok("POST", "runs/log-metric", {
          run_id: run,
          key: "acc",
          value,
          timestamp: 1,
          model_id: model,
          dataset_name: dataset,
          dataset_digest: `${dataset}-digest`,
        });
      // a is better on the validation set, b on the test set.
      await log(a, 0.9, "val");
      await log(a, 0.6, "test");
      await log(b, 0.7, "val");
      await log(b, 0.8, "test");
      const ids = async (body: Record<string, unknown>) =>
        (
          (await api.ok("POST", "logged-models/search", { experiment_ids: [e], ...body })).models as {
            info: { model_id: string };
          }[]
        ).map((m) => m.info.model_id);
      expect(await ids({ filter: "metrics.acc > 0.75", datasets: [{ dataset_name: "val" }] })).toEqual([a]);
      expect(
        await ids({
          filter: "metrics.acc > 0.75",
          datasets: [{ dataset_name: "test", dataset_digest: "test-digest" }],
        }),
      ).toEqual([b]);
      expect(
        await ids({ filter: "metrics.acc > 0.75", datasets: [{ dataset_name: "test", dataset_digest: "other" }] }),
      ).toEqual([]);
      expect(await ids({ order_by: [{ field_name: "metrics.acc", ascending: false, dataset_name: "val" }] })).toEqual([
        a,
        b,
      ]);
      expect(await ids({ order_by: [{ field_name: "metrics.acc", ascending: false, dataset_name: "test" }] })).toEqual([
        b,
        a,
      ]);
      const got = (await api.ok("GET", `logged-models/${a}`)).model.data.metrics as { dataset_name?: string }[];
      expect(got.map((m) => m.dataset_name).sort()).toEqual(["test", "val"]);
    });

    it("test_logged_model.py::test_register_logged_model: runs/outputs, model_id on the version, registrations on the model", async () => {
      const run = (await api.ok("POST", "runs/create", { experiment_id: exp })).run.info.run_id;
      const m = await createLogged({ name: "model", source_run_id: run, params: [{ key: "depth", value: "5" }] });
      const id = m.info.model_id as string;
      await api.ok("POST", "runs/log-metric", {
        run_id: run,
        key: "auc",
        value: 0.91,
        timestamp: 5,
        step: 1,
        model_id: id,
      });
      await api.ok("POST", "runs/outputs", { run_id: run, models: [{ model_id: id, step: 1 }] });
      // MLflow 3's register_model("runs:/<run>/model") reads the run's outputs to find the logged model.
      const got = (await api.ok("GET", `runs/get?run_id=${run}`)).run;
      expect(got.outputs).toEqual({ model_outputs: [{ model_id: id, step: 1 }] });
      const v = await newVersion("LoggedMV", { source: `models:/${id}`, run_id: run, model_id: id });
      expect(v.model_id).toBe(id);
      expect(v.model_params).toEqual([{ name: "depth", value: "5" }]);
      expect(v.model_metrics).toEqual([{ key: "auc", value: 0.91, timestamp: 5, step: 1, model_id: id }]);
      const logged = (await api.ok("GET", `logged-models/${id}`)).model;
      expect(logged.info.registrations).toEqual([{ name: "LoggedMV", version: v.version }]);
      const uri = await api.get("model-versions/get-download-uri", { name: "LoggedMV", version: v.version });
      expect(uri.json.artifact_uri).toBe(m.info.artifact_uri);
      expect(
        (await api.ok("POST", "model-versions/search", { filter: `model_id = '${id}'` })).model_versions,
      ).toHaveLength(1);
    });

    it("test_logged_model.py::test_log_inputs_with_models: a run's model inputs come back as inputs.model_inputs", async () => {
      const run = (await api.ok("POST", "runs/create", { experiment_id: exp })).run.info.run_id;
      const m = await createLogged();
      await api.ok("POST", "runs/log-inputs", { run_id: run, models: [{ model_id: m.info.model_id }] });
      expect((await api.ok("GET", `runs/get?run_id=${run}`)).run.inputs.model_inputs).toEqual([
        { model_id: m.info.model_id },
      ]);
      const unknown = await api.post("runs/log-inputs", { run_id: run, models: [{ model_id: "m-0000" }] });
      expect(unknown.status).toBe(404);
    });

    it("test_create_model_version: a model_id that names no logged model is 404", async () => {
      const r = await api.post("model-versions/create", {
        name: "GhostMV",
        source: "models:/m-deadbeef",
        model_id: "m-deadbeef",
      });
      expect(r.status).toBe(404);
      expect(r.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
    });

    it("test_prompt.py::test_search_prompts: the MLflow >= 2.21 client's prompt filter hides prompts from model search", async () => {
      await api.ok("POST", "registered-models/create", {
        name: "greeting",
        tags: [{ key: "mlflow.prompt.is_prompt", value: "true" }],
      });
      await api.ok("POST", "registered-models/create", { name: "greeting-model" });
      const clientFilter = "name LIKE 'greeting%' AND tag.`mlflow.prompt.is_prompt` != 'true'";
      expect(await modelNames({ filter: clientFilter })).toEqual(["greeting-model"]);
      expect(await modelNames({ filter: "name LIKE 'greeting%'" })).toEqual(["greeting-model"]);
      expect(await modelNames({ filter: "tags.`mlflow.prompt.is_prompt` = 'true' and name LIKE 'greeting%'" })).toEqual(
        ["greeting"],
      );
    });
  });
}
