import { randomBytes } from "node:crypto";
import { sql, type Kysely, type RawBuilder } from "kysely";
import type { Signature } from "../data/signature.js";
import { ConflictError, InvalidParameterError, InvalidStateError, NotFoundError } from "../errors.js";
import { appendAudit, type AuditEntry } from "../store/audit.js";
import type { MetadataDb } from "../store/metadata-db.js";
import type { KeelDatabase, ModelVersionsTable, RegisteredModelsTable } from "../store/schema.js";
import { parseFilter, parseOrderBy } from "../tracking/filter.js";
import { checkMaxResults, decodePageToken, encodePageToken } from "../tracking/page-token.js";
import { numericCondition, stringCondition } from "../tracking/run-search.js";
import type { Actor, Page, Tag } from "../tracking/types.js";
import type {
  CreateModelVersionInput,
  Lineage,
  ModelVersion,
  ModelVersionStatus,
  RegisteredModel,
  RegistryStore,
  SearchQuery,
  Stage,
  Webhook,
  WebhookEvent,
} from "./types.js";
import type { WebhookDispatcher, WebhookTarget } from "./webhooks.js";

export interface RegistryStoreDeps {
  readonly clock?: () => number;
  /** Delivers webhook events after the mutation commits; without it, webhooks are stored but not sent. */
  readonly webhooks?: WebhookDispatcher;
  /** Signs deliveries of webhooks created without their own secret. */
  readonly webhookSecret?: string;
}

type Db = Kysely<KeelDatabase>;

const STAGES: readonly Stage[] = ["None", "Staging", "Production", "Archived"];
const DELETED = "Deleted_Internal";
const EVENTS: readonly WebhookEvent[] = [
  "MODEL_VERSION_CREATED",
  "MODEL_VERSION_ALIAS_CREATED",
  "MODEL_VERSION_ALIAS_DELETED",
  "MODEL_VERSION_STAGE_CHANGED",
];
const SHA256 = /^[0-9a-f]{64}$/;

function invalid(field: string, value: unknown, rule: string): never {
  throw new InvalidParameterError(`${field} ${JSON.stringify(value)}: ${rule}`, { details: { field, value, rule } });
}

function checkModelName(name: unknown, field = "name"): string {
  if (typeof name !== "string" || name.trim() === "") invalid(field, name, "must be a non-empty string");
  if (name.length > 256) invalid(field, name, "must be at most 256 characters");
  return name;
}

function versionNumber(version: string): number {
  if (typeof version !== "string" || !/^\d{1,9}$/.test(version))
    invalid("version", version, "must be a positive integer");
  return Number(version);
}

/** MLflow accepts stage names in any case ("production"); they are stored capitalised. */
export function canonicalStage(stage: string): Stage {
  const found = STAGES.find((s) => s.toLowerCase() === String(stage).toLowerCase());
  if (found === undefined) invalid("stage", stage, `must be one of ${STAGES.join(", ")}`);
  return found;
}

/** MLflow's alias rules: not "latest", not shaped like a version reference (v1, V23). */
export function checkAlias(alias: unknown): string {
  if (typeof alias !== "string" || alias === "") invalid("alias", alias, "must be a non-empty string");
  if (alias.length > 256) invalid("alias", alias, "must be at most 256 characters");
  if (alias.toLowerCase() === "latest") invalid("alias", alias, "'latest' is reserved");
  if (/^[vV]\d+$/.test(alias)) invalid("alias", alias, "must not look like a version reference (v<number>)");
  if (!/^[\w\-.]+$/.test(alias)) invalid("alias", alias, "may contain only letters, digits, _, - and .");
  return alias;
}

function checkTag(t: Tag): void {
  if (typeof t.key !== "string" || t.key === "" || t.key.length > 250)
    invalid("tag key", t.key, "must be 1 to 250 characters");
  if (typeof t.value !== "string" || t.value.length > 5000)
    invalid(`tag ${t.key} value`, t.value, "must be a string of at most 5000 characters");
}

function byKey(a: Tag, b: Tag): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function parseJson<T>(text: string | null): T | undefined {
  if (text === null) return undefined;
  return JSON.parse(text) as T;
}

/**
 * The RegistryStore over the metadata database, with MLflow's semantics (deleted versions keep
 * their number; aliases; legacy stages with archive_existing_versions) plus alias history and
 * webhooks. Each mutation commits with its audit row; webhooks go out after the commit.
 */
export function createRegistryStore(metadata: MetadataDb, deps: RegistryStoreDeps = {}): RegistryStore {
  const db: Db = metadata.db;
  const clock = deps.clock ?? Date.now;

  async function read<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw metadata.translateError(e);
    }
  }

  interface Outbox {
    event: WebhookEvent;
    model: string;
    data: Record<string, unknown>;
  }

  async function write<T>(
    actor: Actor | undefined,
    fn: (tx: Db, audit: (e: Omit<AuditEntry, "actor">) => Promise<void>, emit: (o: Outbox) => void) => Promise<T>,
  ): Promise<T> {
    const outbox: Outbox[] = [];
    let targets: { o: Outbox; t: WebhookTarget[] }[] = [];
    let result: T;
    try {
      result = await db.transaction().execute(async (tx) => {
        const r = await fn(
          tx,
          (e) => appendAudit(tx, { ...e, actor: actor?.userId ?? "anonymous" }, clock()),
          (o) => outbox.push(o),
        );
        if (outbox.length > 0 && deps.webhooks !== undefined) targets = await resolveTargets(tx, outbox);
        return r;
      });
    } catch (e) {
      throw metadata.translateError(e);
    }
    // After the commit: a slow or failing receiver never holds or undoes the mutation.
    for (const { o, t } of targets)
      deps.webhooks?.dispatch(t, o.event, { ...o.data, actor: actor?.userId ?? "anonymous" });
    return result;
  }

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

  async function modelRow(q: Db, name: string): Promise<RegisteredModelsTable> {
    checkModelName(name);
    const row = await q.selectFrom("registered_models").selectAll().where("name", "=", name).executeTakeFirst();
    if (row === undefined) throw new NotFoundError(`registered model with name=${JSON.stringify(name)} not found`);
    return row;
  }

  async function versionRow(q: Db, name: string, version: string): Promise<ModelVersionsTable> {
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

  async function toVersions(q: Db, rows: readonly ModelVersionsTable[]): Promise<ModelVersion[]> {
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
        aliases: aliases
          .filter((a) => a.name === r.name && Number(a.version) === Number(r.version))
          .map((a) => a.alias),
        ...(r.checksum !== null ? { checksum: r.checksum } : {}),
        ...(signature !== undefined ? { signature } : {}),
        ...(lineage !== undefined ? { lineage } : {}),
      };
    });
  }

  async function toModels(q: Db, rows: readonly RegisteredModelsTable[]): Promise<RegisteredModel[]> {
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

  async function getModel(q: Db, name: string): Promise<RegisteredModel> {
    const [m] = await toModels(q, [await modelRow(q, name)]);
    return m as RegisteredModel;
  }

  async function getVersion(q: Db, name: string, version: string): Promise<ModelVersion> {
    const [v] = await toVersions(q, [await versionRow(q, name, version)]);
    return v as ModelVersion;
  }

  async function touchModel(tx: Db, name: string, now: number): Promise<void> {
    await tx.updateTable("registered_models").set({ last_updated_time: now }).where("name", "=", name).execute();
  }

  function searchParts(query: SearchQuery, kind: "models" | "versions") {
    const strings: Record<string, string> =
      kind === "models"
        ? { name: "x.name" }
        : {
            name: "x.name",
            run_id: "x.run_id",
            source_path: "x.source",
            source: "x.source",
            current_stage: "x.current_stage",
          };
    const numbers: Record<string, string> =
      kind === "models"
        ? { creation_timestamp: "x.creation_time", last_updated_timestamp: "x.last_updated_time" }
        : {
            version_number: "x.version",
            creation_timestamp: "x.creation_time",
            last_updated_timestamp: "x.last_updated_time",
          };
    const where: RawBuilder<unknown>[] = [];
    for (const c of parseFilter(query.filter)) {
      if (c.entity === "tag") {
        const table = sql.raw(kind === "models" ? "registered_model_tags" : "model_version_tags");
        const link = kind === "models" ? sql`t.name = x.name` : sql`t.name = x.name and t.version = x.version`;
        where.push(
          sql`exists (select 1 from ${table} t where ${link} and t.key = ${c.key} and ${stringCondition(sql.raw("t.value"), c)})`,
        );
      } else if (c.entity === "attribute" && strings[c.key] !== undefined) {
        where.push(stringCondition(sql.raw(strings[c.key] as string), c));
      } else if (c.entity === "attribute" && numbers[c.key] !== undefined) {
        const value = c.key === "version_number" && typeof c.value === "string" ? Number(c.value) : c.value;
        where.push(numericCondition(sql.raw(numbers[c.key] as string), { ...c, value }));
      } else {
        invalid(
          "filter",
          query.filter,
          `${c.key} is not searchable; use ${[...Object.keys(strings), ...Object.keys(numbers)].join(", ")} or tags.<key>`,
        );
      }
    }
    const order: RawBuilder<unknown>[] = [];
    const aliases: Record<string, string> = { ...strings, ...numbers, timestamp: "x.last_updated_time" };
    for (const text of query.orderBy ?? []) {
      const o = parseOrderBy(text);
      const col = o.entity === "attribute" ? aliases[o.key] : undefined;
      if (col === undefined) invalid("order_by", text, `sort by one of ${Object.keys(aliases).join(", ")}`);
      order.push(sql`${sql.raw(col)} ${sql.raw(o.ascending ? "asc" : "desc")}`);
    }
    if (kind === "models") order.push(sql`x.name asc`);
    else order.push(sql`x.name asc`, sql`x.version desc`);
    return { where, order };
  }

  const store: RegistryStore = {
    async createRegisteredModel(name, description = "", tags = [], actor) {
      checkModelName(name);
      tags.forEach(checkTag);
      return write(actor, async (tx, audit) => {
        const exists = await tx
          .selectFrom("registered_models")
          .select("name")
          .where("name", "=", name)
          .executeTakeFirst();
        if (exists !== undefined)
          throw new ConflictError(`registered model (name=${JSON.stringify(name)}) already exists`);
        const now = clock();
        await tx
          .insertInto("registered_models")
          .values({ name, creation_time: now, last_updated_time: now, description, user_id: actor?.userId ?? "" })
          .execute();
        if (tags.length > 0)
          await tx
            .insertInto("registered_model_tags")
            .values(tags.map((t) => ({ name, key: t.key, value: t.value })))
            .execute();
        await audit({
          action: "registered_model.create",
          targetType: "registered_model",
          targetId: name,
          after: { description },
        });
        return getModel(tx, name);
      });
    },

    async getRegisteredModel(name) {
      return read(() => getModel(db, name));
    },

    async renameRegisteredModel(name, newName, actor) {
      checkModelName(newName, "new_name");
      return write(actor, async (tx, audit) => {
        await modelRow(tx, name);
        const taken = await tx
          .selectFrom("registered_models")
          .select("name")
          .where("name", "=", newName)
          .executeTakeFirst();
        if (taken !== undefined)
          throw new ConflictError(`registered model (name=${JSON.stringify(newName)}) already exists`);
        // Tags, versions, aliases and alias history follow through ON UPDATE CASCADE.
        await tx
          .updateTable("registered_models")
          .set({ name: newName, last_updated_time: clock() })
          .where("name", "=", name)
          .execute();
        await audit({
          action: "registered_model.rename",
          targetType: "registered_model",
          targetId: newName,
          before: { name },
          after: { name: newName },
        });
        return getModel(tx, newName);
      });
    },

    async updateRegisteredModel(name, description, actor) {
      return write(actor, async (tx, audit) => {
        const row = await modelRow(tx, name);
        await tx
          .updateTable("registered_models")
          .set({ description, last_updated_time: clock() })
          .where("name", "=", name)
          .execute();
        await audit({
          action: "registered_model.update",
          targetType: "registered_model",
          targetId: name,
          before: { description: row.description },
          after: { description },
        });
        return getModel(tx, name);
      });
    },

    async deleteRegisteredModel(name, actor) {
      return write(actor, async (tx, audit) => {
        await modelRow(tx, name);
        await tx.deleteFrom("model_version_tags").where("name", "=", name).execute();
        await tx.deleteFrom("model_versions").where("name", "=", name).execute();
        await tx.deleteFrom("registered_models").where("name", "=", name).execute();
        await audit({ action: "registered_model.delete", targetType: "registered_model", targetId: name });
      });
    },

    async searchRegisteredModels(query) {
      const max = checkMaxResults(query.maxResults, 100, 1000);
      const offset = decodePageToken(query.pageToken);
      const { where, order } = searchParts(query, "models");
      return read(async (): Promise<Page<RegisteredModel>> => {
        const rows = await sql<RegisteredModelsTable>`select x.* from registered_models x
          ${where.length > 0 ? sql`where ${sql.join(where, sql` and `)}` : sql``}
          order by ${sql.join(order)} limit ${max + 1} offset ${offset}`.execute(db);
        const items = await toModels(db, rows.rows.slice(0, max));
        return rows.rows.length > max ? { items, nextPageToken: encodePageToken(offset + max) } : { items };
      });
    },

    async setRegisteredModelTag(name, key, value, actor) {
      checkTag({ key, value });
      return write(actor, async (tx, audit) => {
        await modelRow(tx, name);
        await tx
          .insertInto("registered_model_tags")
          .values({ name, key, value })
          .onConflict((oc) => oc.columns(["name", "key"]).doUpdateSet({ value }))
          .execute();
        await audit({
          action: "registered_model.set_tag",
          targetType: "registered_model",
          targetId: name,
          after: { key, value },
        });
      });
    },

    async deleteRegisteredModelTag(name, key, actor) {
      return write(actor, async (tx, audit) => {
        await modelRow(tx, name);
        const r = await tx
          .deleteFrom("registered_model_tags")
          .where("name", "=", name)
          .where("key", "=", key)
          .executeTakeFirst();
        if (Number(r.numDeletedRows) > 0)
          await audit({
            action: "registered_model.delete_tag",
            targetType: "registered_model",
            targetId: name,
            before: { key },
          });
      });
    },

    async createModelVersion(input: CreateModelVersionInput, actor) {
      checkModelName(input.name);
      if (typeof input.source !== "string" || input.source === "")
        invalid("source", input.source, "must be a non-empty string (the model's artifact location)");
      if (input.checksum !== undefined && !SHA256.test(input.checksum))
        invalid("checksum", input.checksum, "must be a sha256: 64 lower-case hex digits");
      (input.tags ?? []).forEach(checkTag);
      return write(actor, async (tx, audit, emit) => {
        const now = clock();
        await tx
          .insertInto("registered_models")
          .values({
            name: input.name,
            creation_time: now,
            last_updated_time: now,
            description: "",
            user_id: actor?.userId ?? "",
          })
          .onConflict((oc) => oc.column("name").doNothing())
          .execute();
        // Writing the model row first locks it (PostgreSQL), so concurrent registrations of one
        // model take turns and each gets the next number.
        await touchModel(tx, input.name, now);
        // Numbers of deleted versions are not reused (they stay as Deleted_Internal rows).
        const max = await tx
          .selectFrom("model_versions")
          .select((eb) => eb.fn.max("version").as("v"))
          .where("name", "=", input.name)
          .executeTakeFirst();
        const version = Number(max?.v ?? 0) + 1;
        await tx
          .insertInto("model_versions")
          .values({
            name: input.name,
            version,
            creation_time: now,
            last_updated_time: now,
            description: input.description ?? "",
            user_id: actor?.userId ?? "",
            current_stage: "None",
            source: input.source,
            run_id: input.runId ?? "",
            run_link: input.runLink ?? "",
            status: "READY",
            status_message: "",
            checksum: input.checksum ?? null,
            signature: input.signature === undefined ? null : JSON.stringify(input.signature),
            lineage: input.lineage === undefined ? null : JSON.stringify(input.lineage),
          })
          .execute();
        const tags = input.tags ?? [];
        if (tags.length > 0) {
          await tx
            .insertInto("model_version_tags")
            .values(tags.map((t) => ({ name: input.name, version, key: t.key, value: t.value })))
            .execute();
        }
        await touchModel(tx, input.name, now);
        await audit({
          action: "model_version.create",
          targetType: "model_version",
          targetId: `${input.name}/${version}`,
          after: {
            source: input.source,
            runId: input.runId ?? "",
            checksum: input.checksum ?? null,
            lineage: input.lineage ?? null,
          },
        });
        emit({
          event: "MODEL_VERSION_CREATED",
          model: input.name,
          data: {
            name: input.name,
            version: String(version),
            source: input.source,
            run_id: input.runId ?? "",
            checksum: input.checksum ?? null,
          },
        });
        return getVersion(tx, input.name, String(version));
      });
    },

    async getModelVersion(name, version) {
      return read(() => getVersion(db, name, version));
    },

    async updateModelVersion(name, version, description, actor) {
      return write(actor, async (tx, audit) => {
        const row = await versionRow(tx, name, version);
        await tx
          .updateTable("model_versions")
          .set({ description, last_updated_time: clock() })
          .where("name", "=", name)
          .where("version", "=", row.version)
          .execute();
        await audit({
          action: "model_version.update",
          targetType: "model_version",
          targetId: `${name}/${version}`,
          before: { description: row.description },
          after: { description },
        });
        return getVersion(tx, name, version);
      });
    },

    async deleteModelVersion(name, version, actor) {
      return write(actor, async (tx, audit) => {
        const row = await versionRow(tx, name, version);
        const now = clock();
        await tx
          .deleteFrom("registered_model_aliases")
          .where("name", "=", name)
          .where("version", "=", row.version)
          .execute();
        await tx.deleteFrom("model_version_tags").where("name", "=", name).where("version", "=", row.version).execute();
        await tx
          .updateTable("model_versions")
          .set({
            current_stage: DELETED,
            last_updated_time: now,
            description: "",
            source: "REDACTED-SOURCE-PATH",
            run_link: "",
          })
          .where("name", "=", name)
          .where("version", "=", row.version)
          .execute();
        await touchModel(tx, name, now);
        await audit({
          action: "model_version.delete",
          targetType: "model_version",
          targetId: `${name}/${version}`,
          before: { stage: row.current_stage, source: row.source },
        });
      });
    },

    async searchModelVersions(query) {
      const max = checkMaxResults(query.maxResults, 10_000, 200_000);
      const offset = decodePageToken(query.pageToken);
      const { where, order } = searchParts(query, "versions");
      where.push(sql`x.current_stage <> ${DELETED}`);
      return read(async (): Promise<Page<ModelVersion>> => {
        const rows = await sql<ModelVersionsTable>`select x.* from model_versions x where ${sql.join(where, sql` and `)}
          order by ${sql.join(order)} limit ${max + 1} offset ${offset}`.execute(db);
        const items = await toVersions(db, rows.rows.slice(0, max));
        return rows.rows.length > max ? { items, nextPageToken: encodePageToken(offset + max) } : { items };
      });
    },

    async getLatestVersions(name, stages) {
      const wanted = stages === undefined || stages.length === 0 ? undefined : stages.map(canonicalStage);
      return read(async () => {
        const model = await getModel(db, name);
        return model.latestVersions.filter((v) => wanted === undefined || wanted.includes(v.currentStage));
      });
    },

    async setModelVersionTag(name, version, key, value, actor) {
      checkTag({ key, value });
      return write(actor, async (tx, audit) => {
        const row = await versionRow(tx, name, version);
        await tx
          .insertInto("model_version_tags")
          .values({ name, version: row.version, key, value })
          .onConflict((oc) => oc.columns(["name", "version", "key"]).doUpdateSet({ value }))
          .execute();
        await audit({
          action: "model_version.set_tag",
          targetType: "model_version",
          targetId: `${name}/${version}`,
          after: { key, value },
        });
      });
    },

    async deleteModelVersionTag(name, version, key, actor) {
      return write(actor, async (tx, audit) => {
        const row = await versionRow(tx, name, version);
        const r = await tx
          .deleteFrom("model_version_tags")
          .where("name", "=", name)
          .where("version", "=", row.version)
          .where("key", "=", key)
          .executeTakeFirst();
        if (Number(r.numDeletedRows) > 0)
          await audit({
            action: "model_version.delete_tag",
            targetType: "model_version",
            targetId: `${name}/${version}`,
            before: { key },
          });
      });
    },

    async transitionStage(name, version, stage, archiveExistingVersions, actor) {
      const target = canonicalStage(stage);
      return write(actor, async (tx, audit, emit) => {
        const row = await versionRow(tx, name, version);
        const now = clock();
        const archived: number[] = [];
        // MLflow archives the others only when moving into Staging or Production.
        if (archiveExistingVersions && (target === "Staging" || target === "Production")) {
          const others = await tx
            .selectFrom("model_versions")
            .select("version")
            .where("name", "=", name)
            .where("current_stage", "=", target)
            .where("version", "!=", row.version)
            .execute();
          for (const o of others) {
            archived.push(Number(o.version));
            await tx
              .updateTable("model_versions")
              .set({ current_stage: "Archived", last_updated_time: now })
              .where("name", "=", name)
              .where("version", "=", o.version)
              .execute();
            emit({
              event: "MODEL_VERSION_STAGE_CHANGED",
              model: name,
              data: { name, version: String(o.version), from_stage: target, to_stage: "Archived" },
            });
          }
        }
        await tx
          .updateTable("model_versions")
          .set({ current_stage: target, last_updated_time: now })
          .where("name", "=", name)
          .where("version", "=", row.version)
          .execute();
        await touchModel(tx, name, now);
        await audit({
          action: "model_version.transition_stage",
          targetType: "model_version",
          targetId: `${name}/${version}`,
          before: { stage: row.current_stage },
          after: { stage: target, archived: archived.map(String) },
        });
        emit({
          event: "MODEL_VERSION_STAGE_CHANGED",
          model: name,
          data: { name, version: String(row.version), from_stage: row.current_stage, to_stage: target },
        });
        return getVersion(tx, name, version);
      });
    },

    async setAlias(name, alias, version, actor, decision) {
      checkAlias(alias);
      return write(actor, async (tx, audit, emit) => {
        const row = await versionRow(tx, name, version);
        const previous = await tx
          .selectFrom("registered_model_aliases")
          .select("version")
          .where("name", "=", name)
          .where("alias", "=", alias)
          .executeTakeFirst();
        const current = previous === undefined ? null : String(previous.version);
        if (decision?.expectedVersion !== undefined && decision.expectedVersion !== current) {
          throw new InvalidStateError(
            `alias ${JSON.stringify(alias)} of ${JSON.stringify(name)} now points at ${current === null ? "no version" : `version ${current}`}, not ${decision.expectedVersion === null ? "no version" : `version ${decision.expectedVersion}`}: it moved meanwhile; retry`,
            { details: { name, alias, expected: decision.expectedVersion, actual: current } },
          );
        }
        const now = clock();
        await tx
          .insertInto("registered_model_aliases")
          .values({ name, alias, version: row.version })
          .onConflict((oc) => oc.columns(["name", "alias"]).doUpdateSet({ version: row.version }))
          .execute();
        await tx
          .updateTable("keel_sequences")
          .set((eb) => ({ value: eb("value", "+", 1) }))
          .where("name", "=", "alias_history")
          .execute();
        const seq = await tx
          .selectFrom("keel_sequences")
          .select("value")
          .where("name", "=", "alias_history")
          .executeTakeFirstOrThrow();
        await tx
          .insertInto("alias_history")
          .values({
            seq: Number(seq.value),
            name,
            alias,
            version: row.version,
            set_at: now,
            user_id: actor?.userId ?? "anonymous",
          })
          .execute();
        await touchModel(tx, name, now);
        await audit({
          action: decision === undefined ? "registered_model.set_alias" : `registered_model.${decision.action}`,
          targetType: "registered_model",
          targetId: name,
          before: { alias, version: current },
          after:
            decision === undefined
              ? { alias, version: String(row.version) }
              : { alias, version: String(row.version), reason: decision.reason },
        });
        emit({
          event: "MODEL_VERSION_ALIAS_CREATED",
          model: name,
          data: {
            name,
            alias,
            version: String(row.version),
            previous_version: current,
          },
        });
      });
    },

    async deleteAlias(name, alias, actor) {
      return write(actor, async (tx, audit, emit) => {
        await modelRow(tx, name);
        const previous = await tx
          .selectFrom("registered_model_aliases")
          .select("version")
          .where("name", "=", name)
          .where("alias", "=", alias)
          .executeTakeFirst();
        if (previous === undefined) return;
        await tx.deleteFrom("registered_model_aliases").where("name", "=", name).where("alias", "=", alias).execute();
        await touchModel(tx, name, clock());
        await audit({
          action: "registered_model.delete_alias",
          targetType: "registered_model",
          targetId: name,
          before: { alias, version: String(previous.version) },
        });
        emit({
          event: "MODEL_VERSION_ALIAS_DELETED",
          model: name,
          data: { name, alias, version: String(previous.version) },
        });
      });
    },

    async getVersionByAlias(name, alias) {
      return read(async () => {
        await modelRow(db, name);
        const a = await db
          .selectFrom("registered_model_aliases")
          .select("version")
          .where("name", "=", name)
          .where("alias", "=", alias)
          .executeTakeFirst();
        if (a === undefined)
          throw new NotFoundError(`registered model ${JSON.stringify(name)} has no alias ${JSON.stringify(alias)}`);
        return getVersion(db, name, String(a.version));
      });
    },

    async aliasHistory(name, alias) {
      return read(async () => {
        await modelRow(db, name);
        const rows = await db
          .selectFrom("alias_history")
          .selectAll()
          .where("name", "=", name)
          .where("alias", "=", alias)
          .orderBy("seq", "desc")
          .execute();
        return rows.map((r) => ({ version: String(r.version), setAt: Number(r.set_at), userId: r.user_id }));
      });
    },

    async createWebhook(input, actor) {
      let url: URL;
      try {
        url = new URL(input.url);
      } catch {
        invalid("url", input.url, "must be an absolute http(s) URL");
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") invalid("url", input.url, "must use http or https");
      if (input.events.length === 0) invalid("events", input.events, `must list at least one of ${EVENTS.join(", ")}`);
      for (const e of input.events)
        if (!EVENTS.includes(e)) invalid("events", e, `must be one of ${EVENTS.join(", ")}`);
      if (
        input.secret !== undefined &&
        (typeof input.secret !== "string" || input.secret.length < 8 || input.secret.length > 512)
      ) {
        invalid("secret", "(hidden)", "must be 8 to 512 characters");
      }
      if (input.secret === undefined && deps.webhookSecret === undefined) {
        invalid(
          "secret",
          undefined,
          "is required: give the webhook a secret or configure the server-wide webhook secret (KEEL_WEBHOOK_SECRET)",
        );
      }
      if (input.modelName !== undefined) checkModelName(input.modelName, "model_name");
      return write(actor, async (tx, audit) => {
        const hook = {
          id: randomBytes(8).toString("hex"),
          url: url.toString(),
          events: JSON.stringify([...new Set(input.events)]),
          model_name: input.modelName ?? null,
          secret: input.secret ?? null,
          creation_timestamp: clock(),
        };
        await tx.insertInto("webhooks").values(hook).execute();
        await audit({
          action: "webhook.create",
          targetType: "webhook",
          targetId: hook.id,
          after: { url: hook.url, events: input.events, modelName: input.modelName ?? null },
        });
        return toWebhook(hook);
      });
    },

    async listWebhooks() {
      return read(async () =>
        (await db.selectFrom("webhooks").selectAll().orderBy("creation_timestamp").orderBy("id").execute()).map(
          toWebhook,
        ),
      );
    },

    async deleteWebhook(id, actor) {
      return write(actor, async (tx, audit) => {
        const r = await tx.deleteFrom("webhooks").where("id", "=", id).executeTakeFirst();
        if (Number(r.numDeletedRows) === 0)
          throw new NotFoundError(`webhook with id ${JSON.stringify(id)} does not exist`);
        await audit({ action: "webhook.delete", targetType: "webhook", targetId: id });
      });
    },
  };
  return store;
}

function toWebhook(h: {
  id: string;
  url: string;
  events: string;
  model_name: string | null;
  creation_timestamp: number;
}): Webhook {
  return {
    id: h.id,
    url: h.url,
    events: JSON.parse(h.events) as WebhookEvent[],
    ...(h.model_name !== null ? { modelName: h.model_name } : {}),
    creationTimestamp: Number(h.creation_timestamp),
  };
}
