import { sql } from "kysely";
import { ConflictError } from "../../errors.js";
import type { RegisteredModelsTable } from "../../store/index.js";
import { upsertTags } from "../../store/index.js";
import { checkMaxResults, decodePageToken, encodePageToken } from "../../tracking/index.js";
import type { Page } from "../../tracking/index.js";
import type { RegisteredModel, RegistryStore } from "../types.js";
import { searchParts } from "./search.js";
import { checkModelName, checkTag, getModel, modelRow, toModels, type RegistryContext } from "./shared.js";

/** Registered models: create, read, rename, describe, delete, search, tags. */
export function modelMethods(
  ctx: RegistryContext,
): Pick<
  RegistryStore,
  | "createRegisteredModel"
  | "getRegisteredModel"
  | "renameRegisteredModel"
  | "updateRegisteredModel"
  | "deleteRegisteredModel"
  | "searchRegisteredModels"
  | "setRegisteredModelTag"
  | "deleteRegisteredModelTag"
> {
  const { db, clock, read, write } = ctx;
  return {
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
        await upsertTags(tx, "registered_model_tags", { name }, [{ key, value }]);
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
  };
}
