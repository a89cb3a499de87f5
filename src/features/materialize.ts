/**
 * Materialization: the latest row of every entity with an event time in a window, read from the
 * offline store through DuckDB and written to the online store chunk by chunk.
 */
import type { DuckDBDataChunk } from "@duckdb/node-api";
import { ident, withConnection } from "../data/index.js";
import { specError } from "../spec-fields.js";
import type { FeatureRepo, FeatureViewDefinition } from "./definition.js";
import { featureViewRows, plainValue, viewJoinKeys } from "./offline.js";
import { entityKey, type FeatureValue, type OnlineRow, type OnlineStore } from "./online-store.js";
import type { FeatureRegistry } from "./registry.js";

export interface MaterializeResult {
  readonly featureView: string;
  /** Window, epoch milliseconds, both ends inclusive. */
  readonly start: number;
  readonly end: number;
  /** Entities written. */
  readonly rows: number;
}

const plain = (v: unknown): FeatureValue => plainValue(v, "materialize");

function toRows(chunk: DuckDBDataChunk, keys: readonly string[], features: readonly string[]): OnlineRow[] {
  const nKeys = keys.length;
  const vectors = Array.from({ length: nKeys + 1 + features.length }, (_, c) => chunk.getColumnVector(c));
  const rows: OnlineRow[] = new Array<OnlineRow>(chunk.rowCount);
  for (let i = 0; i < chunk.rowCount; i++) {
    const keyValues = vectors.slice(0, nKeys).map((v) => plain(v.getItem(i)));
    const values: Record<string, FeatureValue> = {};
    features.forEach((f, j) => {
      values[f] = plain(vectors[nKeys + 1 + j]?.getItem(i));
    });
    rows[i] = { entityKey: entityKey(keyValues), eventTime: Number(vectors[nKeys]?.getItem(i)), values };
  }
  return rows;
}

async function materializeView(
  repo: FeatureRepo,
  store: OnlineStore,
  view: FeatureViewDefinition,
  start: number,
  end: number,
): Promise<number> {
  const features = view.schema.map((f) => f.name);
  const keys = viewJoinKeys(repo, view);
  return withConnection(async (conn) => {
    await conn.run("SET TimeZone = 'UTC'");
    const rows = await featureViewRows(conn, repo, view, features, { latestIn: { start, end } });
    const result = await conn.run(
      `SELECT ${keys.map(ident).join(", ")}, epoch_ms(__keel_ts), ${features.map(ident).join(", ")} FROM ${rows}`,
    );
    async function* batches(): AsyncIterable<OnlineRow[]> {
      for (;;) {
        const chunk = await result.fetchChunk();
        if (chunk === null || chunk.rowCount === 0) return;
        yield toRows(chunk, keys, features);
      }
    }
    return store.write(view.name, batches());
  });
}

function selectViews(repo: FeatureRepo, names: readonly string[] | undefined): FeatureViewDefinition[] {
  if (names === undefined || names.length === 0) return [...repo.featureViews];
  return names.map((n, i) => {
    const v = repo.featureViews.find((x) => x.name === n);
    if (v === undefined) throw specError(`feature_views[${i}]`, n, "must name a feature view");
    return v;
  });
}

/** Loads the latest row per entity with event time in [start, end] of each view (default all). */
export async function materialize(
  repo: FeatureRepo,
  registry: FeatureRegistry,
  store: OnlineStore,
  options: { start: number; end: number; featureViews?: readonly string[] },
): Promise<MaterializeResult[]> {
  if (!(options.start <= options.end)) {
    throw specError("start", options.start, `must not be after end (${options.end})`);
  }
  const out: MaterializeResult[] = [];
  for (const view of selectViews(repo, options.featureViews)) {
    const rows = await materializeView(repo, store, view, options.start, options.end);
    const r = { featureView: view.name, start: options.start, end: options.end, rows };
    await registry.recordMaterialization(r);
    out.push(r);
  }
  return out;
}

/**
 * Continues each view from where its last materialization ended; a view never materialized starts
 * at `end − ttl` (or the beginning of time without a TTL), as Feast does.
 */
export async function materializeIncremental(
  repo: FeatureRepo,
  registry: FeatureRegistry,
  store: OnlineStore,
  options: { end: number; featureViews?: readonly string[] },
): Promise<MaterializeResult[]> {
  const out: MaterializeResult[] = [];
  for (const view of selectViews(repo, options.featureViews)) {
    const start =
      (await registry.materializedUntil(view.name)) ??
      (view.ttlSeconds === undefined ? 0 : options.end - view.ttlSeconds * 1000);
    out.push(...(await materialize(repo, registry, store, { start, end: options.end, featureViews: [view.name] })));
  }
  return out;
}
