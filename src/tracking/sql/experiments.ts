import type { Clock } from "../../runtime/index.js";
import { sql, type RawBuilder } from "kysely";
import { ConflictError, InvalidParameterError, NotFoundError } from "../../errors.js";
import type { ExperimentsTable } from "../../store/index.js";
import { parseFilter, parseOrderBy, type Comparison } from "../filter.js";
import { checkMaxResults, decodePageToken, encodePageToken } from "../page-token.js";
import { numericCondition, stringCondition } from "../run-search.js";
import { nextSequenceValue, upsertTags } from "../../store/index.js";
import type { Experiment, LifecycleStage, SearchExperimentsQuery, Tag, TrackingStore } from "../types.js";
import { checkName, checkTag, LIMITS } from "../validate.js";
import { activeExperiment, checkViewType, experimentRow, stagesFor, type Db, type TrackingContext } from "./shared.js";

export async function toExperiments(q: Db, rows: readonly ExperimentsTable[]): Promise<Experiment[]> {
  if (rows.length === 0) return [];
  const tags = await q
    .selectFrom("experiment_tags")
    .selectAll()
    .where(
      "experiment_id",
      "in",
      rows.map((r) => r.experiment_id),
    )
    .orderBy("key")
    .execute();
  return rows.map((r) => ({
    experimentId: String(r.experiment_id),
    name: r.name,
    artifactLocation: r.artifact_location,
    lifecycleStage: r.lifecycle_stage as LifecycleStage,
    creationTime: Number(r.creation_time),
    lastUpdateTime: Number(r.last_update_time),
    tags: tags
      .filter((t) => Number(t.experiment_id) === Number(r.experiment_id))
      .map((t) => ({ key: t.key, value: t.value })),
  }));
}

/** Inserts a new experiment under the next experiment id, after checking its name is free. */
async function insertExperiment(
  tx: Db,
  e: { name: string; artifactLocation: string | undefined; tags: readonly Tag[] },
  clock: Clock,
): Promise<number> {
  const { name, artifactLocation, tags } = e;
  const taken = await tx
    .selectFrom("experiments")
    .select(["lifecycle_stage"])
    .where("name", "=", name)
    .executeTakeFirst();
  if (taken !== undefined) {
    throw new ConflictError(
      `experiment ${JSON.stringify(name)} already exists${taken.lifecycle_stage === "deleted" ? " in deleted state (restore it or pick another name)" : ""}`,
    );
  }
  const id = await nextSequenceValue(tx, "experiment_id");
  const now = clock();
  await tx
    .insertInto("experiments")
    .values({
      experiment_id: id,
      name,
      artifact_location:
        artifactLocation !== undefined && artifactLocation !== "" ? artifactLocation : `mlflow-artifacts:/${id}`,
      lifecycle_stage: "active",
      creation_time: now,
      last_update_time: now,
    })
    .execute();
  if (tags.length > 0) {
    await tx
      .insertInto("experiment_tags")
      .values(tags.map((t) => ({ experiment_id: id, key: t.key, value: t.value })))
      .execute();
  }
  return id;
}

/** MLflow's experiment search: filter on name, times and tags; order by attributes; offset pages. */
async function findExperiments(
  ctx: TrackingContext,
  query: SearchExperimentsQuery,
): ReturnType<TrackingStore["searchExperiments"]> {
  const { db, read } = ctx;
  const view = checkViewType(query.viewType);
  const max = checkMaxResults(query.maxResults, 1000, 50_000);
  const offset = decodePageToken(query.pageToken);
  const where: RawBuilder<unknown>[] = [sql`e.lifecycle_stage in (${sql.join(stagesFor(view))})`];
  const joins: RawBuilder<unknown>[] = [];
  parseFilter(query.filter).forEach((c: Comparison, i) => {
    if (c.entity === "tag") {
      const a = sql.raw(`t${i}`);
      joins.push(
        sql`join experiment_tags ${a} on ${a}.experiment_id = e.experiment_id and ${a}.key = ${c.key} and ${stringCondition(sql.raw(`t${i}.value`), c)}`,
      );
    } else if (c.entity === "attribute" && c.key === "name") where.push(stringCondition(sql.raw("e.name"), c));
    else if (c.entity === "attribute" && (c.key === "creation_time" || c.key === "last_update_time")) {
      where.push(numericCondition(sql.raw(`e.${c.key}`), c));
    } else {
      throw new InvalidParameterError(
        `filter: ${c.entity}s.${c.key} is not searchable for experiments; use name, creation_time, last_update_time or tags.<key>`,
        { details: { field: "filter", value: query.filter } },
      );
    }
  });
  const order: RawBuilder<unknown>[] = [];
  let hasId = false;
  for (const text of query.orderBy ?? []) {
    const o = parseOrderBy(text);
    const cols = ["name", "experiment_id", "creation_time", "last_update_time"];
    if (o.entity !== "attribute" || !cols.includes(o.key)) {
      throw new InvalidParameterError(`order_by ${JSON.stringify(text)}: experiments sort by ${cols.join(", ")}`, {
        details: { field: "order_by", value: text },
      });
    }
    if (o.key === "experiment_id") hasId = true;
    order.push(sql`${sql.raw(`e.${o.key}`)} ${sql.raw(o.ascending ? "asc" : "desc")}`);
  }
  // MLflow lists the most recently updated experiments first.
  if (order.length === 0) order.push(sql`e.last_update_time desc`);
  if (!hasId) order.push(sql`e.experiment_id asc`);
  return read(async () => {
    const rows =
      await sql<ExperimentsTable>`select e.* from experiments e ${sql.join(joins, sql` `)} where ${sql.join(where, sql` and `)}
      order by ${sql.join(order)} limit ${max + 1} offset ${offset}`.execute(db);
    const page = rows.rows.slice(0, max);
    const items = await toExperiments(db, page);
    return rows.rows.length > max ? { items, nextPageToken: encodePageToken(offset + max) } : { items };
  });
}

/** Experiments: create, read, search, rename, delete and restore (with their runs), tags. */
export function experimentMethods(
  ctx: TrackingContext,
): Pick<
  TrackingStore,
  | "createExperiment"
  | "getExperiment"
  | "getExperimentByName"
  | "searchExperiments"
  | "renameExperiment"
  | "deleteExperiment"
  | "restoreExperiment"
  | "setExperimentTag"
  | "deleteExperimentTag"
> {
  const { db, clock, read, write } = ctx;
  return {
    async createExperiment(name, artifactLocation, tags = [], actor) {
      checkName("experiment name", name, 256);
      for (const t of tags) checkTag(t, LIMITS.experimentTagValueLength);
      return write(actor, async (tx, audit) => {
        const id = await insertExperiment(tx, { name, artifactLocation, tags }, clock);
        await audit({ action: "experiment.create", targetType: "experiment", targetId: String(id), after: { name } });
        return String(id);
      });
    },

    async getExperiment(experimentId) {
      return read(async () => {
        const [e] = await toExperiments(db, [await experimentRow(db, experimentId)]);
        return e as Experiment;
      });
    },

    async getExperimentByName(name) {
      return read(async () => {
        const row = await db.selectFrom("experiments").selectAll().where("name", "=", name).executeTakeFirst();
        if (row === undefined) throw new NotFoundError(`experiment ${JSON.stringify(name)} does not exist`);
        const [e] = await toExperiments(db, [row]);
        return e as Experiment;
      });
    },

    searchExperiments: (query) => findExperiments(ctx, query),

    async renameExperiment(experimentId, newName, actor) {
      checkName("new_name", newName, 256);
      return write(actor, async (tx, audit) => {
        const row = await experimentRow(tx, experimentId);
        if (row.lifecycle_stage !== "active") {
          throw new InvalidParameterError(
            `experiment ${experimentId} is deleted: only active experiments can be renamed`,
            {
              details: { field: "experiment_id", value: experimentId },
            },
          );
        }
        const taken = await tx
          .selectFrom("experiments")
          .select("experiment_id")
          .where("name", "=", newName)
          .executeTakeFirst();
        if (taken !== undefined && Number(taken.experiment_id) !== Number(row.experiment_id)) {
          throw new ConflictError(`experiment ${JSON.stringify(newName)} already exists`);
        }
        await tx
          .updateTable("experiments")
          .set({ name: newName, last_update_time: clock() })
          .where("experiment_id", "=", row.experiment_id)
          .execute();
        await audit({
          action: "experiment.rename",
          targetType: "experiment",
          targetId: experimentId,
          before: { name: row.name },
          after: { name: newName },
        });
      });
    },

    async deleteExperiment(experimentId, actor) {
      return write(actor, async (tx, audit) => {
        const row = await experimentRow(tx, experimentId);
        if (Number(row.experiment_id) === 0) {
          throw new InvalidParameterError(`experiment_id "0": the Default experiment cannot be deleted`, {
            details: { field: "experiment_id", value: experimentId },
          });
        }
        const now = clock();
        await tx
          .updateTable("experiments")
          .set({ lifecycle_stage: "deleted", last_update_time: now })
          .where("experiment_id", "=", row.experiment_id)
          .execute();
        await tx
          .updateTable("runs")
          .set({ lifecycle_stage: "deleted", deleted_time: now })
          .where("experiment_id", "=", row.experiment_id)
          .where("lifecycle_stage", "=", "active")
          .execute();
        await audit({
          action: "experiment.delete",
          targetType: "experiment",
          targetId: experimentId,
          before: { lifecycleStage: row.lifecycle_stage },
          after: { lifecycleStage: "deleted" },
        });
      });
    },

    async restoreExperiment(experimentId, actor) {
      return write(actor, async (tx, audit) => {
        const row = await experimentRow(tx, experimentId);
        const now = clock();
        await tx
          .updateTable("experiments")
          .set({ lifecycle_stage: "active", last_update_time: now })
          .where("experiment_id", "=", row.experiment_id)
          .execute();
        await tx
          .updateTable("runs")
          .set({ lifecycle_stage: "active", deleted_time: null })
          .where("experiment_id", "=", row.experiment_id)
          .where("lifecycle_stage", "=", "deleted")
          .execute();
        await audit({
          action: "experiment.restore",
          targetType: "experiment",
          targetId: experimentId,
          before: { lifecycleStage: row.lifecycle_stage },
          after: { lifecycleStage: "active" },
        });
      });
    },
    ...experimentTagMethods(ctx),
  };
}

/** An experiment's tags, set and deleted with an audit record. */
function experimentTagMethods(ctx: TrackingContext): Pick<TrackingStore, "setExperimentTag" | "deleteExperimentTag"> {
  const { write } = ctx;
  return {
    async setExperimentTag(experimentId, key, value, actor) {
      checkTag({ key, value }, LIMITS.experimentTagValueLength);
      return write(actor, async (tx, audit) => {
        const row = await activeExperiment(tx, experimentId);
        await upsertTags(tx, "experiment_tags", { experiment_id: row.experiment_id }, [{ key, value }]);
        await audit({
          action: "experiment.set_tag",
          targetType: "experiment",
          targetId: experimentId,
          after: { key, value },
        });
      });
    },

    async deleteExperimentTag(experimentId, key, actor) {
      return write(actor, async (tx, audit) => {
        const row = await activeExperiment(tx, experimentId);
        const r = await tx
          .deleteFrom("experiment_tags")
          .where("experiment_id", "=", row.experiment_id)
          .where("key", "=", key)
          .executeTakeFirst();
        if (Number(r.numDeletedRows) === 0)
          throw new NotFoundError(`experiment ${experimentId} has no tag ${JSON.stringify(key)}`);
        await audit({
          action: "experiment.delete_tag",
          targetType: "experiment",
          targetId: experimentId,
          before: { key },
        });
      });
    },
  };
}
