import type { Clock } from "../../runtime/index.js";
import { VIEW_TYPES } from "../../wire/index.js";
import { randomBytes, randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { InvalidParameterError, NotFoundError } from "../../errors.js";
import { writeAudited, type AppendAudit } from "../../store/index.js";
import type { MetadataDb, ExperimentsTable, KeelDatabase, RunsTable } from "../../store/index.js";
import type { Actor, LifecycleStage, Metric, RunInfo, RunStatus, ViewType } from "../types.js";
import { specError } from "../../spec-fields.js";

/**
 * What the tracking store's aggregates (experiments, runs, run data, datasets, logged models)
 * share: the database, the clock, translated reads, audited writes, and the row helpers more than
 * one of them needs.
 */
export type Db = Kysely<KeelDatabase>;

export interface TrackingContext {
  readonly db: Db;
  readonly clock: Clock;
  /** Runs a read; driver errors come out translated. */
  readonly read: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Runs a mutation in one transaction together with its audit row. */
  readonly write: <T>(actor: Actor | undefined, fn: (tx: Db, audit: AppendAudit) => Promise<T>) => Promise<T>;
}

export function trackingContext(metadata: MetadataDb, clock: Clock): TrackingContext {
  return {
    db: metadata.db,
    clock,
    read: (fn) => metadata.query(fn),
    write: (actor, fn) => writeAudited(metadata, clock, actor, fn),
  };
}

export const RUN_NAME_TAG = "mlflow.runName";

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

export function randomName(): string {
  const b = randomBytes(3);
  return `${ADJECTIVES[(b[0] ?? 0) % ADJECTIVES.length]}-${NOUNS[(b[1] ?? 0) % NOUNS.length]}-${(b[2] ?? 0) % 1000}`;
}

export function newRunId(): string {
  return randomUUID().replaceAll("-", "");
}

export function checkViewType(v: ViewType | undefined): ViewType {
  const view = v ?? "ACTIVE_ONLY";
  if (!VIEW_TYPES.includes(view)) {
    throw specError("view_type", v, `must be one of ${VIEW_TYPES.join(", ")}`);
  }
  return view;
}

export function stagesFor(view: ViewType): LifecycleStage[] {
  return view === "ALL" ? ["active", "deleted"] : view === "DELETED_ONLY" ? ["deleted"] : ["active"];
}

export function experimentIdNumber(id: string, field = "experiment_id"): number {
  if (typeof id !== "string" || !/^\d{1,15}$/.test(id)) {
    throw specError(field, id, "must be a string of digits");
  }
  return Number(id);
}

export function toMetric(r: { key: string; value: number; is_nan: number; timestamp: number; step: number }): Metric {
  return {
    key: r.key,
    value: Number(r.is_nan) === 1 ? Number.NaN : Number(r.value),
    timestamp: Number(r.timestamp),
    step: Number(r.step),
  };
}

export function toRunInfo(r: RunsTable): RunInfo {
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

export function byKey<T extends { key: string }>(a: T, b: T): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

export async function experimentRow(q: Db, experimentId: string): Promise<ExperimentsTable> {
  const row = await q
    .selectFrom("experiments")
    .selectAll()
    .where("experiment_id", "=", experimentIdNumber(experimentId))
    .executeTakeFirst();
  if (row === undefined) throw new NotFoundError(`experiment with id ${JSON.stringify(experimentId)} does not exist`);
  return row;
}

export async function activeExperiment(q: Db, experimentId: string): Promise<ExperimentsTable> {
  const row = await experimentRow(q, experimentId);
  if (row.lifecycle_stage !== "active") {
    throw new InvalidParameterError(
      `experiment ${experimentId} is deleted: the operation needs an active experiment (restore it first)`,
      { details: { field: "experiment_id", value: experimentId } },
    );
  }
  return row;
}

export async function runRow(q: Db, runId: string): Promise<RunsTable> {
  if (typeof runId !== "string" || runId === "") {
    throw new InvalidParameterError(`run_id ${JSON.stringify(runId)} must be a non-empty string`, {
      details: { field: "run_id", value: runId },
    });
  }
  const row = await q.selectFrom("runs").selectAll().where("run_uuid", "=", runId).executeTakeFirst();
  if (row === undefined) throw new NotFoundError(`run with id ${JSON.stringify(runId)} does not exist`);
  return row;
}

export async function activeRun(q: Db, runId: string): Promise<RunsTable> {
  const row = await runRow(q, runId);
  if (row.lifecycle_stage !== "active") {
    throw new InvalidParameterError(`run ${runId} is deleted: it must be active to be changed (restore it first)`, {
      details: { field: "run_id", value: runId },
    });
  }
  return row;
}
