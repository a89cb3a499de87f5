import { sql, type RawBuilder } from "kysely";
import { parseFilter, parseOrderBy, numericCondition, stringCondition } from "../../tracking/index.js";
import { IS_DATASET_TAG, IS_PROMPT_TAG, type SearchQuery } from "../types.js";
import { specError } from "../../spec-fields.js";

/** WHERE conditions and ORDER BY terms of a registered-model or model-version search (alias `x`). */
export function searchParts(query: SearchQuery, kind: "models" | "versions") {
  const strings: Record<string, string> =
    kind === "models"
      ? { name: "x.name" }
      : {
          name: "x.name",
          run_id: "x.run_id",
          source_path: "x.source",
          source: "x.source",
          current_stage: "x.current_stage",
          model_id: "x.model_id",
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
  const table = sql.raw(kind === "models" ? "registered_model_tags" : "model_version_tags");
  const link = kind === "models" ? sql`t.name = x.name` : sql`t.name = x.name and t.version = x.version`;
  const conditions = parseFilter(query.filter);
  // Prompts are registered models tagged as prompts (MLflow 3): a search that does not ask for
  // them leaves them out, and a model without the tag is "not a prompt" rather than unknown.
  const isPrompt = sql`exists (select 1 from ${table} t where ${link} and t.key = ${IS_PROMPT_TAG} and t.value = 'true')`;
  if (!conditions.some((c) => c.entity === "tag" && c.key === IS_PROMPT_TAG)) where.push(sql`not ${isPrompt}`);
  // Evaluation datasets are registered models too; they show only when the filter names their tag.
  if (!conditions.some((c) => c.entity === "tag" && c.key === IS_DATASET_TAG)) {
    where.push(
      sql`not exists (select 1 from ${table} t where ${link} and t.key = ${IS_DATASET_TAG} and t.value = 'true')`,
    );
  }
  for (const c of conditions) {
    if (
      c.entity === "tag" &&
      c.key === IS_PROMPT_TAG &&
      (c.op === "=" || c.op === "!=") &&
      typeof c.value === "string"
    ) {
      const wantsPrompts = (c.op === "=") === (c.value.toLowerCase() === "true");
      where.push(wantsPrompts ? isPrompt : sql`not ${isPrompt}`);
    } else if (c.entity === "tag") {
      where.push(
        sql`exists (select 1 from ${table} t where ${link} and t.key = ${c.key} and ${stringCondition(sql.raw("t.value"), c)})`,
      );
    } else if (c.entity === "attribute" && strings[c.key] !== undefined) {
      where.push(stringCondition(sql.raw(strings[c.key] as string), c));
    } else if (c.entity === "attribute" && numbers[c.key] !== undefined) {
      const value = c.key === "version_number" && typeof c.value === "string" ? Number(c.value) : c.value;
      where.push(numericCondition(sql.raw(numbers[c.key] as string), { ...c, value }));
    } else {
      throw specError(
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
    if (col === undefined) throw specError("order_by", text, `sort by one of ${Object.keys(aliases).join(", ")}`);
    order.push(sql`${sql.raw(col)} ${sql.raw(o.ascending ? "asc" : "desc")}`);
  }
  if (kind === "models") order.push(sql`x.name asc`);
  else {
    // MLflow lists versions most recently updated first unless told otherwise.
    if (order.length === 0) order.push(sql`x.last_updated_time desc`);
    order.push(sql`x.name asc`, sql`x.version desc`);
  }
  return { where, order };
}
