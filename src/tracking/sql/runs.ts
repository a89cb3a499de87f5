import { RUN_STATUSES } from "../../wire/index.js";
import { sql } from "kysely";
import { InvalidParameterError } from "../../errors.js";
import type { RunsTable } from "../../store/index.js";
import { parseFilter, parseOrderBy } from "../filter.js";
import { checkMaxResults, decodePageToken, encodePageToken } from "../page-token.js";
import { runSearchSql, splitsOnFirstOrder } from "../run-search.js";
import type { CreateRunInput, Run, SearchRunsQuery, TrackingStore, UpdateRunInput } from "../types.js";
import { checkTag } from "../validate.js";
import {
  activeExperiment,
  activeRun,
  byKey,
  checkViewType,
  experimentIdNumber,
  newRunId,
  randomName,
  RUN_NAME_TAG,
  runRow,
  stagesFor,
  toMetric,
  toRunInfo,
  type Db,
  type TrackingContext,
} from "./shared.js";
import { upsertRunTags } from "./tags.js";

export async function toRuns(q: Db, rows: readonly RunsTable[]): Promise<Run[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.run_uuid);
  const [params, tags, metrics, inputs] = await Promise.all([
    q.selectFrom("params").selectAll().where("run_uuid", "in", ids).execute(),
    q.selectFrom("tags").selectAll().where("run_uuid", "in", ids).execute(),
    q.selectFrom("latest_metrics").selectAll().where("run_uuid", "in", ids).execute(),
    q
      .selectFrom("inputs")
      .innerJoin("datasets", "datasets.dataset_uuid", "inputs.dataset_uuid")
      .select([
        "inputs.input_uuid",
        "inputs.run_uuid",
        "datasets.name",
        "datasets.digest",
        "datasets.source_type",
        "datasets.source",
        "datasets.schema",
        "datasets.profile",
      ])
      .where("inputs.run_uuid", "in", ids)
      .orderBy("datasets.name")
      .execute(),
  ]);
  const inputTags =
    inputs.length === 0
      ? []
      : await q
          .selectFrom("input_tags")
          .selectAll()
          .where(
            "input_uuid",
            "in",
            inputs.map((i) => i.input_uuid),
          )
          .execute();
  const group = <T extends { run_uuid: string }>(list: readonly T[]) => {
    const m = new Map<string, T[]>();
    for (const x of list) {
      const arr = m.get(x.run_uuid);
      if (arr === undefined) m.set(x.run_uuid, [x]);
      else arr.push(x);
    }
    return m;
  };
  const p = group(params);
  const t = group(tags);
  const mt = group(metrics);
  const inp = group(inputs);
  return rows.map((r) => ({
    info: toRunInfo(r),
    data: {
      metrics: (mt.get(r.run_uuid) ?? []).map(toMetric).sort(byKey),
      params: (p.get(r.run_uuid) ?? []).map((x) => ({ key: x.key, value: x.value })).sort(byKey),
      tags: (t.get(r.run_uuid) ?? []).map((x) => ({ key: x.key, value: x.value })).sort(byKey),
    },
    inputs: {
      datasetInputs: (inp.get(r.run_uuid) ?? []).map((i) => ({
        tags: inputTags
          .filter((it) => it.input_uuid === i.input_uuid)
          .map((it) => ({ key: it.key, value: it.value }))
          .sort(byKey),
        dataset: {
          name: i.name,
          digest: i.digest,
          sourceType: i.source_type,
          source: i.source,
          ...(i.schema !== null ? { schema: i.schema } : {}),
          ...(i.profile !== null ? { profile: i.profile } : {}),
        },
      })),
    },
  }));
}

/** MLflow's run search (the SQL is built by `runSearchSql`), offset pages. */
async function findRuns(ctx: TrackingContext, query: SearchRunsQuery): ReturnType<TrackingStore["searchRuns"]> {
  const { db, read } = ctx;
  if (query.experimentIds.length === 0) {
    throw new InvalidParameterError(
      `experiment_ids ${JSON.stringify(query.experimentIds)} must list at least one experiment id`,
      {
        details: { field: "experiment_ids", value: query.experimentIds },
      },
    );
  }
  const expIds = query.experimentIds.map((id) => experimentIdNumber(id, "experiment_ids"));
  const view = checkViewType(query.runViewType);
  const max = checkMaxResults(query.maxResults, 1000, 50_000);
  const offset = decodePageToken(query.pageToken);
  const filters = parseFilter(query.filter);
  const order = (query.orderBy ?? []).map(parseOrderBy);
  const base = [
    sql`r.experiment_id in (${sql.join(expIds)})`,
    sql`r.lifecycle_stage in (${sql.join(stagesFor(view))})`,
  ];
  const page = async (part: "present" | "absent" | undefined, limit: number, skip: number) => {
    const s = runSearchSql(filters, order, part);
    const where = sql.join([...base, ...s.where], sql` and `);
    return (
      await sql<RunsTable>`select r.* from runs r ${sql.join(s.joins, sql` `)} where ${where}
        order by ${sql.join(s.orderBy)} limit ${limit} offset ${skip}`.execute(db)
    ).rows;
  };
  const count = async (part: "present") => {
    const s = runSearchSql(filters, order, part);
    const where = sql.join([...base, ...s.where], sql` and `);
    const r = await sql<{
      n: number;
    }>`select count(*) as n from runs r ${sql.join(s.joins, sql` `)} where ${where}`.execute(db);
    return Number(r.rows[0]?.n ?? 0);
  };
  return read(async () => {
    let rows: RunsTable[];
    if (!splitsOnFirstOrder(filters, order)) rows = await page(undefined, max + 1, offset);
    else {
      // Runs that have the first order value come first, then the rest (MLflow's nulls last).
      rows = await page("present", max + 1, offset);
      if (rows.length < max + 1) {
        const skip = rows.length === 0 && offset > 0 ? offset - (await count("present")) : 0;
        rows = rows.concat(await page("absent", max + 1 - rows.length, Math.max(0, skip)));
      }
    }
    const items = await toRuns(db, rows.slice(0, max));
    return rows.length > max ? { items, nextPageToken: encodePageToken(offset + max) } : { items };
  });
}

/** Runs: create, read, update, delete and restore, search. */
export function runMethods(
  ctx: TrackingContext,
): Pick<TrackingStore, "createRun" | "getRun" | "updateRun" | "deleteRun" | "restoreRun" | "searchRuns"> {
  const { db, clock, read, write } = ctx;
  return {
    async createRun(input: CreateRunInput, actor) {
      const tags = [...(input.tags ?? [])];
      for (const t of tags) checkTag(t);
      if (input.startTime !== undefined && !Number.isSafeInteger(input.startTime)) {
        throw new InvalidParameterError(`start_time ${JSON.stringify(input.startTime)} must be an integer (epoch ms)`, {
          details: { field: "start_time", value: input.startTime },
        });
      }
      return write(actor, async (tx, audit) => {
        const exp = await activeExperiment(tx, input.experimentId);
        const runId = newRunId();
        const tagName = tags.find((t) => t.key === RUN_NAME_TAG)?.value;
        const runName = input.runName !== undefined && input.runName !== "" ? input.runName : (tagName ?? randomName());
        if (tagName === undefined || tagName !== runName) {
          const i = tags.findIndex((t) => t.key === RUN_NAME_TAG);
          if (i >= 0) tags.splice(i, 1);
          tags.push({ key: RUN_NAME_TAG, value: runName });
        }
        const row: RunsTable = {
          run_uuid: runId,
          name: runName,
          experiment_id: exp.experiment_id,
          user_id: input.userId ?? actor?.userId ?? "",
          status: "RUNNING",
          start_time: input.startTime ?? clock(),
          end_time: null,
          artifact_uri: `${exp.artifact_location.replace(/\/+$/, "")}/${runId}/artifacts`,
          lifecycle_stage: "active",
          deleted_time: null,
        };
        await tx.insertInto("runs").values(row).execute();
        await tx
          .insertInto("tags")
          .values(tags.map((t) => ({ run_uuid: runId, key: t.key, value: t.value })))
          .execute();
        await audit({
          action: "run.create",
          targetType: "run",
          targetId: runId,
          after: { experimentId: input.experimentId, runName },
        });
        const [run] = await toRuns(tx, [row]);
        return run as Run;
      });
    },

    async getRun(runId) {
      return read(async () => {
        const [run] = await toRuns(db, [await runRow(db, runId)]);
        return run as Run;
      });
    },

    async updateRun(runId, input: UpdateRunInput, actor) {
      if (input.status !== undefined && !RUN_STATUSES.includes(input.status)) {
        throw new InvalidParameterError(
          `status ${JSON.stringify(input.status)} must be one of ${RUN_STATUSES.join(", ")}`,
          {
            details: { field: "status", value: input.status },
          },
        );
      }
      if (input.endTime !== undefined && !Number.isSafeInteger(input.endTime)) {
        throw new InvalidParameterError(`end_time ${JSON.stringify(input.endTime)} must be an integer (epoch ms)`, {
          details: { field: "end_time", value: input.endTime },
        });
      }
      return write(actor, async (tx, audit) => {
        const row = await activeRun(tx, runId);
        const next: RunsTable = {
          ...row,
          ...(input.status !== undefined ? { status: input.status } : {}),
          ...(input.endTime !== undefined ? { end_time: input.endTime } : {}),
          ...(input.runName !== undefined && input.runName !== "" ? { name: input.runName } : {}),
        };
        await tx
          .updateTable("runs")
          .set({ status: next.status, end_time: next.end_time, name: next.name })
          .where("run_uuid", "=", runId)
          .execute();
        if (next.name !== row.name) await upsertRunTags(tx, runId, [{ key: RUN_NAME_TAG, value: next.name }]);
        await audit({
          action: "run.update",
          targetType: "run",
          targetId: runId,
          before: { status: row.status, endTime: row.end_time, runName: row.name },
          after: { status: next.status, endTime: next.end_time, runName: next.name },
        });
        return toRunInfo(next);
      });
    },

    async deleteRun(runId, actor) {
      return write(actor, async (tx, audit) => {
        const row = await runRow(tx, runId);
        await tx
          .updateTable("runs")
          .set({ lifecycle_stage: "deleted", deleted_time: clock() })
          .where("run_uuid", "=", runId)
          .execute();
        await audit({
          action: "run.delete",
          targetType: "run",
          targetId: runId,
          before: { lifecycleStage: row.lifecycle_stage },
          after: { lifecycleStage: "deleted" },
        });
      });
    },

    async restoreRun(runId, actor) {
      return write(actor, async (tx, audit) => {
        const row = await runRow(tx, runId);
        await tx
          .updateTable("runs")
          .set({ lifecycle_stage: "active", deleted_time: null })
          .where("run_uuid", "=", runId)
          .execute();
        await audit({
          action: "run.restore",
          targetType: "run",
          targetId: runId,
          before: { lifecycleStage: row.lifecycle_stage },
          after: { lifecycleStage: "active" },
        });
      });
    },

    searchRuns: (query) => findRuns(ctx, query),
  };
}
