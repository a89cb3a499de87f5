import { InvalidStateError, NotFoundError } from "../../errors.js";
import { nextSequenceValue } from "../../store/index.js";
import type { RegistryStore } from "../types.js";
import { checkAlias, getVersion, modelRow, touchModel, versionRow, type Db, type RegistryContext } from "./shared.js";

/** The version `alias` of model `name` points at, if it is set. */
async function aliasVersion(q: Db, name: string, alias: string): Promise<number | undefined> {
  const row = await q
    .selectFrom("registered_model_aliases")
    .select("version")
    .where("name", "=", name)
    .where("alias", "=", alias)
    .executeTakeFirst();
  return row?.version;
}

/** Aliases ("champion", "challenger"): set (optionally compare-and-set), delete, resolve, history. */
export function aliasMethods(
  ctx: RegistryContext,
): Pick<RegistryStore, "setAlias" | "deleteAlias" | "getVersionByAlias" | "aliasHistory"> {
  const { db, clock, read, write } = ctx;
  return {
    async setAlias(name, alias, version, actor, decision) {
      checkAlias(alias);
      return write(actor, async (tx, audit, emit) => {
        const row = await versionRow(tx, name, version);
        const previous = await aliasVersion(tx, name, alias);
        const current = previous === undefined ? null : String(previous);
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
        const seq = await nextSequenceValue(tx, "alias_history");
        await tx
          .insertInto("alias_history")
          .values({
            seq,
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
        const previous = await aliasVersion(tx, name, alias);
        if (previous === undefined) return;
        await tx.deleteFrom("registered_model_aliases").where("name", "=", name).where("alias", "=", alias).execute();
        await touchModel(tx, name, clock());
        await audit({
          action: "registered_model.delete_alias",
          targetType: "registered_model",
          targetId: name,
          before: { alias, version: String(previous) },
        });
        emit({
          event: "MODEL_VERSION_ALIAS_DELETED",
          model: name,
          data: { name, alias, version: String(previous) },
        });
      });
    },

    async getVersionByAlias(name, alias) {
      return read(async () => {
        await modelRow(db, name);
        const version = await aliasVersion(db, name, alias);
        if (version === undefined)
          throw new NotFoundError(`registered model ${JSON.stringify(name)} has no alias ${JSON.stringify(alias)}`);
        return getVersion(db, name, String(version));
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
  };
}
