import { NotFoundError } from "../../errors.js";
import { checkMaxResults, decodePageToken, encodePageToken } from "../page-token.js";
import type { LogBatchInput, TrackingStore } from "../types.js";
import { checkBatchSizes, checkKey, checkMetric, checkTag } from "../validate.js";
import { insertMetrics } from "./metrics.js";
import { activeRun, runRow, toMetric, type TrackingContext } from "./shared.js";
import { insertParams, upsertRunTags } from "./tags.js";

/** A run's data: metrics, params and tags, logged one at a time or in batches; metric history. */
export function runDataMethods(
  ctx: TrackingContext,
): Pick<TrackingStore, "logMetric" | "logParam" | "setTag" | "deleteTag" | "logBatch" | "getMetricHistory"> {
  const { db, read, write } = ctx;
  const methods: ReturnType<typeof runDataMethods> = {
    async logMetric(runId, metric, actor) {
      return methods.logBatch(runId, { metrics: [metric] }, actor);
    },

    async logParam(runId, param, actor) {
      return methods.logBatch(runId, { params: [param] }, actor);
    },

    async setTag(runId, tag, actor) {
      return methods.logBatch(runId, { tags: [tag] }, actor);
    },

    async deleteTag(runId, key, actor) {
      return write(actor, async (tx, audit) => {
        await activeRun(tx, runId);
        const r = await tx.deleteFrom("tags").where("run_uuid", "=", runId).where("key", "=", key).executeTakeFirst();
        if (Number(r.numDeletedRows) === 0) throw new NotFoundError(`run ${runId} has no tag ${JSON.stringify(key)}`);
        await audit({ action: "run.delete_tag", targetType: "run", targetId: runId, before: { key } });
      });
    },

    async logBatch(runId, batch: LogBatchInput, actor) {
      const metrics = batch.metrics ?? [];
      const params = batch.params ?? [];
      const tags = batch.tags ?? [];
      checkBatchSizes(metrics.length, params.length, tags.length);
      for (const m of metrics) checkMetric(m);
      for (const t of tags) checkTag(t);
      return write(actor, async (tx, audit) => {
        // A no-op write locks the run row (PostgreSQL), so concurrent batches on one run take turns
        // and the param check and the latest-metric comparison see each other's commits.
        await tx
          .updateTable("runs")
          .set((eb) => ({ status: eb.ref("status") }))
          .where("run_uuid", "=", runId)
          .execute();
        await activeRun(tx, runId);
        const newParams = await insertParams(tx, "params", runId, params);
        await insertMetrics(tx, runId, metrics);
        await upsertRunTags(tx, runId, tags);
        await audit({
          action: "run.log_batch",
          targetType: "run",
          targetId: runId,
          after: {
            metrics: metrics.length,
            metricKeys: [...new Set(metrics.map((m) => m.key))].slice(0, 20),
            params: Object.fromEntries(
              params.filter((p) => newParams.includes(p.key)).map((p) => [p.key, p.value.slice(0, 200)]),
            ),
            tags: Object.fromEntries(tags.map((t) => [t.key, t.value.slice(0, 200)])),
          },
        });
      });
    },

    async getMetricHistory(runId, key, query = {}) {
      checkKey("metric", key);
      // As MLflow: without max_results the whole history comes back in one answer.
      const max = query.maxResults === undefined ? undefined : checkMaxResults(query.maxResults, 25_000, 25_000);
      const offset = decodePageToken(query.pageToken);
      return read(async () => {
        await runRow(db, runId);
        let q = db
          .selectFrom("metrics")
          .selectAll()
          .where("run_uuid", "=", runId)
          .where("key", "=", key)
          .orderBy("step")
          .orderBy("timestamp")
          .orderBy("value");
        if (max !== undefined) q = q.limit(max + 1);
        if (offset > 0) q = max === undefined ? q.limit(Number.MAX_SAFE_INTEGER).offset(offset) : q.offset(offset);
        const rows = await q.execute();
        if (max === undefined) return { items: rows.map(toMetric) };
        const items = rows.slice(0, max).map(toMetric);
        return rows.length > max ? { items, nextPageToken: encodePageToken(offset + max) } : { items };
      });
    },
  };
  return methods;
}
