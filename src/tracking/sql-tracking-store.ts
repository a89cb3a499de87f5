import { randomBytes, randomUUID } from "node:crypto";
import { sql, type Kysely, type RawBuilder } from "kysely";
import { ConflictError, InvalidParameterError, NotFoundError } from "../errors.js";
import { appendAudit, type AuditEntry } from "../store/audit.js";
import type { MetadataDb } from "../store/metadata-db.js";
import type { ExperimentsTable, KeelDatabase, LoggedModelsTable, RunsTable } from "../store/schema.js";
import { parseFilter, parseOrderBy, type Comparison } from "./filter.js";
import { checkMaxResults, decodePageToken, encodePageToken } from "./page-token.js";
import { numericCondition, runSearchSql, splitsOnFirstOrder, stringCondition } from "./run-search.js";
import type {
  Actor,
  CreateLoggedModelInput,
  CreateRunInput,
  DatasetInput,
  Experiment,
  LifecycleStage,
  LogBatchInput,
  LoggedModel,
  LoggedModelStatus,
  Metric,
  Param,
  Run,
  RunInfo,
  RunStatus,
  SearchExperimentsQuery,
  SearchLoggedModelsQuery,
  SearchRunsQuery,
  Tag,
  TrackingStore,
  UpdateRunInput,
  ViewType,
} from "./types.js";
import {
  checkBatchSizes,
  checkKey,
  checkMetric,
  checkName,
  checkParam,
  checkTag,
  isNewer,
  LIMITS,
} from "./validate.js";

export interface TrackingStoreDeps {
  /** Epoch milliseconds; injectable so tests control time. */
  readonly clock?: () => number;
}

type Db = Kysely<KeelDatabase>;

const RUN_STATUSES: readonly RunStatus[] = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"];
const VIEW_TYPES: readonly ViewType[] = ["ACTIVE_ONLY", "DELETED_ONLY", "ALL"];
const LOGGED_MODEL_STATUSES: readonly LoggedModelStatus[] = [
  "LOGGED_MODEL_PENDING",
  "LOGGED_MODEL_READY",
  "LOGGED_MODEL_UPLOAD_FAILED",
];
/** SQLite allows 32,766 bound values per statement; 7 per metric row. */
const METRIC_ROWS_PER_INSERT = 1000;
const RUN_NAME_TAG = "mlflow.runName";

const ADJECTIVES = [
  "amber",
  "bold",
  "brisk",
  "calm",
  "clever",
  "eager",
  "gentle",
  "keen",
  "lucid",
  "merry",
  "nimble",
  "quiet",
  "rapid",
  "steady",
  "sunny",
  "witty",
];
const NOUNS = [
  "badger",
  "crane",
  "dolphin",
  "falcon",
  "fox",
  "heron",
  "lynx",
  "otter",
  "owl",
  "panda",
  "raven",
  "seal",
  "sparrow",
  "stag",
  "tern",
  "wolf",
];

function randomName(): string {
  const b = randomBytes(3);
  return `${ADJECTIVES[(b[0] ?? 0) % ADJECTIVES.length]}-${NOUNS[(b[1] ?? 0) % NOUNS.length]}-${(b[2] ?? 0) % 1000}`;
}

function newRunId(): string {
  return randomUUID().replaceAll("-", "");
}

function checkViewType(v: ViewType | undefined): ViewType {
  const view = v ?? "ACTIVE_ONLY";
  if (!VIEW_TYPES.includes(view)) {
    throw new InvalidParameterError(`view_type ${JSON.stringify(v)} must be one of ${VIEW_TYPES.join(", ")}`, {
      details: { field: "view_type", value: v },
    });
  }
  return view;
}

function stagesFor(view: ViewType): LifecycleStage[] {
  return view === "ALL" ? ["active", "deleted"] : view === "DELETED_ONLY" ? ["deleted"] : ["active"];
}

function experimentIdNumber(id: string, field = "experiment_id"): number {
  if (typeof id !== "string" || !/^\d{1,15}$/.test(id)) {
    throw new InvalidParameterError(`${field} ${JSON.stringify(id)} must be a string of digits`, {
      details: { field, value: id },
    });
  }
  return Number(id);
}

function metricRow(runId: string, m: Metric) {
  const nan = Number.isNaN(m.value);
  return {
    run_uuid: runId,
    key: m.key,
    // NaN is stored as +Infinity (flagged): it then sorts above every number, as MLflow orders it.
    value: nan ? Number.POSITIVE_INFINITY : m.value,
    is_nan: nan ? 1 : 0,
    timestamp: m.timestamp,
    step: m.step,
    model_id: m.modelId ?? null,
  };
}

function toMetric(r: { key: string; value: number; is_nan: number; timestamp: number; step: number }): Metric {
  return {
    key: r.key,
    value: Number(r.is_nan) === 1 ? Number.NaN : Number(r.value),
    timestamp: Number(r.timestamp),
    step: Number(r.step),
  };
}

function toRunInfo(r: RunsTable): RunInfo {
  return {
    runId: r.run_uuid,
    runName: r.name,
    experimentId: String(r.experiment_id),
    userId: r.user_id,
    status: r.status as RunStatus,
    startTime: Number(r.start_time),
    endTime: r.end_time === null ? null : Number(r.end_time),
    artifactUri: r.artifact_uri,
    lifecycleStage: r.lifecycle_stage as LifecycleStage,
  };
}

function byKey<T extends { key: string }>(a: T, b: T): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * The TrackingStore over the metadata database (SQLite or PostgreSQL), with MLflow's semantics.
 * Every mutation runs in one transaction together with its audit-log row.
 */
export function createTrackingStore(metadata: MetadataDb, deps: TrackingStoreDeps = {}): TrackingStore {
  const db: Db = metadata.db;
  const clock = deps.clock ?? Date.now;

  async function read<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw metadata.translateError(e);
    }
  }

  async function write<T>(
    actor: Actor | undefined,
    fn: (tx: Db, audit: (e: Omit<AuditEntry, "actor">) => Promise<void>) => Promise<T>,
  ): Promise<T> {
    try {
      return await db
        .transaction()
        .execute((tx) => fn(tx, (e) => appendAudit(tx, { ...e, actor: actor?.userId ?? "anonymous" }, clock())));
    } catch (e) {
      throw metadata.translateError(e);
    }
  }

  async function experimentRow(q: Db, experimentId: string): Promise<ExperimentsTable> {
    const row = await q
      .selectFrom("experiments")
      .selectAll()
      .where("experiment_id", "=", experimentIdNumber(experimentId))
      .executeTakeFirst();
    if (row === undefined) throw new NotFoundError(`experiment with id ${JSON.stringify(experimentId)} does not exist`);
    return row;
  }

  async function activeExperiment(q: Db, experimentId: string): Promise<ExperimentsTable> {
    const row = await experimentRow(q, experimentId);
    if (row.lifecycle_stage !== "active") {
      throw new InvalidParameterError(
        `experiment ${experimentId} is deleted: the operation needs an active experiment (restore it first)`,
        { details: { field: "experiment_id", value: experimentId } },
      );
    }
    return row;
  }

  async function toExperiments(q: Db, rows: readonly ExperimentsTable[]): Promise<Experiment[]> {
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

  async function runRow(q: Db, runId: string): Promise<RunsTable> {
    if (typeof runId !== "string" || runId === "") {
      throw new InvalidParameterError(`run_id ${JSON.stringify(runId)} must be a non-empty string`, {
        details: { field: "run_id", value: runId },
      });
    }
    const row = await q.selectFrom("runs").selectAll().where("run_uuid", "=", runId).executeTakeFirst();
    if (row === undefined) throw new NotFoundError(`run with id ${JSON.stringify(runId)} does not exist`);
    return row;
  }

  async function activeRun(q: Db, runId: string): Promise<RunsTable> {
    const row = await runRow(q, runId);
    if (row.lifecycle_stage !== "active") {
      throw new InvalidParameterError(`run ${runId} is deleted: it must be active to be changed (restore it first)`, {
        details: { field: "run_id", value: runId },
      });
    }
    return row;
  }

  async function toRuns(q: Db, rows: readonly RunsTable[]): Promise<Run[]> {
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

  async function upsertRunTags(tx: Db, runId: string, tags: readonly Tag[]): Promise<void> {
    for (const t of tags) {
      await tx
        .insertInto("tags")
        .values({ run_uuid: runId, key: t.key, value: t.value })
        .onConflict((oc) => oc.columns(["run_uuid", "key"]).doUpdateSet({ value: t.value }))
        .execute();
      // MLflow keeps the run name and its tag in step.
      if (t.key === RUN_NAME_TAG)
        await tx.updateTable("runs").set({ name: t.value }).where("run_uuid", "=", runId).execute();
    }
  }

  async function insertParams(
    tx: Db,
    table: "params" | "logged_model_params",
    ownerId: string,
    params: readonly Param[],
  ): Promise<string[]> {
    const incoming = new Map<string, string>();
    for (const p of params) {
      checkParam(p);
      const seen = incoming.get(p.key);
      if (seen !== undefined && seen !== p.value) {
        throw new InvalidParameterError(
          `param ${JSON.stringify(p.key)}: logged twice in one batch with different values (${JSON.stringify(seen)}, ${JSON.stringify(p.value)})`,
          { details: { field: "params", value: p.key } },
        );
      }
      incoming.set(p.key, p.value);
    }
    if (incoming.size === 0) return [];
    const keys = [...incoming.keys()];
    const existing =
      table === "params"
        ? await tx
            .selectFrom("params")
            .select(["key", "value"])
            .where("run_uuid", "=", ownerId)
            .where("key", "in", keys)
            .execute()
        : await tx
            .selectFrom("logged_model_params")
            .select(["key", "value"])
            .where("model_id", "=", ownerId)
            .where("key", "in", keys)
            .execute();
    for (const e of existing) {
      const v = incoming.get(e.key);
      if (v !== undefined && v !== e.value) {
        throw new InvalidParameterError(
          `param ${JSON.stringify(e.key)}: changing a logged param is not allowed (logged ${JSON.stringify(e.value)}, new ${JSON.stringify(v)}); params are immutable`,
          { details: { field: "params", key: e.key, old: e.value, new: v } },
        );
      }
      incoming.delete(e.key);
    }
    if (incoming.size > 0) {
      const rows = [...incoming].map(([key, value]) => ({ key, value }));
      if (table === "params") {
        await tx
          .insertInto("params")
          .values(rows.map((r) => ({ ...r, run_uuid: ownerId })))
          .execute();
      } else {
        await tx
          .insertInto("logged_model_params")
          .values(rows.map((r) => ({ ...r, model_id: ownerId })))
          .execute();
      }
    }
    return [...incoming.keys()];
  }

  async function insertMetrics(tx: Db, runId: string, metrics: readonly Metric[]): Promise<void> {
    if (metrics.length === 0) return;
    const rows = metrics.map((m) => metricRow(runId, m));
    for (let i = 0; i < rows.length; i += METRIC_ROWS_PER_INSERT) {
      await tx
        .insertInto("metrics")
        .values(rows.slice(i, i + METRIC_ROWS_PER_INSERT))
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
    // Latest value per key: best of the batch, then compared with what is stored.
    const best = new Map<string, (typeof rows)[number]>();
    for (const r of rows) {
      const cur = best.get(r.key);
      if (cur === undefined || isNewer(cmp(r), cmp(cur))) best.set(r.key, r);
    }
    const stored = await tx
      .selectFrom("latest_metrics")
      .selectAll()
      .where("run_uuid", "=", runId)
      .where("key", "in", [...best.keys()])
      .execute();
    const storedByKey = new Map(stored.map((s) => [s.key, s]));
    const updates = [...best.values()].filter((r) => {
      const s = storedByKey.get(r.key);
      return s === undefined || isNewer(cmp(r), cmp(s));
    });
    for (const u of updates) {
      const row = {
        run_uuid: runId,
        key: u.key,
        value: u.value,
        is_nan: u.is_nan,
        timestamp: u.timestamp,
        step: u.step,
      };
      await tx
        .insertInto("latest_metrics")
        .values(row)
        .onConflict((oc) =>
          oc
            .columns(["run_uuid", "key"])
            .doUpdateSet({ value: row.value, is_nan: row.is_nan, timestamp: row.timestamp, step: row.step }),
        )
        .execute();
    }
  }

  function cmp(r: { value: number; is_nan: number; timestamp: number; step: number }) {
    return {
      step: Number(r.step),
      timestamp: Number(r.timestamp),
      value: Number(r.is_nan) === 1 ? Number.NaN : Number(r.value),
    };
  }

  async function loggedModelRow(q: Db, modelId: string): Promise<LoggedModelsTable> {
    const row = await q
      .selectFrom("logged_models")
      .selectAll()
      .where("model_id", "=", modelId)
      .where("lifecycle_stage", "=", "active")
      .executeTakeFirst();
    if (row === undefined) throw new NotFoundError(`logged model with id ${JSON.stringify(modelId)} does not exist`);
    return row;
  }

  async function toLoggedModels(q: Db, rows: readonly LoggedModelsTable[]): Promise<LoggedModel[]> {
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
      metrics: metrics.filter((m) => m.model_id === r.model_id).map((m) => ({ ...toMetric(m), modelId: r.model_id })),
    }));
  }

  const store: TrackingStore = {
    async createExperiment(name, artifactLocation, tags = [], actor) {
      checkName("experiment name", name, 256);
      for (const t of tags) checkTag(t, LIMITS.experimentTagValueLength);
      return write(actor, async (tx, audit) => {
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
        await tx
          .updateTable("keel_sequences")
          .set((eb) => ({ value: eb("value", "+", 1) }))
          .where("name", "=", "experiment_id")
          .execute();
        const seq = await tx
          .selectFrom("keel_sequences")
          .select("value")
          .where("name", "=", "experiment_id")
          .executeTakeFirstOrThrow();
        const id = Number(seq.value);
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

    async searchExperiments(query: SearchExperimentsQuery) {
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
    },

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

    async setExperimentTag(experimentId, key, value, actor) {
      checkTag({ key, value }, LIMITS.experimentTagValueLength);
      return write(actor, async (tx, audit) => {
        const row = await activeExperiment(tx, experimentId);
        await tx
          .insertInto("experiment_tags")
          .values({ experiment_id: row.experiment_id, key, value })
          .onConflict((oc) => oc.columns(["experiment_id", "key"]).doUpdateSet({ value }))
          .execute();
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

    async searchRuns(query: SearchRunsQuery) {
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
    },

    async logMetric(runId, metric, actor) {
      return store.logBatch(runId, { metrics: [metric] }, actor);
    },

    async logParam(runId, param, actor) {
      return store.logBatch(runId, { params: [param] }, actor);
    },

    async setTag(runId, tag, actor) {
      return store.logBatch(runId, { tags: [tag] }, actor);
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
      const max = checkMaxResults(query.maxResults, 25_000, 25_000);
      const offset = decodePageToken(query.pageToken);
      return read(async () => {
        await runRow(db, runId);
        const rows = await db
          .selectFrom("metrics")
          .selectAll()
          .where("run_uuid", "=", runId)
          .where("key", "=", key)
          .orderBy("step")
          .orderBy("timestamp")
          .orderBy("value")
          .limit(max + 1)
          .offset(offset)
          .execute();
        const items = rows.slice(0, max).map(toMetric);
        return rows.length > max ? { items, nextPageToken: encodePageToken(offset + max) } : { items };
      });
    },

    async logInputs(runId, datasets: readonly DatasetInput[], actor) {
      for (const d of datasets) {
        checkName("dataset name", d.dataset.name, 500);
        checkName("dataset digest", d.dataset.digest, 36);
        checkName("dataset source_type", d.dataset.sourceType, 36);
        if (typeof d.dataset.source !== "string") {
          throw new InvalidParameterError(`dataset ${d.dataset.name} source must be a string`, {
            details: { field: "source" },
          });
        }
        for (const t of d.tags) {
          checkName("input tag key", t.key, 255);
          if (t.value.length > 500) {
            throw new InvalidParameterError(`input tag ${t.key} value must be at most 500 characters`, {
              details: { field: "tags", value: t.key },
            });
          }
        }
      }
      return write(actor, async (tx, audit) => {
        const run = await activeRun(tx, runId);
        for (const d of datasets) {
          const ds = d.dataset;
          const found = await tx
            .selectFrom("datasets")
            .select("dataset_uuid")
            .where("experiment_id", "=", run.experiment_id)
            .where("name", "=", ds.name)
            .where("digest", "=", ds.digest)
            .executeTakeFirst();
          let datasetUuid = found?.dataset_uuid;
          if (datasetUuid === undefined) {
            datasetUuid = randomUUID();
            await tx
              .insertInto("datasets")
              .values({
                dataset_uuid: datasetUuid,
                experiment_id: run.experiment_id,
                name: ds.name,
                digest: ds.digest,
                source_type: ds.sourceType,
                source: ds.source,
                schema: ds.schema ?? null,
                profile: ds.profile ?? null,
              })
              .execute();
          }
          const linked = await tx
            .selectFrom("inputs")
            .select("input_uuid")
            .where("dataset_uuid", "=", datasetUuid)
            .where("run_uuid", "=", runId)
            .executeTakeFirst();
          if (linked !== undefined) continue;
          const inputUuid = randomUUID();
          await tx
            .insertInto("inputs")
            .values({ input_uuid: inputUuid, dataset_uuid: datasetUuid, run_uuid: runId })
            .execute();
          if (d.tags.length > 0) {
            await tx
              .insertInto("input_tags")
              .values(d.tags.map((t) => ({ input_uuid: inputUuid, key: t.key, value: t.value })))
              .execute();
          }
        }
        await audit({
          action: "run.log_inputs",
          targetType: "run",
          targetId: runId,
          after: {
            datasets: datasets.map((d) => ({
              name: d.dataset.name,
              digest: d.dataset.digest,
              source: d.dataset.source.slice(0, 200),
            })),
          },
        });
      });
    },

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

    async searchLoggedModels(query: SearchLoggedModelsQuery) {
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
            sql`exists (select 1 from metrics x where x.model_id = m.model_id and x.key = ${c.key} and x.is_nan = 0 and ${numericCondition(sql.raw("x.value"), c)})`,
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
        const col = strings[o.fieldName] ?? numbers[o.fieldName];
        if (col === undefined) {
          throw new InvalidParameterError(
            `order_by field_name ${JSON.stringify(o.fieldName)}: logged models sort by ${[...Object.keys(strings), ...Object.keys(numbers)].join(", ")}`,
            {
              details: { field: "order_by", value: o.fieldName },
            },
          );
        }
        order.push(sql`${sql.raw(`m.${col}`)} ${sql.raw(o.ascending === false ? "desc" : "asc")}`);
      }
      if (order.length === 0) order.push(sql`m.creation_timestamp_ms desc`);
      order.push(sql`m.model_id asc`);
      return read(async () => {
        const rows = await sql<LoggedModelsTable>`select m.* from logged_models m where ${sql.join(where, sql` and `)}
          order by ${sql.join(order)} limit ${max + 1} offset ${offset}`.execute(db);
        const items = await toLoggedModels(db, rows.rows.slice(0, max));
        return rows.rows.length > max ? { items, nextPageToken: encodePageToken(offset + max) } : { items };
      });
    },

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
        for (const t of tags) {
          await tx
            .insertInto("logged_model_tags")
            .values({ model_id: modelId, key: t.key, value: t.value })
            .onConflict((oc) => oc.columns(["model_id", "key"]).doUpdateSet({ value: t.value }))
            .execute();
        }
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
  return store;
}
