import { sql } from "kysely";
import type { ModelVersionsTable } from "../../store/index.js";
import { upsertTags } from "../../store/index.js";
import { checkMaxResults, decodePageToken, encodePageToken } from "../../tracking/index.js";
import type { Actor, Page } from "../../tracking/index.js";
import type { CreateModelVersionInput, ModelVersion, RegistryStore } from "../types.js";
import { searchParts } from "./search.js";
import {
  canonicalStage,
  checkModelName,
  checkTag,
  DELETED,
  getModel,
  getVersion,
  toVersions,
  touchModel,
  versionRow,
  type RegistryContext,
} from "./shared.js";
import { specError } from "../../spec-fields.js";

const SHA256 = /^[0-9a-f]{64}$/;

/** Registers the model's next version number (creating the model if needed); raises MODEL_VERSION_CREATED. */
async function registerModelVersion(
  ctx: RegistryContext,
  input: CreateModelVersionInput,
  actor: Actor | undefined,
): Promise<ModelVersion> {
  const { clock, write } = ctx;
  checkModelName(input.name);
  if (typeof input.source !== "string" || input.source === "")
    throw specError("source", input.source, "must be a non-empty string (the model's artifact location)");
  if (input.checksum !== undefined && !SHA256.test(input.checksum))
    throw specError("checksum", input.checksum, "must be a sha256: 64 lower-case hex digits");
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
        model_id: input.modelId ?? null,
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
}

/** Model versions: register, read, describe, delete (the number is kept), search, latest per stage, tags. */
export function versionMethods(
  ctx: RegistryContext,
): Pick<
  RegistryStore,
  | "createModelVersion"
  | "getModelVersion"
  | "updateModelVersion"
  | "deleteModelVersion"
  | "searchModelVersions"
  | "getLatestVersions"
  | "setModelVersionTag"
  | "deleteModelVersionTag"
> {
  const { db, clock, read, write } = ctx;
  return {
    createModelVersion: (input, actor) => registerModelVersion(ctx, input, actor),

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
        await upsertTags(tx, "model_version_tags", { name, version: row.version }, [{ key, value }]);
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
  };
}
