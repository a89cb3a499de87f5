import { afterEach, describe, expect, it } from "vitest";
import { ConflictError, InvalidParameterError, KeelError, NotFoundError } from "../../src/errors.js";
import type { Metric, TrackingStore } from "../../src/tracking/types.js";
import { steppingClock, type MakeStores, type TestStores } from "../store/backends.js";

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KeelError) return e.code;
    throw e;
  }
  return "OK";
}

/** The TrackingStore contract, run against every backend. */
export function runTrackingStoreSuite(name: string, make: MakeStores): void {
  describe(`TrackingStore on ${name}`, () => {
    let open: TestStores | undefined;
    afterEach(async () => {
      await open?.close();
      open = undefined;
    });
    async function store(): Promise<TrackingStore> {
      open = await make({ clock: steppingClock() });
      return open.stores.tracking;
    }

    it("has the Default experiment with id 0 after migrate, and migrate is idempotent", async () => {
      const t = await store();
      const d = await t.getExperiment("0");
      expect(d.name).toBe("Default");
      expect(d.lifecycleStage).toBe("active");
      expect((await t.getExperimentByName("Default")).experimentId).toBe("0");
      expect((await open?.stores.migrate())?.applied).toEqual([]);
    });

    it("creates, renames, tags, deletes and restores experiments with MLflow's rules", async () => {
      const t = await store();
      const id = await t.createExperiment("loans", undefined, [{ key: "team", value: "risk" }]);
      expect(id).toBe("1");
      const e = await t.getExperiment(id);
      expect(e.artifactLocation).toBe("mlflow-artifacts:/1");
      expect(e.tags).toEqual([{ key: "team", value: "risk" }]);
      await expect(t.createExperiment("loans")).rejects.toBeInstanceOf(ConflictError);
      expect(await code(t.createExperiment(""))).toBe("INVALID_PARAMETER_VALUE");
      expect(await code(t.getExperiment("999"))).toBe("RESOURCE_DOES_NOT_EXIST");
      expect(await code(t.getExperiment("abc"))).toBe("INVALID_PARAMETER_VALUE");

      await t.renameExperiment(id, "loans-v2");
      expect((await t.getExperimentByName("loans-v2")).experimentId).toBe(id);
      await expect(t.getExperimentByName("loans")).rejects.toBeInstanceOf(NotFoundError);
      await t.setExperimentTag(id, "team", "fraud");
      await t.setExperimentTag(id, "owner", "ana");
      expect((await t.getExperiment(id)).tags).toEqual([
        { key: "owner", value: "ana" },
        { key: "team", value: "fraud" },
      ]);
      await t.deleteExperimentTag(id, "owner");
      expect(await code(t.deleteExperimentTag(id, "owner"))).toBe("RESOURCE_DOES_NOT_EXIST");

      const run = await t.createRun({ experimentId: id });
      await t.deleteExperiment(id);
      expect((await t.getExperiment(id)).lifecycleStage).toBe("deleted");
      expect((await t.getRun(run.info.runId)).info.lifecycleStage).toBe("deleted");
      expect(await code(t.createRun({ experimentId: id }))).toBe("INVALID_PARAMETER_VALUE");
      expect(await code(t.createExperiment("loans-v2"))).toBe("RESOURCE_ALREADY_EXISTS");
      await t.restoreExperiment(id);
      expect((await t.getRun(run.info.runId)).info.lifecycleStage).toBe("active");
      expect(await code(t.deleteExperiment("0"))).toBe("INVALID_PARAMETER_VALUE");
    });

    it("searches experiments by name, tag and view type, ordered and paged", async () => {
      const t = await store();
      for (const n of ["a-risk", "b-fraud", "c-risk", "d-churn"]) {
        const id = await t.createExperiment(n);
        if (n.endsWith("risk")) await t.setExperimentTag(id, "domain", "risk");
      }
      await t.deleteExperiment((await t.getExperimentByName("d-churn")).experimentId);
      const names = async (q: Parameters<TrackingStore["searchExperiments"]>[0]) =>
        (await t.searchExperiments(q)).items.map((e) => e.name);
      expect(await names({ filter: "name LIKE '%risk'", orderBy: ["name DESC"] })).toEqual(["c-risk", "a-risk"]);
      expect(await names({ filter: "tags.domain = 'risk'", orderBy: ["name"] })).toEqual(["a-risk", "c-risk"]);
      expect(await names({ viewType: "DELETED_ONLY" })).toEqual(["d-churn"]);
      // default order: newest first
      expect(await names({})).toEqual(["c-risk", "b-fraud", "a-risk", "Default"]);
      const p1 = await t.searchExperiments({ maxResults: 3, orderBy: ["name"] });
      expect(p1.items.map((e) => e.name)).toEqual(["Default", "a-risk", "b-fraud"]);
      const p2 = await t.searchExperiments({ maxResults: 3, orderBy: ["name"], pageToken: p1.nextPageToken });
      expect(p2.items.map((e) => e.name)).toEqual(["c-risk"]);
      expect(p2.nextPageToken).toBeUndefined();
      expect(await code(t.searchExperiments({ pageToken: "garbage" }))).toBe("INVALID_PARAMETER_VALUE");
      expect(await code(t.searchExperiments({ maxResults: 0 }))).toBe("INVALID_PARAMETER_VALUE");
    });

    it("creates, updates, deletes and restores runs; run name and its tag stay in step", async () => {
      const t = await store();
      const run = await t.createRun({
        experimentId: "0",
        runName: "first",
        userId: "ana",
        tags: [{ key: "k", value: "v" }],
      });
      expect(run.info.runId).toMatch(/^[0-9a-f]{32}$/);
      expect(run.info.status).toBe("RUNNING");
      expect(run.info.artifactUri).toBe(`mlflow-artifacts:/0/${run.info.runId}/artifacts`);
      expect(run.data.tags).toEqual([
        { key: "k", value: "v" },
        { key: "mlflow.runName", value: "first" },
      ]);
      const unnamed = await t.createRun({ experimentId: "0" });
      expect(unnamed.info.runName).toMatch(/^[a-z]+-[a-z]+-\d+$/);

      const info = await t.updateRun(run.info.runId, {
        status: "FINISHED",
        endTime: 1_700_000_999_000,
        runName: "renamed",
      });
      expect(info).toMatchObject({ status: "FINISHED", endTime: 1_700_000_999_000, runName: "renamed" });
      expect((await t.getRun(run.info.runId)).data.tags).toContainEqual({ key: "mlflow.runName", value: "renamed" });
      await t.setTag(run.info.runId, { key: "mlflow.runName", value: "by-tag" });
      expect((await t.getRun(run.info.runId)).info.runName).toBe("by-tag");
      // A batch naming the run twice: the last name wins, for the tag and the run alike.
      await t.logBatch(run.info.runId, {
        tags: [
          { key: "mlflow.runName", value: "first-in-batch" },
          { key: "mlflow.runName", value: "last-in-batch" },
        ],
      });
      const renamed = await t.getRun(run.info.runId);
      expect(renamed.info.runName).toBe("last-in-batch");
      expect(renamed.data.tags).toContainEqual({ key: "mlflow.runName", value: "last-in-batch" });
      expect(await code(t.updateRun(run.info.runId, { status: "DONE" as never }))).toBe("INVALID_PARAMETER_VALUE");

      await t.deleteRun(run.info.runId);
      expect((await t.getRun(run.info.runId)).info.lifecycleStage).toBe("deleted");
      expect(await code(t.logParam(run.info.runId, { key: "a", value: "1" }))).toBe("INVALID_PARAMETER_VALUE");
      await t.restoreRun(run.info.runId);
      await t.logParam(run.info.runId, { key: "a", value: "1" });
      await t.deleteTag(run.info.runId, "k");
      expect(await code(t.deleteTag(run.info.runId, "k"))).toBe("RESOURCE_DOES_NOT_EXIST");
      expect(await code(t.getRun("nope"))).toBe("RESOURCE_DOES_NOT_EXIST");
    });

    it("keeps full metric history and picks the latest value by step, then timestamp, then value", async () => {
      const t = await store();
      const { info } = await t.createRun({ experimentId: "0" });
      const points: Metric[] = [
        { key: "loss", value: 5, timestamp: 100, step: 2 },
        { key: "loss", value: 7, timestamp: 900, step: 1 },
        { key: "loss", value: 3, timestamp: 100, step: 2 },
        { key: "loss", value: 5, timestamp: 100, step: 2 },
        { key: "acc", value: Number.NaN, timestamp: 5, step: 0 },
        { key: "big", value: Number.POSITIVE_INFINITY, timestamp: 5, step: 0 },
      ];
      for (const m of points) await t.logMetric(info.runId, m);
      const run = await t.getRun(info.runId);
      expect(run.data.metrics.find((m) => m.key === "loss")).toEqual({
        key: "loss",
        value: 5,
        timestamp: 100,
        step: 2,
      });
      expect(run.data.metrics.find((m) => m.key === "acc")?.value).toBeNaN();
      expect(run.data.metrics.find((m) => m.key === "big")?.value).toBe(Number.POSITIVE_INFINITY);
      // an exact duplicate point is stored once
      const hist = await t.getMetricHistory(info.runId, "loss");
      expect(hist.items).toEqual([
        { key: "loss", value: 7, timestamp: 900, step: 1 },
        { key: "loss", value: 3, timestamp: 100, step: 2 },
        { key: "loss", value: 5, timestamp: 100, step: 2 },
      ]);
      // a later step wins even with an older timestamp
      await t.logMetric(info.runId, { key: "loss", value: 1, timestamp: 1, step: 3 });
      expect((await t.getRun(info.runId)).data.metrics.find((m) => m.key === "loss")?.value).toBe(1);
      const p1 = await t.getMetricHistory(info.runId, "loss", { maxResults: 3 });
      const p2 = await t.getMetricHistory(info.runId, "loss", { maxResults: 3, pageToken: p1.nextPageToken });
      expect([...p1.items, ...p2.items].map((m) => m.step)).toEqual([1, 2, 2, 3]);
      expect(p2.nextPageToken).toBeUndefined();
      expect(await code(t.logMetric(info.runId, { key: "x", value: 1, timestamp: 1.5, step: 0 }))).toBe(
        "INVALID_PARAMETER_VALUE",
      );
    });

    it("makes params immutable and log-batch atomic, within MLflow's limits", async () => {
      const t = await store();
      const { info } = await t.createRun({ experimentId: "0" });
      await t.logParam(info.runId, { key: "lr", value: "0.1" });
      await t.logParam(info.runId, { key: "lr", value: "0.1" });
      const err = await t.logParam(info.runId, { key: "lr", value: "0.2" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidParameterError);
      expect((err as Error).message).toContain("lr");

      // one bad param rolls the whole batch back
      await expect(
        t.logBatch(info.runId, {
          metrics: [{ key: "auc", value: 0.9, timestamp: 1, step: 0 }],
          params: [
            { key: "depth", value: "5" },
            { key: "lr", value: "0.3" },
          ],
          tags: [{ key: "t", value: "x" }],
        }),
      ).rejects.toBeInstanceOf(InvalidParameterError);
      const after = await t.getRun(info.runId);
      expect(after.data.metrics).toEqual([]);
      expect(after.data.params).toEqual([{ key: "lr", value: "0.1" }]);
      expect(after.data.tags.map((x) => x.key)).toEqual(["mlflow.runName"]);

      const metrics = (n: number) =>
        Array.from({ length: n }, (_, i) => ({ key: `m${i % 7}`, value: i, timestamp: i, step: i }));
      const params = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `p${i}`, value: String(i) }));
      await t.logBatch(info.runId, { metrics: metrics(1000) });
      expect((await t.getMetricHistory(info.runId, "m0")).items.length).toBe(143);
      expect(await code(t.logBatch(info.runId, { metrics: metrics(1001) }))).toBe("INVALID_PARAMETER_VALUE");
      expect(await code(t.logBatch(info.runId, { params: params(101) }))).toBe("INVALID_PARAMETER_VALUE");
      expect(await code(t.logBatch(info.runId, { metrics: metrics(950), params: params(60) }))).toBe(
        "INVALID_PARAMETER_VALUE",
      );
      expect(
        await code(
          t.logBatch(info.runId, {
            params: [
              { key: "a", value: "1" },
              { key: "a", value: "2" },
            ],
          }),
        ),
      ).toBe("INVALID_PARAMETER_VALUE");
      const bad = await t.logParam(info.runId, { key: "bad*key", value: "1" }).catch((e: unknown) => e);
      expect((bad as Error).message).toContain("bad*key");
      expect(await code(t.logParam(info.runId, { key: "../up", value: "1" }))).toBe("INVALID_PARAMETER_VALUE");
      expect(await code(t.logParam(info.runId, { key: "long", value: "x".repeat(6001) }))).toBe(
        "INVALID_PARAMETER_VALUE",
      );
    });

    it("serialises concurrent batches on one run: latest value and param immutability hold", async () => {
      const t = await store();
      const { info } = await t.createRun({ experimentId: "0" });
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          t.logBatch(info.runId, { metrics: [{ key: "loss", value: i, timestamp: 100 + i, step: i }] }),
        ),
      );
      expect((await t.getRun(info.runId)).data.metrics).toEqual([{ key: "loss", value: 9, timestamp: 109, step: 9 }]);
      const outcomes = await Promise.all(
        ["a", "b", "c"].map((v) =>
          t.logParam(info.runId, { key: "p", value: v }).then(
            () => "OK",
            (e: unknown) => (e as KeelError).code,
          ),
        ),
      );
      expect(outcomes.sort()).toEqual(["INVALID_PARAMETER_VALUE", "INVALID_PARAMETER_VALUE", "OK"]);
    });

    it("searches runs with MLflow's filter grammar, order_by and page tokens, in SQL", async () => {
      const t = await store();
      const exp = await t.createExperiment("search");
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        const r = await t.createRun({ experimentId: exp, runName: `run-${i}`, startTime: 1_000 + i });
        ids.push(r.info.runId);
        const batch = {
          params: [{ key: "model", value: i % 3 === 0 ? "gbdt" : i % 3 === 1 ? "GBDT-fast" : "linear" }],
          tags: [{ key: "team name", value: i < 6 ? "risk" : "fraud" }],
          metrics: i === 11 ? [] : [{ key: "auc", value: 0.5 + i / 100, timestamp: 1, step: 0 }],
        };
        await t.logBatch(r.info.runId, batch);
        if (i >= 10) await t.updateRun(r.info.runId, { status: "FINISHED" });
      }
      const names = async (filter?: string, orderBy?: string[], more: object = {}) =>
        (
          await t.searchRuns({
            experimentIds: [exp],
            ...(filter !== undefined ? { filter } : {}),
            ...(orderBy ? { orderBy } : {}),
            ...more,
          })
        ).items.map((r) => r.info.runName);
      expect(await names("metrics.auc > 0.55 and params.model = 'gbdt'", ["metrics.auc DESC"])).toEqual([
        "run-9",
        "run-6",
      ]);
      expect(await names("params.model LIKE 'gbdt%'", ["attributes.start_time"])).toEqual([
        "run-0",
        "run-3",
        "run-6",
        "run-9",
      ]);
      expect(await names("params.model ILIKE 'gbdt%'", ["start_time ASC"])).toEqual([
        "run-0",
        "run-1",
        "run-3",
        "run-4",
        "run-6",
        "run-7",
        "run-9",
        "run-10",
      ]);
      expect(await names("tags.`team name` = 'risk' and metrics.auc <= 0.52", ["metrics.auc"])).toEqual([
        "run-0",
        "run-1",
        "run-2",
      ]);
      expect(await names("params.model IN ('linear') and attributes.status = 'FINISHED'")).toEqual(["run-11"]);
      expect(
        await names("params.model NOT IN ('linear', 'gbdt') and attributes.start_time >= 1007", ["start_time"]),
      ).toEqual(["run-7", "run-10"]);
      expect(await names("attributes.run_name = 'run-4'")).toEqual(["run-4"]);
      expect(await names(`attributes.run_id IN ('${ids[2]}', '${ids[3]}')`, ["start_time"])).toEqual([
        "run-2",
        "run-3",
      ]);
      expect(await names("metrics.auc != 0.5 and tags.`team name` != 'risk'", ["metrics.auc DESC"])).toEqual([
        "run-10",
        "run-9",
        "run-8",
        "run-7",
        "run-6",
      ]);
      // runs without the metric sort last in both directions; default order is newest first
      expect((await names(undefined, ["metrics.auc DESC"])).at(-1)).toBe("run-11");
      expect((await names(undefined, ["metrics.auc ASC"])).at(-1)).toBe("run-11");
      expect((await names()).slice(0, 2)).toEqual(["run-11", "run-10"]);

      // paging walks every run once
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = await t.searchRuns({
          experimentIds: [exp],
          maxResults: 5,
          orderBy: ["metrics.auc DESC"],
          ...(token ? { pageToken: token } : {}),
        });
        seen.push(...page.items.map((r) => r.info.runName));
        token = page.nextPageToken;
      } while (token !== undefined);
      expect(seen.length).toBe(12);
      expect(new Set(seen).size).toBe(12);

      // a page that starts exactly after the runs having the order metric holds the rest
      const first11 = await t.searchRuns({ experimentIds: [exp], maxResults: 11, orderBy: ["metrics.auc DESC"] });
      expect(first11.items.at(-1)?.info.runName).toBe("run-0");
      const rest = await t.searchRuns({
        experimentIds: [exp],
        maxResults: 11,
        orderBy: ["metrics.auc DESC"],
        pageToken: first11.nextPageToken,
      });
      expect(rest.items.map((r) => r.info.runName)).toEqual(["run-11"]);
      expect(rest.nextPageToken).toBeUndefined();
      // NaN sorts after every number in both directions (MLflow's
      // test_search_utils.py::test_order_by_metric_with_nans_infs_nones); absent values come last
      await t.logMetric(ids[4] as string, { key: "auc", value: Number.NaN, timestamp: 2, step: 1 });
      await t.logMetric(ids[5] as string, { key: "auc", value: Number.POSITIVE_INFINITY, timestamp: 2, step: 1 });
      const desc = await names(undefined, ["metrics.auc DESC"]);
      expect(desc.slice(0, 2)).toEqual(["run-5", "run-10"]);
      expect(desc.slice(-2)).toEqual(["run-4", "run-11"]);
      expect((await names(undefined, ["metrics.auc ASC"])).slice(-3)).toEqual(["run-5", "run-4", "run-11"]);
      expect(await names("metrics.auc > 0.6")).toEqual(["run-5"]);

      // a search result carries params, tags and latest metrics
      const [hit] = (await t.searchRuns({ experimentIds: [exp], filter: "attributes.run_name = 'run-3'" })).items;
      expect(hit?.data.params).toEqual([{ key: "model", value: "gbdt" }]);
      expect(hit?.data.metrics).toEqual([{ key: "auc", value: 0.53, timestamp: 1, step: 0 }]);
      const [nan] = (await t.searchRuns({ experimentIds: [exp], filter: "attributes.run_name = 'run-4'" })).items;
      expect(nan?.data.metrics[0]?.value).toBeNaN();

      await t.deleteRun(ids[0] as string);
      expect(await names("attributes.run_name = 'run-0'")).toEqual([]);
      expect(await names("attributes.run_name = 'run-0'", undefined, { runViewType: "DELETED_ONLY" })).toEqual([
        "run-0",
      ]);
      expect(await names("attributes.run_name = 'run-0'", undefined, { runViewType: "ALL" })).toEqual(["run-0"]);

      for (const bad of [
        "metrics.auc > 'x'",
        "params.model > 1",
        "metrics.auc >",
        "params.model = 'a' or params.model = 'b'",
        "attributes.color = 'x'",
        "foo.bar = 'x'",
      ]) {
        expect(await code(t.searchRuns({ experimentIds: [exp], filter: bad })), bad).toBe("INVALID_PARAMETER_VALUE");
      }
      expect(await code(t.searchRuns({ experimentIds: [exp], orderBy: ["metrics.auc SIDEWAYS"] }))).toBe(
        "INVALID_PARAMETER_VALUE",
      );
      expect(await code(t.searchRuns({ experimentIds: [] }))).toBe("INVALID_PARAMETER_VALUE");
      expect(await code(t.searchRuns({ experimentIds: [exp], maxResults: 50_001 }))).toBe("INVALID_PARAMETER_VALUE");
    });

    it("records dataset inputs (lineage) once per run and filters on them", async () => {
      const t = await store();
      const { info } = await t.createRun({ experimentId: "0" });
      const input = {
        tags: [{ key: "mlflow.data.context", value: "training" }],
        dataset: {
          name: "loans",
          digest: "abc123",
          sourceType: "local",
          source: '{"uri":"/data/loans.parquet"}',
          schema: "{}",
        },
      };
      await t.logInputs(info.runId, [input]);
      await t.logInputs(info.runId, [input]);
      const run = await t.getRun(info.runId);
      expect(run.inputs.datasetInputs).toEqual([input]);
      const other = await t.createRun({ experimentId: "0" });
      const hit = async (filter: string) =>
        (await t.searchRuns({ experimentIds: ["0"], filter })).items.map((r) => r.info.runId);
      expect(await hit("datasets.digest = 'abc123'")).toEqual([info.runId]);
      expect(await hit("datasets.context = 'training'")).toEqual([info.runId]);
      expect(await hit("datasets.name = 'nothing'")).toEqual([]);
      expect(other.inputs.datasetInputs).toEqual([]);
    });

    it("serves MLflow 3 logged models: create, params, tags, finalize, search, delete", async () => {
      const t = await store();
      const { info } = await t.createRun({ experimentId: "0" });
      const m = await t.createLoggedModel({
        experimentId: "0",
        name: "loan-gbm",
        modelType: "xgboost",
        sourceRunId: info.runId,
        params: [{ key: "depth", value: "5" }],
        tags: [{ key: "t", value: "1" }],
      });
      expect(m.modelId).toMatch(/^m-[0-9a-f]{32}$/);
      expect(m.status).toBe("LOGGED_MODEL_PENDING");
      expect(m.artifactUri).toBe(`mlflow-artifacts:/0/models/${m.modelId}/artifacts`);
      await t.logLoggedModelParams(m.modelId, [{ key: "eta", value: "0.1" }]);
      await t.setLoggedModelTags(m.modelId, [
        { key: "t", value: "2" },
        { key: "u", value: "3" },
      ]);
      await t.deleteLoggedModelTag(m.modelId, "u");
      await t.logMetric(info.runId, { key: "auc", value: 0.91, timestamp: 1, step: 0, modelId: m.modelId });
      const done = await t.finalizeLoggedModel(m.modelId, "LOGGED_MODEL_READY");
      expect(done.status).toBe("LOGGED_MODEL_READY");
      expect(done.params).toEqual([
        { key: "depth", value: "5" },
        { key: "eta", value: "0.1" },
      ]);
      expect(done.tags).toEqual([{ key: "t", value: "2" }]);
      expect(done.metrics.map((x) => [x.key, x.value])).toEqual([["auc", 0.91]]);
      await t.createLoggedModel({ experimentId: "0", name: "other" });
      const found = await t.searchLoggedModels({
        experimentIds: ["0"],
        filter: "name = 'loan-gbm' and params.depth = '5'",
      });
      expect(found.items.map((x) => x.modelId)).toEqual([m.modelId]);
      const all = await t.searchLoggedModels({
        experimentIds: ["0"],
        orderBy: [{ fieldName: "name", ascending: true }],
        maxResults: 1,
      });
      expect(all.items.map((x) => x.name)).toEqual(["loan-gbm"]);
      expect(all.nextPageToken).toBeDefined();
      await t.deleteLoggedModel(m.modelId);
      expect(await code(t.getLoggedModel(m.modelId))).toBe("RESOURCE_DOES_NOT_EXIST");
      expect(await code(t.finalizeLoggedModel(m.modelId, "LOGGED_MODEL_READY"))).toBe("RESOURCE_DOES_NOT_EXIST");
    });

    it("writes one audit row per mutation in the same transaction, and none for a failed one", async () => {
      const t = await store();
      const audit = open?.stores.audit;
      const before = (await audit?.list({ limit: 10_000 }))?.length ?? 0;
      const id = await t.createExperiment("audited", undefined, undefined, { userId: "ana" });
      const { info } = await t.createRun({ experimentId: id }, { userId: "ana" });
      await t.logBatch(info.runId, { params: [{ key: "a", value: "1" }] }, { userId: "bob" });
      await t.logParam(info.runId, { key: "a", value: "2" }, { userId: "bob" }).catch(() => undefined);
      const rows = (await audit?.list({ limit: 10_000 })) ?? [];
      expect(rows.length - before).toBe(3);
      expect(rows.slice(-3).map((r) => [r.actor, r.action, r.targetId])).toEqual([
        ["ana", "experiment.create", id],
        ["ana", "run.create", info.runId],
        ["bob", "run.log_batch", info.runId],
      ]);
      expect(await audit?.verifyAuditChain()).toEqual({ ok: true, rows: rows.length });
    });
  });
}
