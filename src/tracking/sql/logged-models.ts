import { LOGGED_MODEL_STATUSES } from "../../wire/index.js";
import { sql, type RawBuilder } from "kysely";
import { InvalidParameterError, NotFoundError } from "../../errors.js";
import type { LoggedModelsTable } from "../../store/index.js";
import { upsertTags } from "../../store/index.js";
import { parseFilter } from "../filter.js";
import { checkMaxResults, decodePageToken, encodePageToken } from "../page-token.js";
import { numericCondition, stringCondition } from "../run-search.js";
import type {
  CreateLoggedModelInput,
  LoggedModel,
  LoggedModelStatus,
  SearchLoggedModelsQuery,
  TrackingStore,
} from "../types.js";
import { checkTag } from "../validate.js";
import {
  activeExperiment,
  byKey,
  experimentIdNumber,
  newRunId,
  randomName,
  toMetric,
  type Db,
  type TrackingContext,
} from "./shared.js";
import { insertParams } from "./tags.js";

export async function loggedModelRow(q: Db, modelId: string): Promise<LoggedModelsTable> {
  const row = await q
    .selectFrom("logged_models")
    .selectAll()
    .where("model_id", "=", modelId)
    .where("lifecycle_stage", "=", "active")
    .executeTakeFirst();
  if (row === undefined) throw new NotFoundError(`logged model with id ${JSON.stringify(modelId)} does not exist`);
  return row;
}

export async function toLoggedModels(q: Db, rows: readonly LoggedModelsTable[]): Promise<LoggedModel[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.model_id);
  const [tags, params, metrics] = await Promise.all([
    q.selectFrom("logged_model_tags").selectAll().where("model_id", "in", ids).execute(),
    q.selectFrom("logged_model_params").selectAll().where("model_id", "in", ids).execute(),
    q
      .selectFrom("metrics")
      .selectAll()
      .where("model_id", "in", ids)
      .orderBy("key")
      .orderBy("step")
      .orderBy("timestamp")
      .execute(),
  ]);
  return rows.map((r) => ({
    modelId: r.model_id,
    experimentId: String(r.experiment_id),
    name: r.name,
    artifactUri: r.artifact_location,
    creationTimestampMs: Number(r.creation_timestamp_ms),
    lastUpdatedTimestampMs: Number(r.last_updated_timestamp_ms),
    modelType: r.model_type,
    sourceRunId: r.source_run_id,
    status: r.status as LoggedModelStatus,
    statusMessage: r.status_message,
    tags: tags
      .filter((t) => t.model_id === r.model_id)
      .map((t) => ({ key: t.key, value: t.value }))
      .sort(byKey),
    params: params
      .filter((t) => t.model_id === r.model_id)
      .map((t) => ({ key: t.key, value: t.value }))
      .sort(byKey),
    metrics: metrics
      .filter((m) => m.model_id === r.model_id)
      .map((m) => ({
        ...toMetric(m),
        modelId: r.model_id,
        ...(m.dataset_name === null ? {} : { datasetName: m.dataset_name }),
        ...(m.dataset_digest === null ? {} : { datasetDigest: m.dataset_digest }),
      })),
  }));
}

/** Logged-model search: filter on attributes, params, tags and metrics; order by attributes. */
async function findLoggedModels(
  ctx: TrackingContext,
  query: SearchLoggedModelsQuery,
): ReturnType<TrackingStore["searchLoggedModels"]> {
  const { db, read } = ctx;
  if (query.experimentIds.length === 0) {
    throw new InvalidParameterError(`experiment_ids must list at least one experiment id`, {
      details: { field: "experiment_ids" },
    });
  }
  const expIds = query.experimentIds.map((id) => experimentIdNumber(id, "experiment_ids"));
  const max = checkMaxResults(query.maxResults, 100, 50_000);
  const offset = decodePageToken(query.pageToken);
  const strings: Record<string, string> = {
    name: "name",
    model_type: "model_type",
    status: "status",
    source_run_id: "source_run_id",
    model_id: "model_id",
  };
  const numbers: Record<string, string> = {
    creation_timestamp: "creation_timestamp_ms",
    creation_time: "creation_timestamp_ms",
    last_updated_timestamp: "last_updated_timestamp_ms",
  };
  const where: RawBuilder<unknown>[] = [
    sql`m.experiment_id in (${sql.join(expIds)})`,
    sql`m.lifecycle_stage = 'active'`,
  ];
  for (const c of parseFilter(query.filter)) {
    if (c.entity === "attribute" && strings[c.key] !== undefined)
      where.push(stringCondition(sql.raw(`m.${strings[c.key]}`), c));
    else if (c.entity === "attribute" && numbers[c.key] !== undefined)
      where.push(numericCondition(sql.raw(`m.${numbers[c.key]}`), c));
    else if (c.entity === "param" || c.entity === "tag") {
      const table = sql.raw(c.entity === "param" ? "logged_model_params" : "logged_model_tags");
      where.push(
        sql`exists (select 1 from ${table} x where x.model_id = m.model_id and x.key = ${c.key} and ${stringCondition(sql.raw("x.value"), c)})`,
      );
    } else if (c.entity === "metric") {
      where.push(
        sql`exists (select 1 from metrics x where x.model_id = m.model_id and x.key = ${c.key} and x.is_nan = 0 and ${datasetScope(query.datasets)} and ${numericCondition(sql.raw("x.value"), c)})`,
      );
    } else {
      throw new InvalidParameterError(
        `filter: ${c.entity}s.${c.key} is not searchable for logged models; use ${[...Object.keys(strings), ...Object.keys(numbers)].join(", ")}, params.<key>, tags.<key> or metrics.<key>`,
        { details: { field: "filter", value: query.filter } },
      );
    }
  }
  const order: RawBuilder<unknown>[] = [];
  for (const o of query.orderBy ?? []) {
    const direction = sql.raw(o.ascending === false ? "desc" : "asc");
    const metric = /^metrics?\.(.+)$/.exec(o.fieldName)?.[1];
    if (metric !== undefined) {
      // The model's latest value of the metric; models without it (or with NaN) come last either way.
      const scope =
        o.datasetName === undefined
          ? sql`1 = 1`
          : datasetScope([
              {
                datasetName: o.datasetName,
                ...(o.datasetDigest === undefined ? {} : { datasetDigest: o.datasetDigest }),
              },
            ]);
      const value = sql`(select x.value from metrics x where x.model_id = m.model_id and x.key = ${metric} and x.is_nan = 0 and ${scope} order by x.step desc, x.timestamp desc limit 1)`;
      order.push(sql`case when ${value} is null then 1 else 0 end asc`, sql`${value} ${direction}`);
      continue;
    }
    const col = strings[o.fieldName] ?? numbers[o.fieldName];
    if (col === undefined) {
      throw new InvalidParameterError(
        `order_by field_name ${JSON.stringify(o.fieldName)}: logged models sort by ${[...Object.keys(strings), ...Object.keys(numbers)].join(", ")} or metrics.<key>`,
        {
          details: { field: "order_by", value: o.fieldName },
        },
      );
    }
    order.push(sql`${sql.raw(`m.${col}`)} ${direction}`);
  }
  if (order.length === 0) order.push(sql`m.creation_timestamp_ms desc`);
  order.push(sql`m.model_id asc`);
  return read(async () => {
    const rows = await sql<LoggedModelsTable>`select m.* from logged_models m where ${sql.join(where, sql` and `)}
      order by ${sql.join(order)} limit ${max + 1} offset ${offset}`.execute(db);
    const items = await toLoggedModels(db, rows.rows.slice(0, max));
    return rows.rows.length > max ? { items, nextPageToken: encodePageToken(offset + max) } : { items };
  });
}

/** The metric rows (alias `x`) computed on one of `datasets` (name, and digest when given); all rows without any. */
function datasetScope(datasets: SearchLoggedModelsQuery["datasets"]): RawBuilder<unknown> {
  if (datasets === undefined || datasets.length === 0) return sql`1 = 1`;
  const one = datasets.map((d) =>
    d.datasetDigest === undefined
      ? sql`x.dataset_name = ${d.datasetName}`
      : sql`(x.dataset_name = ${d.datasetName} and x.dataset_digest = ${d.datasetDigest})`,
  );
  return sql`(${sql.join(one, sql` or `)})`;
}

/** Logged models (MLflow 3): create, read, search, finalize, tags, params, delete. */
export function loggedModelMethods(
  ctx: TrackingContext,
): Pick<
  TrackingStore,
  | "createLoggedModel"
  | "getLoggedModel"
  | "searchLoggedModels"
  | "finalizeLoggedModel"
  | "setLoggedModelTags"
  | "deleteLoggedModelTag"
  | "logLoggedModelParams"
  | "deleteLoggedModel"
> {
  const { db, clock, read, write } = ctx;
  return {
    async createLoggedModel(input: CreateLoggedModelInput, actor) {
      for (const t of input.tags ?? []) checkTag(t);
      return write(actor, async (tx, audit) => {
        const exp = await activeExperiment(tx, input.experimentId);
        const modelId = `m-${newRunId()}`;
        const now = clock();
        await tx
          .insertInto("logged_models")
          .values({
            model_id: modelId,
            experiment_id: exp.experiment_id,
            name: input.name !== undefined && input.name !== "" ? input.name : randomName(),
            artifact_location: `${exp.artifact_location.replace(/\/+$/, "")}/models/${modelId}/artifacts`,
            creation_timestamp_ms: now,
            last_updated_timestamp_ms: now,
            model_type: input.modelType ?? "",
            source_run_id: input.sourceRunId !== undefined && input.sourceRunId !== "" ? input.sourceRunId : null,
            status: "LOGGED_MODEL_PENDING",
            status_message: "",
            lifecycle_stage: "active",
          })
          .execute();
        await insertParams(tx, "logged_model_params", modelId, input.params ?? []);
        const tags = input.tags ?? [];
        if (tags.length > 0)
          await tx
            .insertInto("logged_model_tags")
            .values(tags.map((t) => ({ model_id: modelId, key: t.key, value: t.value })))
            .execute();
        await audit({
          action: "logged_model.create",
          targetType: "logged_model",
          targetId: modelId,
          after: { experimentId: input.experimentId, sourceRunId: input.sourceRunId },
        });
        const [m] = await toLoggedModels(tx, [await loggedModelRow(tx, modelId)]);
        return m as LoggedModel;
      });
    },

    async getLoggedModel(modelId) {
      return read(async () => {
        const [m] = await toLoggedModels(db, [await loggedModelRow(db, modelId)]);
        return m as LoggedModel;
      });
    },

    searchLoggedModels: (query) => findLoggedModels(ctx, query),

    async finalizeLoggedModel(modelId, status, actor) {
      if (!LOGGED_MODEL_STATUSES.includes(status)) {
        throw new InvalidParameterError(
          `status ${JSON.stringify(status)} must be one of ${LOGGED_MODEL_STATUSES.join(", ")}`,
          {
            details: { field: "status", value: status },
          },
        );
      }
      return write(actor, async (tx, audit) => {
        const row = await loggedModelRow(tx, modelId);
        await tx
          .updateTable("logged_models")
          .set({ status, last_updated_timestamp_ms: clock() })
          .where("model_id", "=", modelId)
          .execute();
        await audit({
          action: "logged_model.finalize",
          targetType: "logged_model",
          targetId: modelId,
          before: { status: row.status },
          after: { status },
        });
        const [m] = await toLoggedModels(tx, [await loggedModelRow(tx, modelId)]);
        return m as LoggedModel;
      });
    },

    async setLoggedModelTags(modelId, tags, actor) {
      for (const t of tags) checkTag(t);
      return write(actor, async (tx, audit) => {
        await loggedModelRow(tx, modelId);
        await upsertTags(tx, "logged_model_tags", { model_id: modelId }, tags);
        await tx
          .updateTable("logged_models")
          .set({ last_updated_timestamp_ms: clock() })
          .where("model_id", "=", modelId)
          .execute();
        await audit({
          action: "logged_model.set_tags",
          targetType: "logged_model",
          targetId: modelId,
          after: Object.fromEntries(tags.map((t) => [t.key, t.value.slice(0, 200)])),
        });
      });
    },

    async deleteLoggedModelTag(modelId, key, actor) {
      return write(actor, async (tx, audit) => {
        await loggedModelRow(tx, modelId);
        const r = await tx
          .deleteFrom("logged_model_tags")
          .where("model_id", "=", modelId)
          .where("key", "=", key)
          .executeTakeFirst();
        if (Number(r.numDeletedRows) === 0)
          throw new NotFoundError(`logged model ${modelId} has no tag ${JSON.stringify(key)}`);
        await audit({
          action: "logged_model.delete_tag",
          targetType: "logged_model",
          targetId: modelId,
          before: { key },
        });
      });
    },

    async logLoggedModelParams(modelId, params, actor) {
      return write(actor, async (tx, audit) => {
        await loggedModelRow(tx, modelId);
        const added = await insertParams(tx, "logged_model_params", modelId, params);
        await audit({
          action: "logged_model.log_params",
          targetType: "logged_model",
          targetId: modelId,
          after: { params: added },
        });
      });
    },

    async deleteLoggedModel(modelId, actor) {
      return write(actor, async (tx, audit) => {
        await loggedModelRow(tx, modelId);
        await tx
          .updateTable("logged_models")
          .set({ lifecycle_stage: "deleted", last_updated_timestamp_ms: clock() })
          .where("model_id", "=", modelId)
          .execute();
        await audit({ action: "logged_model.delete", targetType: "logged_model", targetId: modelId });
      });
    },
  };
}
