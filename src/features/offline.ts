/**
 * The offline store: feature sources read through DuckDB, point-in-time joined to an entity
 * dataframe with ASOF joins, and written straight to the output file. Rows never pass through JS.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { existsSync } from "node:fs";
import { rename } from "node:fs/promises";
import { ident, source, sqlString, tableFormat, withConnection } from "../data/index.js";
import { NotFoundError } from "../errors.js";
import { specError } from "../spec-fields.js";
import type { FeatureDtype, FeatureRef, FeatureRepo, FeatureViewDefinition, SourceDefinition } from "./definition.js";

export const ENTITY_TIMESTAMP = "event_timestamp";

/** Internal column names; prefixed so they cannot collide with a user's column. */
const TS = "__keel_ts";
const CREATED = "__keel_created";

const DUCKDB_TYPE: Record<FeatureDtype, string> = {
  int64: "BIGINT",
  float64: "DOUBLE",
  string: "VARCHAR",
  bool: "BOOLEAN",
};

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL)/;

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

function requireColumn(types: ColumnTypes, column: string, field: string, where: string): string {
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
  const order = [...(window === undefined ? [] : [`${TS} DESC`]), ...(created === undefined ? [] : [`${CREATED} DESC NULLS LAST`])];
  return `(${base} QUALIFY row_number() OVER (PARTITION BY ${partition.join(", ")} ORDER BY ${order.join(", ")}) = 1)`;
}

export interface HistoricalRequest {
  /** CSV or Parquet file: the join keys, `event_timestamp`, and any other columns (labels …). */
  readonly entityDf: string;
  readonly features: readonly FeatureRef[];
  /** Name columns `view__feature` instead of `feature`. */
  readonly fullFeatureNames?: boolean;
  /** CSV or Parquet file written (atomically) with the training set. */
  readonly output: string;
}

export interface HistoricalResult {
  readonly rows: number;
  readonly columns: readonly string[];
}

function groupByView(repo: FeatureRepo, refs: readonly FeatureRef[]): Map<FeatureViewDefinition, string[]> {
  const out = new Map<FeatureViewDefinition, string[]>();
  for (const r of refs) {
    const view = repo.featureViews.find((v) => v.name === r.view);
    if (view === undefined) {
      throw specError("features", `${r.view}:${r.feature}`, "on-demand feature views are served online only; name feature views here");
    }
    const list = out.get(view) ?? [];
    if (!list.includes(r.feature)) list.push(r.feature);
    out.set(view, list);
  }
  return out;
}

/**
 * Point-in-time correct training set: for every entity row, each view's latest feature row with
 * event time ≤ the row's `event_timestamp` and ≥ that time minus the view's TTL, else nulls. Every
 * entity-df column and row is kept, in order, followed by one column per feature.
 */
export async function getHistoricalFeatures(repo: FeatureRepo, req: HistoricalRequest): Promise<HistoricalResult> {
  if (!existsSync(req.entityDf)) {
    throw new NotFoundError(`file ${req.entityDf} does not exist`, { details: { field: "entity-df", value: req.entityDf } });
  }
  const outFormat = tableFormat(req.output);
  const views = groupByView(repo, req.features);
  const tmp = `${req.output}.tmp-${process.pid}`;
  const result = await withConnection(async (conn) => {
    await conn.run("SET TimeZone = 'UTC'");
    await conn.run(`CREATE TEMP TABLE entity_df AS SELECT * FROM ${source(req.entityDf, tableFormat(req.entityDf))}`);
    const entityTypes = await columnTypes(conn, "entity_df");
    const tsType = requireColumn(entityTypes, ENTITY_TIMESTAMP, "entity-df", "the entity dataframe");
    await conn.run(`ALTER TABLE entity_df ADD COLUMN ${TS} TIMESTAMP`);
    await conn.run(`UPDATE entity_df SET ${TS} = ${timestampSql(ENTITY_TIMESTAMP, tsType)}`);

    const outputNames = new Set(entityTypes.keys());
    const selects = [`e.* EXCLUDE (${TS})`];
    const joins: string[] = [];
    let i = 0;
    for (const [view, features] of views) {
      const alias = `f${i++}`;
      const keys = viewJoinKeys(repo, view);
      for (const k of keys) requireColumn(entityTypes, k, "entity-df", "the entity dataframe");
      const rows = await featureViewRows(conn, repo, view, features, { keyTypes: entityTypes });
      const on = [...keys.map((k) => `e.${ident(k)} = ${alias}.${ident(k)}`), `e.${TS} >= ${alias}.${TS}`];
      joins.push(`ASOF LEFT JOIN ${rows} ${alias} ON ${on.join(" AND ")}`);
      // Checked again here because DuckDB's ASOF join matches a NULL entity time to the newest row.
      const fresh = [
        `${alias}.${TS} <= e.${TS}`,
        ...(view.ttlSeconds === undefined ? [] : [`${alias}.${TS} >= e.${TS} - to_seconds(${view.ttlSeconds})`]),
      ].join(" AND ");
      for (const f of features) {
        const name = req.fullFeatureNames === true ? `${view.name}__${f}` : f;
        if (outputNames.has(name)) {
          throw specError("features", `${view.name}:${f}`, `output column ${name} already exists; use --full-feature-names`);
        }
        outputNames.add(name);
        selects.push(`CASE WHEN ${fresh} THEN ${alias}.${ident(f)} END AS ${ident(name)}`);
      }
    }
    const query = `SELECT ${selects.join(", ")} FROM entity_df e ${joins.join(" ")} ORDER BY e.rowid`;
    const opts = outFormat === "csv" ? "FORMAT csv, HEADER true" : "FORMAT parquet";
    const copied = await conn.run(`COPY (${query}) TO ${sqlString(tmp)} (${opts})`);
    return { rows: Number(copied.rowsChanged), columns: [...outputNames] };
  });
  await rename(tmp, req.output);
  return result;
}
