/**
 * The offline store: feature sources read through DuckDB as SQL relations, for historical
 * retrieval and materialization. Rows stay in DuckDB.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { existsSync } from "node:fs";
import { ident, source, tableFormat } from "../data/index.js";
import { InvalidStateError, NotFoundError } from "../errors.js";
import { specError } from "../spec-fields.js";
import type { FeatureDtype, FeatureRepo, FeatureViewDefinition, SourceDefinition } from "./definition.js";
import type { FeatureValue } from "./online-store.js";

/** Internal column names; prefixed so they cannot collide with a user's column. */
export const TS = "__keel_ts";
const CREATED = "__keel_created";

export const DUCKDB_TYPE: Record<FeatureDtype, string> = {
  int64: "BIGINT",
  float64: "DOUBLE",
  string: "VARCHAR",
  bool: "BOOLEAN",
};

export const NUMERIC =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL)/;

/**
 * A DuckDB cell as a plain feature value. Feature columns are cast to BIGINT, DOUBLE, VARCHAR or
 * BOOLEAN before they are read; any other value is refused, and `where` names the reader.
 */
export function plainValue(v: unknown, where: string): FeatureValue {
  if (typeof v === "bigint") return Number(v);
  if (v === null || typeof v === "number" || typeof v === "string" || typeof v === "boolean") return v;
  throw new InvalidStateError(`${where}: unexpected DuckDB value of type ${typeof v}`);
}

export type ColumnTypes = ReadonlyMap<string, string>;

/** A relation's column names and DuckDB types, in order. */
export async function columnTypes(conn: DuckDBConnection, relation: string): Promise<ColumnTypes> {
  const r = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`);
  return new Map(r.getRowObjects().map((row) => [String(row.column_name), String(row.column_type)]));
}

/** A timestamp expression: TIMESTAMP/DATE/ISO text as they are (UTC), numbers as epoch milliseconds. */
export function timestampSql(column: string, type: string): string {
  return NUMERIC.test(type) ? `epoch_ms(CAST(${ident(column)} AS BIGINT))` : `CAST(${ident(column)} AS TIMESTAMP)`;
}

/** The SQL relation a source reads: a file scan or the source's own query. */
export function sourceRelation(src: SourceDefinition): string {
  if (src.path !== undefined) {
    if (!existsSync(src.path)) {
      throw new NotFoundError(`source ${src.name}: file ${src.path} does not exist`, {
        details: { field: `sources.${src.name}.path`, value: src.path },
      });
    }
    return source(src.path, tableFormat(src.path));
  }
  return `(${src.query as string})`;
}

export function viewJoinKeys(repo: FeatureRepo, view: FeatureViewDefinition): string[] {
  return view.entities.flatMap((e) => repo.entities.find((x) => x.name === e)?.joinKeys ?? []);
}

function sourceOf(repo: FeatureRepo, view: FeatureViewDefinition): SourceDefinition {
  return repo.sources.find((s) => s.name === view.source) as SourceDefinition;
}

export function requireColumn(types: ColumnTypes, column: string, field: string, where: string): string {
  const t = types.get(column);
  if (t === undefined) {
    throw specError(field, column, `must name a column of ${where} (columns: ${[...types.keys()].join(", ")})`);
  }
  return t;
}

/**
 * The rows of a feature view as a SQL relation: join keys (cast to `keyTypes` when given, so they
 * compare with the entity dataframe's), `__keel_ts`, the features cast to their dtypes; one row per
 * entity and event time, the latest created winning a tie.
 */
export async function featureViewRows(
  conn: DuckDBConnection,
  repo: FeatureRepo,
  view: FeatureViewDefinition,
  features: readonly string[],
  options: {
    keyTypes?: ColumnTypes;
    /** Only the latest row per entity with event time in [start, end] (epoch ms). */
    latestIn?: { start: number; end: number };
  } = {},
): Promise<string> {
  const src = sourceOf(repo, view);
  const relation = sourceRelation(src);
  const types = await columnTypes(conn, relation);
  const where = `source ${src.name}`;
  const keys = viewJoinKeys(repo, view);
  const cols = keys.map((k) => {
    requireColumn(types, k, `feature_views.${view.name}.entities`, where);
    const t = options.keyTypes?.get(k);
    return t === undefined ? ident(k) : `CAST(${ident(k)} AS ${t}) AS ${ident(k)}`;
  });
  const tsType = requireColumn(types, src.timestampField, `sources.${src.name}.timestamp_field`, where);
  cols.push(`${timestampSql(src.timestampField, tsType)} AS ${TS}`);
  const created = src.createdTimestampColumn;
  if (created !== undefined) {
    const t = requireColumn(types, created, `sources.${src.name}.created_timestamp_column`, where);
    cols.push(`${timestampSql(created, t)} AS ${CREATED}`);
  }
  for (const f of features) {
    const dtype = view.schema.find((x) => x.name === f)?.dtype as FeatureDtype;
    requireColumn(types, f, `feature_views.${view.name}.schema`, where);
    cols.push(`CAST(${ident(f)} AS ${DUCKDB_TYPE[dtype]}) AS ${ident(f)}`);
  }
  const conditions = [`${ident(src.timestampField)} IS NOT NULL`];
  const window = options.latestIn;
  if (window !== undefined) {
    const ts = timestampSql(src.timestampField, tsType);
    conditions.push(`${ts} BETWEEN epoch_ms(${Math.trunc(window.start)}) AND epoch_ms(${Math.trunc(window.end)})`);
  }
  const base = `SELECT ${cols.join(", ")} FROM ${relation} WHERE ${conditions.join(" AND ")}`;
  if (created === undefined && window === undefined) return `(${base})`;
  // One window does both jobs (filtering above a second window trips a DuckDB internal error).
  const partition = window === undefined ? [...keys.map(ident), TS] : keys.map(ident);
  const order = [
    ...(window === undefined ? [] : [`${TS} DESC`]),
    ...(created === undefined ? [] : [`${CREATED} DESC NULLS LAST`]),
  ];
  return `(${base} QUALIFY row_number() OVER (PARTITION BY ${partition.join(", ")} ORDER BY ${order.join(", ")}) = 1)`;
}
