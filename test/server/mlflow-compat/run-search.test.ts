/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment --
   MLflow's JSON answers are read field by field, as MLflow's own REST tests read response.json(). */
import { beforeAll, describe, expect, it } from "vitest";
import { type MlflowApi, describeOnBackends } from "./harness.js";

/**
 * MLflow's run search (filter, order, paging, view types) over HTTP against keel's server, each case
 * named after the MLflow test whose behaviour it checks (`tests/store/tracking/test_sqlalchemy_store.py`,
 * `tests/utils/test_search_utils.py`); the requests and expectations are written anew from that behaviour.
 */
let api: MlflowApi;

describeOnBackends((opened) => (api = opened), cases);

function cases(): void {
  describe("run search (test_sqlalchemy_store.py, test_search_utils.py)", () => {
    let exp = "";
    const ids: Record<string, string> = {};
    beforeAll(async () => {
      exp = await api.newExperiment("run search");
      for (const [name, metric, param, start] of [
        ["run_name1", 1, "A", 1000],
        ["run_name2", 3, "B", 2000],
        ["run_name3", 2, "a", 3000],
      ] as const) {
        const id = await api.newRun(exp, {
          run_name: name,
          start_time: start,
          tags: [{ key: "team", value: name === "run_name3" ? "Risk" : "risk" }],
        });
        await api.ok("POST", "runs/log-batch", {
          run_id: id,
          metrics: [{ key: "auc", value: metric, timestamp: 1, step: 0 }],
          params: [{ key: "model", value: param }],
        });
        ids[name] = id;
      }
    });

    it("test_search_runs_run_name: attributes.run_name and the `Run name` / `run name` aliases", async () => {
      expect(await api.searchRunIds(exp, { filter: "attributes.run_name = 'run_name1'" })).toEqual([ids.run_name1]);
      expect(await api.searchRunIds(exp, { filter: "attributes.`Run name` = 'run_name1'" })).toEqual([ids.run_name1]);
      expect(await api.searchRunIds(exp, { filter: "attributes.`run name` = 'run_name2'" })).toEqual([ids.run_name2]);
      expect(await api.searchRunIds(exp, { filter: "tags.`mlflow.runName` = 'run_name2'" })).toEqual([ids.run_name2]);
    });

    it("test_search_runs_start_time_alias: created and Created mean start_time", async () => {
      expect(
        await api.searchRunIds(exp, { filter: "attributes.created >= 2000", order_by: ["attributes.start_time ASC"] }),
      ).toEqual([ids.run_name2, ids.run_name3]);
      expect(await api.searchRunIds(exp, { filter: "attributes.Created < 2000" })).toEqual([ids.run_name1]);
      expect(await api.searchRunIds(exp, { order_by: ["attributes.created ASC"] })).toEqual([
        ids.run_name1,
        ids.run_name2,
        ids.run_name3,
      ]);
    });

    it("test_search_metrics: comparisons on a metric", async () => {
      expect(await api.searchRunIds(exp, { filter: "metrics.auc > 1", order_by: ["metrics.auc DESC"] })).toEqual([
        ids.run_name2,
        ids.run_name3,
      ]);
      expect(await api.searchRunIds(exp, { filter: "metrics.auc = 2" })).toEqual([ids.run_name3]);
      expect(await api.searchRunIds(exp, { filter: "metrics.auc != 2", order_by: ["metrics.auc ASC"] })).toEqual([
        ids.run_name1,
        ids.run_name2,
      ]);
    });

    it("test_search_params: =, !=, LIKE (case-sensitive) and ILIKE on params", async () => {
      expect(await api.searchRunIds(exp, { filter: "params.model = 'A'" })).toEqual([ids.run_name1]);
      expect(await api.searchRunIds(exp, { filter: "params.model LIKE 'a'" })).toEqual([ids.run_name3]);
      expect(new Set(await api.searchRunIds(exp, { filter: "params.model ILIKE 'a'" }))).toEqual(
        new Set([ids.run_name1, ids.run_name3]),
      );
      expect(new Set(await api.searchRunIds(exp, { filter: "params.model != 'A'" }))).toEqual(
        new Set([ids.run_name2, ids.run_name3]),
      );
    });

    it("test_search_tags: tag comparisons, backticked keys", async () => {
      expect(new Set(await api.searchRunIds(exp, { filter: "tags.team = 'risk'" }))).toEqual(
        new Set([ids.run_name1, ids.run_name2]),
      );
      expect(await api.searchRunIds(exp, { filter: "tags.`team` LIKE 'R%'" })).toEqual([ids.run_name3]);
      expect((await api.searchRunIds(exp, { filter: "tags.team ILIKE 'r%'" })).length).toBe(3);
    });

    it("test_search_runs_run_id: attributes.run_id IN and NOT IN lists", async () => {
      const inList = await api.searchRunIds(exp, {
        filter: `attributes.run_id IN ('${ids.run_name1}', '${ids.run_name3}')`,
        order_by: ["attributes.start_time ASC"],
      });
      expect(inList).toEqual([ids.run_name1, ids.run_name3]);
      expect(
        await api.searchRunIds(exp, { filter: `attributes.run_id NOT IN ('${ids.run_name1}', '${ids.run_name3}')` }),
      ).toEqual([ids.run_name2]);
    });

    it("test_search_full: metric, param and tag filters joined by AND", async () => {
      expect(
        await api.searchRunIds(exp, { filter: "metrics.auc >= 1 and params.model != 'B' and tags.team = 'risk'" }),
      ).toEqual([ids.run_name1]);
    });

    it("test_search_attrs: status and the attribute prefixes attr. and run.", async () => {
      expect((await api.searchRunIds(exp, { filter: "attributes.status = 'RUNNING'" })).length).toBe(3);
      expect((await api.searchRunIds(exp, { filter: "attr.status = 'FINISHED'" })).length).toBe(0);
      expect(await api.searchRunIds(exp, { filter: "run.run_name = 'run_name3'" })).toEqual([ids.run_name3]);
    });

    it("test_order_by_attributes: start_time descending by default", async () => {
      expect(await api.searchRunIds(exp)).toEqual([ids.run_name3, ids.run_name2, ids.run_name1]);
    });

    it("test_order_by_metric_tag_param: order by a param and by a tag", async () => {
      expect(await api.searchRunIds(exp, { order_by: ["params.model ASC"] })).toEqual([
        ids.run_name1,
        ids.run_name2,
        ids.run_name3,
      ]);
      expect((await api.searchRunIds(exp, { order_by: ["tags.team DESC"] }))[2]).toBe(ids.run_name3);
    });

    it("test_search_runs_pagination: pages of max_results with tokens; no token after the last", async () => {
      const e = await api.newExperiment("test_search_runs_pagination");
      const runs = [];
      for (let i = 0; i < 10; i++) runs.push(await api.newRun(e, { start_time: 1000 }));
      runs.sort();
      const p1 = await api.ok("POST", "runs/search", { experiment_ids: [e], max_results: 4 });
      expect((p1.runs as { info: { run_id: string } }[]).map((r) => r.info.run_id)).toEqual(runs.slice(0, 4));
      const p2 = await api.ok("POST", "runs/search", {
        experiment_ids: [e],
        max_results: 4,
        page_token: p1.next_page_token,
      });
      expect((p2.runs as { info: { run_id: string } }[]).map((r) => r.info.run_id)).toEqual(runs.slice(4, 8));
      const p3 = await api.ok("POST", "runs/search", {
        experiment_ids: [e],
        max_results: 4,
        page_token: p2.next_page_token,
      });
      expect((p3.runs as { info: { run_id: string } }[]).map((r) => r.info.run_id)).toEqual(runs.slice(8));
      expect(p3.next_page_token).toBeUndefined();
    });

    it("test_search_with_max_results: MLflow's default page is 1000 runs", async () => {
      const e = await api.newExperiment("default page");
      const metrics = Array.from({ length: 1 }, () => ({}));
      expect(metrics).toHaveLength(1);
      const ids1001: string[] = [];
      for (let i = 0; i < 1001; i++) ids1001.push(await api.newRun(e, { start_time: i }));
      const page = await api.ok("POST", "runs/search", { experiment_ids: [e] });
      expect(page.runs).toHaveLength(1000);
      expect(typeof page.next_page_token).toBe("string");
    }, 120_000);

    it("test_search_validation: max_results above MLflow's limit is 400", async () => {
      const r = await api.post("runs/search", { experiment_ids: [exp], max_results: 123456789 });
      expect(r.status).toBe(400);
      expect(r.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    });

    it("test_search_runs_datasets: dataset name, digest and context filters", async () => {
      const e = await api.newExperiment("dataset search");
      const a = await api.newRun(e);
      const b = await api.newRun(e);
      const ds = (name: string, digest: string, context: string) => ({
        tags: [{ key: "mlflow.data.context", value: context }],
        dataset: { name, digest, source_type: "local", source: `/d/${name}` },
      });
      await api.ok("POST", "runs/log-inputs", { run_id: a, datasets: [ds("train", "d1", "training")] });
      await api.ok("POST", "runs/log-inputs", { run_id: b, datasets: [ds("eval", "d2", "evaluation")] });
      expect(await api.searchRunIds(e, { filter: "dataset.name = 'train'" })).toEqual([a]);
      expect(await api.searchRunIds(e, { filter: "datasets.digest IN ('d2')" })).toEqual([b]);
      expect(await api.searchRunIds(e, { filter: "dataset.context = 'evaluation'" })).toEqual([b]);
    });

    it("test_order_by_metric_with_nans_infs_nones: NaN after every number, runs without the metric last", async () => {
      const e = await api.newExperiment("nan order");
      const byValue: Record<string, string> = {};
      for (const v of ["NaN", "Infinity", "-Infinity", -1000, 0, 1000, "none"]) {
        const id = await api.newRun(e);
        if (v !== "none") await api.ok("POST", "runs/log-metric", { run_id: id, key: "x", value: v, timestamp: 1 });
        byValue[String(v)] = id;
      }
      const order = async (dir: string) =>
        (await api.searchRunIds(e, { order_by: [`metrics.x ${dir}`] })).map((id) =>
          Object.keys(byValue).find((k) => byValue[k] === id),
        );
      expect(await order("ASC")).toEqual(["-Infinity", "-1000", "0", "1000", "Infinity", "NaN", "none"]);
      expect(await order("DESC")).toEqual(["Infinity", "1000", "0", "-1000", "-Infinity", "NaN", "none"]);
    });

    it("test_search_runs_keep_all_runs_when_sorting: ordering by a tag some runs lack keeps them all", async () => {
      const e = await api.newExperiment("keep all");
      const a = await api.newRun(e, { tags: [{ key: "t1", value: "1" }] });
      const b = await api.newRun(e);
      expect(new Set(await api.searchRunIds(e, { order_by: ["tags.t1 ASC"] }))).toEqual(new Set([a, b]));
    });

    it("test_search_utils.py::test_invalid_comparators: a string comparison on a metric is refused", async () => {
      const r = await api.post("runs/search", { experiment_ids: [exp], filter: "metrics.auc LIKE '1%'" });
      expect(r.status).toBe(400);
      expect(r.json.error_code).toBe("INVALID_PARAMETER_VALUE");
      const unquoted = await api.post("runs/search", { experiment_ids: [exp], filter: "params.model = A" });
      expect(unquoted.status).toBe(400);
    });

    it("test_search_utils.py::test_invalid_comparators: IS NULL is not a tag or param comparator", async () => {
      for (const filter of ["tags.team IS NULL", "params.model IS NOT NULL"]) {
        const r = await api.post("runs/search", { experiment_ids: [exp], filter });
        expect({ filter, status: r.status, code: r.json.error_code }).toEqual({
          filter,
          status: 400,
          code: "INVALID_PARAMETER_VALUE",
        });
      }
    });

    it("test_search_utils.py::test_filter_with_or: OR is not part of the grammar", async () => {
      const r = await api.post("runs/search", { experiment_ids: [exp], filter: "metrics.auc > 1 or metrics.auc < 0" });
      expect(r.status).toBe(400);
      expect(r.json.message).toContain("OR is not supported");
    });

    it("test_search_runs: run_view_type as name and as number (DELETED_ONLY = 2)", async () => {
      const e = await api.newExperiment("view types");
      const live = await api.newRun(e);
      const gone = await api.newRun(e);
      await api.ok("POST", "runs/delete", { run_id: gone });
      expect(await api.searchRunIds(e, { run_view_type: "DELETED_ONLY" })).toEqual([gone]);
      expect(await api.searchRunIds(e, { run_view_type: 2 })).toEqual([gone]);
      expect(await api.searchRunIds(e, { run_view_type: 1 })).toEqual([live]);
      expect(new Set(await api.searchRunIds(e, { run_view_type: "ALL" }))).toEqual(new Set([live, gone]));
    });
  });
}
