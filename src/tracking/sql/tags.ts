import { InvalidParameterError } from "../../errors.js";
import { upsertTags } from "../../store/index.js";
import type { Param, Tag } from "../types.js";
import { checkParam } from "../validate.js";
import { RUN_NAME_TAG, type Db } from "./shared.js";

export async function upsertRunTags(tx: Db, runId: string, tags: readonly Tag[]): Promise<void> {
  await upsertTags(tx, "tags", { run_uuid: runId }, tags);
  // MLflow keeps the run name and its tag in step; as with the tag, the last name given wins.
  const name = tags.findLast((t) => t.key === RUN_NAME_TAG);
  if (name !== undefined)
    await tx.updateTable("runs").set({ name: name.value }).where("run_uuid", "=", runId).execute();
}

export async function insertParams(
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
