import { sql, type RawBuilder } from "kysely";
import { InvalidParameterError } from "../errors.js";
import type { Comparison, FilterOp, OrderTerm } from "./filter.js";

/**
 * SQL for run search: every comparison becomes an inner join on the one row of latest_metrics /
 * params / tags that (run, key) identifies, so the database can start from the most selective
 * (key, value) index; order terms become left joins. Plain SQL that SQLite and PostgreSQL both run.
 */
const NUMERIC_OPS: readonly FilterOp[] = ["=", "!=", ">", ">=", "<", "<="];
const STRING_OPS: readonly FilterOp[] = ["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"];

const RUN_STRING_ATTRIBUTES: Record<string, string> = {
  run_id: "run_uuid",
  run_name: "name",
  // MLflow's search_utils aliases of run_name (the UI's column titles).
  "run name": "name",
  "Run name": "name",
  "Run Name": "name",
  status: "status",
  user_id: "user_id",
  artifact_uri: "artifact_uri",
};
const RUN_NUMERIC_ATTRIBUTES: Record<string, string> = {
  start_time: "start_time",
  end_time: "end_time",
  created: "start_time",
  Created: "start_time",
};
const DATASET_FIELDS: Record<string, string> = { name: "name", digest: "digest" };

function invalid(message: string, details: Record<string, unknown>): never {
  throw new InvalidParameterError(message, { details });
}

function describe(c: Comparison): string {
  return `${c.entity}s.${c.key} ${c.op} ${JSON.stringify(c.value)}`;
}

export function numericCondition(column: RawBuilder<unknown>, c: Comparison): RawBuilder<unknown> {
  if (!NUMERIC_OPS.includes(c.op) || typeof c.value !== "number") {
    invalid(`filter: ${describe(c)}: ${c.entity} comparisons need one of ${NUMERIC_OPS.join(" ")} and a number`, {
      field: "filter",
      value: describe(c),
    });
  }
  return sql`${column} ${sql.raw(c.op)} ${c.value}`;
}

export function stringCondition(column: RawBuilder<unknown>, c: Comparison): RawBuilder<unknown> {
  if (!STRING_OPS.includes(c.op)) {
    invalid(`filter: ${describe(c)}: ${c.entity} comparisons need one of ${STRING_OPS.join(", ")}`, {
      field: "filter",
      value: describe(c),
    });
  }
  if (c.op === "IN" || c.op === "NOT IN") {
    const list = c.value as readonly string[];
    return sql`${column} ${sql.raw(c.op)} (${sql.join(list.map((v) => sql`${v}`))})`;
  }
  if (typeof c.value !== "string") {
    invalid(`filter: ${describe(c)}: ${c.entity} values are quoted strings`, { field: "filter", value: describe(c) });
  }
  if (c.op === "ILIKE") return sql`lower(${column}) like lower(${c.value})`;
  return sql`${column} ${sql.raw(c.op === "LIKE" ? "like" : c.op)} ${c.value}`;
}

export interface RunSearchSql {
  readonly joins: readonly RawBuilder<unknown>[];
  readonly where: readonly RawBuilder<unknown>[];
  readonly orderBy: readonly RawBuilder<unknown>[];
}

/**
 * Whether the first order term is a metric, param or tag that no filter already requires. Then
 * the search runs in two parts (runs that have the value, walked in index order; then those that
 * do not), each of which can stop after one page instead of sorting every run.
 */
export function splitsOnFirstOrder(filters: readonly Comparison[], order: readonly OrderTerm[]): boolean {
  const first = order[0];
  if (first === undefined || first.entity === "attribute" || first.entity === "dataset") return false;
  return !filters.some((c) => c.entity === first.entity && c.key === first.key);
}

/**
 * `firstTerm`: "present" keeps only runs that have the first order term's value (inner join),
 * "absent" only runs that lack it (whose order then starts at the second term).
 */
export function runSearchSql(
  filters: readonly Comparison[],
  order: readonly OrderTerm[],
  firstTerm?: "present" | "absent",
): RunSearchSql {
  const joins: RawBuilder<unknown>[] = [];
  const where: RawBuilder<unknown>[] = [];
  // (entity, key) → alias of an inner join that already guarantees the row exists (and is not NaN).
  const filtered = new Map<string, string>();
  filters.forEach((c, i) => {
    if (c.entity === "metric" || c.entity === "param" || c.entity === "tag") {
      if (!filtered.has(`${c.entity}:${c.key}`)) filtered.set(`${c.entity}:${c.key}`, `f${i}`);
    }
    const alias = sql.raw(`f${i}`);
    const value = sql.raw(`f${i}.value`);
    switch (c.entity) {
      case "metric":
        joins.push(
          sql`join latest_metrics ${alias} on ${alias}.run_uuid = r.run_uuid and ${alias}.key = ${c.key} and ${alias}.is_nan = 0 and ${numericCondition(value, c)}`,
        );
        break;
      case "param":
      case "tag": {
        const table = sql.raw(c.entity === "param" ? "params" : "tags");
        joins.push(
          sql`join ${table} ${alias} on ${alias}.run_uuid = r.run_uuid and ${alias}.key = ${c.key} and ${stringCondition(value, c)}`,
        );
        break;
      }
      case "attribute": {
        const s = RUN_STRING_ATTRIBUTES[c.key];
        const n = RUN_NUMERIC_ATTRIBUTES[c.key];
        if (s !== undefined) where.push(stringCondition(sql.raw(`r.${s}`), c));
        else if (n !== undefined) where.push(numericCondition(sql.raw(`r.${n}`), c));
        else {
          invalid(
            `filter: attribute ${JSON.stringify(c.key)} is not searchable; use one of ${[...Object.keys(RUN_STRING_ATTRIBUTES), ...Object.keys(RUN_NUMERIC_ATTRIBUTES)].join(", ")}`,
            { field: "filter", value: c.key },
          );
        }
        break;
      }
      case "dataset": {
        let cond: RawBuilder<unknown>;
        const col = DATASET_FIELDS[c.key];
        if (col !== undefined) cond = stringCondition(sql.raw(`d.${col}`), c);
        else if (c.key === "context") {
          cond = sql`exists (select 1 from input_tags it where it.input_uuid = i.input_uuid and it.key = 'mlflow.data.context' and ${stringCondition(sql.raw("it.value"), c)})`;
        } else {
          invalid(`filter: dataset field ${JSON.stringify(c.key)} is not searchable; use name, digest or context`, {
            field: "filter",
            value: c.key,
          });
        }
        where.push(
          sql`exists (select 1 from inputs i join datasets d on d.dataset_uuid = i.dataset_uuid where i.run_uuid = r.run_uuid and ${cond})`,
        );
        break;
      }
    }
  });

  const orderBy: RawBuilder<unknown>[] = [];
  let hasStart = false;
  let hasId = false;
  order.forEach((o, i) => {
    const dir = sql.raw(o.ascending ? "asc" : "desc");
    if (o.entity === "attribute") {
      const col = RUN_STRING_ATTRIBUTES[o.key] ?? RUN_NUMERIC_ATTRIBUTES[o.key];
      if (col === undefined) {
        invalid(`order_by: attribute ${JSON.stringify(o.key)} is not sortable`, { field: "order_by", value: o.key });
      }
      if (col === "start_time") hasStart = true;
      if (col === "run_uuid") hasId = true;
      const ref = sql.raw(`r.${col}`);
      // Runs without the value sort last in either direction (MLflow).
      orderBy.push(sql`case when ${ref} is null then 1 else 0 end`, sql`${ref} ${dir}`);
      return;
    }
    if (o.entity === "dataset") {
      invalid(`order_by: datasets.${o.key} is not sortable`, { field: "order_by", value: o.key });
    }
    const reuse = filtered.get(`${o.entity}:${o.key}`);
    if (reuse !== undefined) {
      // Ordering by the filtered row itself lets the database walk the (key, value) index in
      // order and stop after one page instead of sorting every match.
      orderBy.push(sql`${sql.raw(reuse)}.value ${dir}`);
      return;
    }
    const alias = sql.raw(`o${i}`);
    const table = sql.raw(o.entity === "metric" ? "latest_metrics" : o.entity === "param" ? "params" : "tags");
    if (i === 0 && firstTerm === "absent") {
      where.push(sql`not exists (select 1 from ${table} x where x.run_uuid = r.run_uuid and x.key = ${o.key})`);
      return;
    }
    const present = i === 0 && firstTerm === "present";
    joins.push(
      sql`${sql.raw(present ? "join" : "left join")} ${table} ${alias} on ${alias}.run_uuid = r.run_uuid and ${alias}.key = ${o.key}`,
    );
    // Runs without the value sort last in either direction (MLflow).
    if (!present) orderBy.push(sql`case when ${alias}.run_uuid is null then 1 else 0 end`);
    // A NaN is stored as +Infinity with is_nan = 1. MLflow sorts NaN after every number in both
    // directions: ascending that is the index order (value, then is_nan); descending it needs
    // is_nan first.
    if (o.entity === "metric" && !o.ascending) orderBy.push(sql`${alias}.is_nan asc`);
    orderBy.push(sql`${alias}.value ${dir}`);
    if (o.entity === "metric" && o.ascending) orderBy.push(sql`${alias}.is_nan asc`);
  });
  if (!hasStart) orderBy.push(sql`r.start_time desc`);
  if (!hasId) orderBy.push(sql`r.run_uuid asc`);
  return { joins, where, orderBy };
}
