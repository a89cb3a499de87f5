import type { Clock } from "../../runtime/index.js";
import { STAGES } from "../../wire/index.js";
import { sql, type Kysely } from "kysely";
import type { Signature } from "../../data/index.js";
import { NotFoundError } from "../../errors.js";
import { writeAudited, type AppendAudit } from "../../store/index.js";
import type { MetadataDb, KeelDatabase, ModelVersionsTable, RegisteredModelsTable } from "../../store/index.js";
import type { Actor, Tag } from "../../tracking/index.js";
import type { Lineage, ModelVersion, ModelVersionStatus, RegisteredModel, Stage, WebhookEvent } from "../types.js";
import type { WebhookDispatcher, WebhookTarget } from "../webhooks.js";
import { specError } from "../../spec-fields.js";

export interface RegistryStoreDeps {
  readonly clock?: Clock;
  /** Delivers webhook events after the mutation commits; without it, webhooks are stored but not sent. */
  readonly webhooks?: WebhookDispatcher;
  /** Signs deliveries of webhooks created without their own secret. */
  readonly webhookSecret?: string;
}

export type Db = Kysely<KeelDatabase>;

/** A webhook event a mutation raises; delivered after its transaction commits. */
export interface Outbox {
  event: WebhookEvent;
  model: string;
  data: Record<string, unknown>;
}

/**
 * What the registry's aggregates (models, versions, stages, aliases, webhooks) share: the
 * database, the clock, translated reads, and audited writes that may raise webhook events.
 */
export interface RegistryContext {
  readonly db: Db;
  readonly clock: Clock;
  readonly webhookSecret: string | undefined;
  /** Runs a read; driver errors come out translated. */
  readonly read: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Runs a mutation in one transaction with its audit row; events `emit`ted go out after the commit. */
  readonly write: <T>(
    actor: Actor | undefined,
    fn: (tx: Db, audit: AppendAudit, emit: (o: Outbox) => void) => Promise<T>,
  ) => Promise<T>;
}

export function registryContext(metadata: MetadataDb, deps: RegistryStoreDeps): RegistryContext {
  const clock = deps.clock ?? Date.now;

  async function resolveTargets(tx: Db, outbox: readonly Outbox[]): Promise<{ o: Outbox; t: WebhookTarget[] }[]> {
    const hooks = await tx.selectFrom("webhooks").selectAll().execute();
    return outbox.map((o) => ({
      o,
      t: hooks
        .filter(
          (h) =>
            (h.model_name === null || h.model_name === o.model) && (JSON.parse(h.events) as string[]).includes(o.event),
        )
        .flatMap((h) => {
          const secret = h.secret ?? deps.webhookSecret;
          return secret === undefined ? [] : [{ id: h.id, url: h.url, secret }];
        }),
    }));
  }

  return {
    db: metadata.db,
    clock,
    webhookSecret: deps.webhookSecret,
    read: (fn) => metadata.query(fn),
    async write(actor, fn) {
      const outbox: Outbox[] = [];
      let targets: { o: Outbox; t: WebhookTarget[] }[] = [];
      const result = await writeAudited(metadata, clock, actor, async (tx, audit) => {
        const r = await fn(tx, audit, (o) => outbox.push(o));
        if (outbox.length > 0 && deps.webhooks !== undefined) targets = await resolveTargets(tx, outbox);
        return r;
      });
      // After the commit: a slow or failing receiver never holds or undoes the mutation.
      for (const { o, t } of targets)
        deps.webhooks?.dispatch(t, o.event, { ...o.data, actor: actor?.userId ?? "anonymous" });
      return result;
    },
  };
}

export const DELETED = "Deleted_Internal";

export function checkModelName(name: unknown, field = "name"): string {
  if (typeof name !== "string" || name.trim() === "") throw specError(field, name, "must be a non-empty string");
  if (name.length > 256) throw specError(field, name, "must be at most 256 characters");
  return name;
}

export function versionNumber(version: string): number {
  if (typeof version !== "string" || !/^\d{1,9}$/.test(version))
    throw specError("version", version, "must be a positive integer");
  return Number(version);
}

/** MLflow accepts stage names in any case ("production"); they are stored capitalised. */
export function canonicalStage(stage: string): Stage {
  const found = STAGES.find((s) => s.toLowerCase() === String(stage).toLowerCase());
  if (found === undefined) throw specError("stage", stage, `must be one of ${STAGES.join(", ")}`);
  return found;
}

/** MLflow's alias rules: not "latest", not shaped like a version reference (v1, V23). */
export function checkAlias(alias: unknown): string {
  if (typeof alias !== "string" || alias === "") throw specError("alias", alias, "must be a non-empty string");
  if (alias.length > 256) throw specError("alias", alias, "must be at most 256 characters");
  if (alias.toLowerCase() === "latest") throw specError("alias", alias, "'latest' is reserved");
  if (/^[vV]\d+$/.test(alias)) throw specError("alias", alias, "must not look like a version reference (v<number>)");
  if (!/^[\w\-.]+$/.test(alias)) throw specError("alias", alias, "may contain only letters, digits, _, - and .");
  return alias;
}

export function checkTag(t: Tag): void {
  if (typeof t.key !== "string" || t.key === "" || t.key.length > 250)
    throw specError("tag key", t.key, "must be 1 to 250 characters");
  if (typeof t.value !== "string" || t.value.length > 5000)
    throw specError(`tag ${t.key} value`, t.value, "must be a string of at most 5000 characters");
}

export function byKey(a: Tag, b: Tag): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

export function parseJson<T>(text: string | null): T | undefined {
  if (text === null) return undefined;
  return JSON.parse(text) as T;
}

export async function modelRow(q: Db, name: string): Promise<RegisteredModelsTable> {
  checkModelName(name);
  const row = await q.selectFrom("registered_models").selectAll().where("name", "=", name).executeTakeFirst();
  if (row === undefined) throw new NotFoundError(`registered model with name=${JSON.stringify(name)} not found`);
  return row;
}

export async function versionRow(q: Db, name: string, version: string): Promise<ModelVersionsTable> {
  const v = versionNumber(version);
  checkModelName(name);
  const row = await q
    .selectFrom("model_versions")
    .selectAll()
    .where("name", "=", name)
    .where("version", "=", v)
    .where("current_stage", "!=", DELETED)
    .executeTakeFirst();
  if (row === undefined)
    throw new NotFoundError(`model version (name=${JSON.stringify(name)}, version=${version}) not found`);
  return row;
}

export async function toVersions(q: Db, rows: readonly ModelVersionsTable[]): Promise<ModelVersion[]> {
  if (rows.length === 0) return [];
  const names = [...new Set(rows.map((r) => r.name))];
  const [tags, aliases] = await Promise.all([
    q.selectFrom("model_version_tags").selectAll().where("name", "in", names).execute(),
    q.selectFrom("registered_model_aliases").selectAll().where("name", "in", names).orderBy("alias").execute(),
  ]);
  return rows.map((r) => {
    const signature = parseJson<Signature>(r.signature);
    const lineage = parseJson<Lineage>(r.lineage);
    return {
      name: r.name,
      version: String(r.version),
      creationTimestamp: Number(r.creation_time),
      lastUpdatedTimestamp: Number(r.last_updated_time),
      userId: r.user_id,
      currentStage: r.current_stage as Stage,
      description: r.description,
      source: r.source,
      runId: r.run_id,
      runLink: r.run_link,
      status: r.status as ModelVersionStatus,
      statusMessage: r.status_message,
      tags: tags
        .filter((t) => t.name === r.name && Number(t.version) === Number(r.version))
        .map((t) => ({ key: t.key, value: t.value }))
        .sort(byKey),
      aliases: aliases.filter((a) => a.name === r.name && Number(a.version) === Number(r.version)).map((a) => a.alias),
      ...(r.checksum !== null ? { checksum: r.checksum } : {}),
      ...(signature !== undefined ? { signature } : {}),
      ...(lineage !== undefined ? { lineage } : {}),
      ...(r.model_id !== null && r.model_id !== undefined ? { modelId: r.model_id } : {}),
    };
  });
}

export async function toModels(q: Db, rows: readonly RegisteredModelsTable[]): Promise<RegisteredModel[]> {
  if (rows.length === 0) return [];
  const names = rows.map((r) => r.name);
  const [tags, aliases, latest] = await Promise.all([
    q.selectFrom("registered_model_tags").selectAll().where("name", "in", names).execute(),
    q.selectFrom("registered_model_aliases").selectAll().where("name", "in", names).orderBy("alias").execute(),
    // Latest version per (model, stage), as MLflow's latest_versions.
    sql<ModelVersionsTable>`select v.* from model_versions v join (
        select name, current_stage, max(version) as version from model_versions
        where name in (${sql.join(names)}) and current_stage <> ${DELETED} group by name, current_stage
      ) l on l.name = v.name and l.version = v.version`.execute(q),
  ]);
  const latestVersions = await toVersions(q, latest.rows);
  return rows.map((r) => ({
    name: r.name,
    creationTimestamp: Number(r.creation_time),
    lastUpdatedTimestamp: Number(r.last_updated_time),
    userId: r.user_id,
    description: r.description,
    latestVersions: latestVersions
      .filter((v) => v.name === r.name)
      .sort((a, b) => Number(a.version) - Number(b.version)),
    tags: tags
      .filter((t) => t.name === r.name)
      .map((t) => ({ key: t.key, value: t.value }))
      .sort(byKey),
    aliases: aliases.filter((a) => a.name === r.name).map((a) => ({ alias: a.alias, version: String(a.version) })),
  }));
}

export async function getModel(q: Db, name: string): Promise<RegisteredModel> {
  const [m] = await toModels(q, [await modelRow(q, name)]);
  return m as RegisteredModel;
}

export async function getVersion(q: Db, name: string, version: string): Promise<ModelVersion> {
  const [v] = await toVersions(q, [await versionRow(q, name, version)]);
  return v as ModelVersion;
}

export async function touchModel(tx: Db, name: string, now: number): Promise<void> {
  await tx.updateTable("registered_models").set({ last_updated_time: now }).where("name", "=", name).execute();
}
