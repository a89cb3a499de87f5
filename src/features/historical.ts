/**
 * Point-in-time historical retrieval: the entity dataframe ASOF-joined to each feature view in
 * DuckDB and copied straight to the output file. On-demand views run in JS one DuckDB chunk at a
 * time; the table itself never passes through JS memory.
 */
import type { DuckDBAppender, DuckDBConnection } from "@duckdb/node-api";
import { existsSync } from "node:fs";
import { rename } from "node:fs/promises";
import { ident, source, sqlString, tableFormat, withConnection } from "../data/index.js";
import { InvalidStateError, NotFoundError } from "../errors.js";
import { specError } from "../spec-fields.js";
import {
  featureColumnName,
  type FeatureDtype,
  type FeatureRef,
  type FeatureRepo,
  type FeatureViewDefinition,
  type OnDemandFeatureViewDefinition,
} from "./definition.js";
import {
  columnTypes,
  DUCKDB_TYPE,
  featureViewRows,
  plainValue,
  requireColumn,
  timestampSql,
  TS,
  viewJoinKeys,
  type ColumnTypes,
} from "./offline.js";
import { createTransformLoader, runOnDemand, type OnDemandTransform } from "./on-demand.js";
import type { FeatureValue } from "./online-store.js";

export const ENTITY_TIMESTAMP = "event_timestamp";
const ROW = "__keel_row";

export interface HistoricalRequest {
  /** CSV or Parquet file: the join keys, `event_timestamp`, and any other columns (labels …). */
  readonly entityDf: string;
  readonly features: readonly FeatureRef[];
  /** Name columns `view__feature` instead of `feature`. */
  readonly fullFeatureNames?: boolean;
  /** CSV or Parquet file written (atomically) with the training set. */
  readonly output: string;
  /** Only the entity rows whose `event_timestamp` lies in [from, to) (epoch ms): a training window. */
  readonly entityWindow?: { readonly from: number; readonly to: number };
}

export interface HistoricalResult {
  readonly rows: number;
  readonly columns: readonly string[];
}

/** Hidden columns: an on-demand view's input feature, and its output. */
const inputColumn = (view: string, feature: string) => `__keel_in_${view}__${feature}`;
const outputColumn = (view: string, feature: string) => `__keel_out_${view}__${feature}`;

interface Plan {
  /** Feature views to join, with the features selected from each (requested or on-demand inputs). */
  readonly views: Map<FeatureViewDefinition, Set<string>>;
  readonly onDemand: Map<OnDemandFeatureViewDefinition, string[]>;
}

function plan(repo: FeatureRepo, refs: readonly FeatureRef[]): Plan {
  const views = new Map<FeatureViewDefinition, Set<string>>();
  const onDemand = new Map<OnDemandFeatureViewDefinition, string[]>();
  const need = (view: FeatureViewDefinition, feature: string) => {
    const set = views.get(view) ?? new Set<string>();
    set.add(feature);
    views.set(view, set);
  };
  for (const r of refs) {
    const fv = repo.featureViews.find((v) => v.name === r.view);
    if (fv !== undefined) {
      need(fv, r.feature);
      continue;
    }
    const odfv = repo.onDemandFeatureViews.find((v) => v.name === r.view) as OnDemandFeatureViewDefinition;
    onDemand.set(odfv, [...(onDemand.get(odfv) ?? []), r.feature]);
    for (const s of odfv.sources) {
      const src = repo.featureViews.find((v) => v.name === s) as FeatureViewDefinition;
      for (const f of src.schema) need(src, f.name);
    }
  }
  return { views, onDemand };
}

function appendValue(app: DuckDBAppender, v: FeatureValue, dtype: FeatureDtype, where: string): void {
  if (v === null) app.appendNull();
  else if (dtype === "int64" && Number.isSafeInteger(v)) app.appendBigInt(BigInt(v));
  else if (dtype === "float64" && typeof v === "number") app.appendDouble(v);
  else if (dtype === "string" && typeof v === "string") app.appendVarchar(v);
  else if (dtype === "bool" && typeof v === "boolean") app.appendBoolean(v);
  else throw new InvalidStateError(`${where}: ${JSON.stringify(v)} is not a ${dtype}`);
}

const plain = (v: unknown): FeatureValue => plainValue(v, "historical retrieval");

/**
 * Runs the on-demand views over table `base` chunk by chunk and appends their outputs, keyed by
 * entity row, to table `on_demand`.
 */
async function computeOnDemand(
  conn: DuckDBConnection,
  onDemand: Plan["onDemand"],
  repo: FeatureRepo,
  entityTypes: ColumnTypes,
): Promise<void> {
  const load = createTransformLoader();
  const outputs: [OnDemandFeatureViewDefinition, FeatureDtype, string][] = [];
  const inputs: [OnDemandFeatureViewDefinition, string, string][] = [];
  for (const [view, features] of onDemand) {
    for (const s of view.sources) {
      for (const f of (repo.featureViews.find((v) => v.name === s) as FeatureViewDefinition).schema) {
        inputs.push([view, f.name, inputColumn(s, f.name)]);
      }
    }
    for (const f of view.requestFields) {
      requireColumn(entityTypes, f.name, "entity-df", `the entity dataframe (request field of ${view.name})`);
      inputs.push([view, f.name, f.name]);
    }
    for (const name of new Set(features)) {
      outputs.push([view, (view.schema.find((x) => x.name === name) as { dtype: FeatureDtype }).dtype, name]);
    }
  }
  const cols = outputs.map(([v, dtype, f]) => `${ident(outputColumn(v.name, f))} ${DUCKDB_TYPE[dtype]}`);
  await conn.run(`CREATE TEMP TABLE on_demand (${ROW} BIGINT, ${cols.join(", ")})`);
  const transforms = new Map<OnDemandFeatureViewDefinition, OnDemandTransform>();
  for (const view of onDemand.keys()) transforms.set(view, await load(view));
  const result = await conn.run(`SELECT ${ROW}, ${inputs.map(([, , c]) => ident(c)).join(", ")} FROM base`);
  const app = await conn.createAppender("on_demand");
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    const n = chunk.rowCount;
    const column = (c: number) => Array.from({ length: n }, (_, i) => plain(chunk.getColumnVector(c).getItem(i)));
    const perView = new Map<OnDemandFeatureViewDefinition, Record<string, FeatureValue[]>>();
    inputs.forEach(([view, name], j) => {
      const cols = perView.get(view) ?? {};
      cols[name] = column(j + 1);
      perView.set(view, cols);
    });
    const computed = new Map<OnDemandFeatureViewDefinition, Record<string, readonly FeatureValue[]>>();
    for (const [view, fn] of transforms) computed.set(view, runOnDemand(view, fn, perView.get(view) ?? {}, n));
    const rows = column(0);
    for (let i = 0; i < n; i++) {
      app.appendBigInt(BigInt(rows[i] as number));
      for (const [view, dtype, f] of outputs) {
        appendValue(
          app,
          computed.get(view)?.[f]?.[i] ?? null,
          dtype,
          `on-demand feature view ${view.name}: output ${f}`,
        );
      }
      app.endRow();
    }
  }
  app.flushSync();
  app.closeSync();
}

/**
 * Point-in-time correct training set: for every entity row, each view's latest feature row with
 * event time ≤ the row's `event_timestamp` and ≥ that time minus the view's TTL, else nulls. Every
 * entity-df column and row is kept, in order, followed by one column per requested feature.
 */
export async function getHistoricalFeatures(repo: FeatureRepo, req: HistoricalRequest): Promise<HistoricalResult> {
  if (!existsSync(req.entityDf)) {
    throw new NotFoundError(`file ${req.entityDf} does not exist`, {
      details: { field: "entity-df", value: req.entityDf },
    });
  }
  const outFormat = tableFormat(req.output);
  const { views, onDemand } = plan(repo, req.features);
  const tmp = `${req.output}.tmp-${process.pid}`;
  const result = await withConnection(async (conn) => {
    await conn.run("SET TimeZone = 'UTC'");
    const entitySource = source(req.entityDf, tableFormat(req.entityDf));
    const entityTypes = await columnTypes(conn, entitySource);
    const tsType = requireColumn(entityTypes, ENTITY_TIMESTAMP, "entity-df", "the entity dataframe");
    // A table, so that rowid is the file's row order.
    await conn.run(
      `CREATE TEMP TABLE entity_df AS SELECT *, ${timestampSql(ENTITY_TIMESTAMP, tsType)} AS ${TS} FROM ${entitySource}` +
        (req.entityWindow === undefined
          ? ""
          : ` WHERE ${timestampSql(ENTITY_TIMESTAMP, tsType)} >= epoch_ms(${Math.trunc(req.entityWindow.from)})` +
            ` AND ${timestampSql(ENTITY_TIMESTAMP, tsType)} < epoch_ms(${Math.trunc(req.entityWindow.to)})`),
    );

    const joins: string[] = [];
    const featureSql = new Map<string, string>();
    let a = 0;
    for (const [view, features] of views) {
      const alias = `f${a++}`;
      const keys = viewJoinKeys(repo, view);
      for (const k of keys) requireColumn(entityTypes, k, "entity-df", "the entity dataframe");
      const rows = await featureViewRows(conn, repo, view, [...features], { keyTypes: entityTypes });
      const on = [...keys.map((k) => `e.${ident(k)} = ${alias}.${ident(k)}`), `e.${TS} >= ${alias}.${TS}`];
      joins.push(`ASOF LEFT JOIN ${rows} ${alias} ON ${on.join(" AND ")}`);
      // Checked again here because DuckDB's ASOF join matches a NULL entity time to the newest row.
      const fresh = [
        `${alias}.${TS} <= e.${TS}`,
        ...(view.ttlSeconds === undefined ? [] : [`${alias}.${TS} >= e.${TS} - to_seconds(${view.ttlSeconds})`]),
      ].join(" AND ");
      for (const f of features) featureSql.set(`${view.name}:${f}`, `CASE WHEN ${fresh} THEN ${alias}.${ident(f)} END`);
    }

    const entityColumns = [...entityTypes.keys()];
    const outputNames = new Set(entityColumns);
    const finalCols = entityColumns.map((c) => `b.${ident(c)}`);
    for (const r of req.features) {
      const name = featureColumnName(r, req.fullFeatureNames);
      if (outputNames.has(name)) {
        throw specError(
          "features",
          `${r.view}:${r.feature}`,
          `output column ${name} already exists; use --full-feature-names`,
        );
      }
      outputNames.add(name);
      const fv = featureSql.has(`${r.view}:${r.feature}`);
      finalCols.push(
        `${fv ? `b.${ident(inputColumn(r.view, r.feature))}` : `o.${ident(outputColumn(r.view, r.feature))}`} AS ${ident(name)}`,
      );
    }
    const baseCols = [`e.rowid AS ${ROW}`, ...entityColumns.map((c) => `e.${ident(c)}`)];
    for (const [ref, expr] of featureSql) {
      const [view, feature] = ref.split(":") as [string, string];
      baseCols.push(`${expr} AS ${ident(inputColumn(view, feature))}`);
    }
    const base = `SELECT ${baseCols.join(", ")} FROM entity_df e ${joins.join(" ")}`;
    let query: string;
    if (onDemand.size === 0) {
      query = `SELECT ${finalCols.join(", ")} FROM (${base}) b ORDER BY b.${ROW}`;
    } else {
      await conn.run(`CREATE TEMP TABLE base AS ${base}`);
      await computeOnDemand(conn, onDemand, repo, entityTypes);
      query = `SELECT ${finalCols.join(", ")} FROM base b LEFT JOIN on_demand o USING (${ROW}) ORDER BY b.${ROW}`;
    }
    const opts = outFormat === "csv" ? "FORMAT csv, HEADER true" : "FORMAT parquet";
    const copied = await conn.run(`COPY (${query}) TO ${sqlString(tmp)} (${opts})`);
    return { rows: Number(copied.rowsChanged), columns: [...outputNames] };
  });
  await rename(tmp, req.output);
  return result;
}
