/**
 * Training-serving skew: the features logged with served predictions against the same features
 * recomputed point-in-time from the offline store (and the same on-demand transformations) at each
 * request's time. A feature whose served values differ from the recomputed ones on more than a
 * threshold share of rows is flagged.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { categoricalFromStrings, numericColumn, readTable, writeTable, type Column } from "../data/index.js";
import { specError } from "../spec-fields.js";
import { isServedPrediction, type InferenceLog, type InferenceRecord } from "../store/index.js";
import type { FeatureRef, FeatureRepo } from "./definition.js";
import { ENTITY_TIMESTAMP, getHistoricalFeatures } from "./historical.js";
import { viewJoinKeys } from "./offline.js";

export interface SkewOptions {
  readonly features: readonly FeatureRef[];
  /** Share of compared rows that may differ before a feature is flagged; default 0.01. */
  readonly threshold?: number;
  /** Numbers closer than this are equal; default 1e-9. */
  readonly tolerance?: number;
}

export interface FeatureSkew {
  readonly feature: string;
  readonly compared: number;
  readonly differing: number;
  readonly shareDiffering: number;
  /** Largest |served − recomputed| over rows where both are numbers; null when there were none. */
  readonly maxAbsDelta: number | null;
  readonly flagged: boolean;
}

export interface SkewReport {
  /** Served predictions compared (those with an entity id). */
  readonly rows: number;
  /** Served predictions left out because they carry no entity id. */
  readonly withoutEntity: number;
  readonly threshold: number;
  readonly features: readonly FeatureSkew[];
}

type Cell = string | number | boolean | null;

function cellOf(c: Column, i: number): Cell {
  if (c.kind === "numeric") {
    const v = c.values[i] as number;
    return Number.isNaN(v) ? null : v;
  }
  const k = c.codes[i] as number;
  return k < 0 ? null : (c.dictionary[k] as string);
}

/** The one join key records' entity ids stand for: every requested view must share it. */
function entityJoinKey(repo: FeatureRepo, refs: readonly FeatureRef[]): string {
  const keys = new Set<string>();
  for (const r of refs) {
    const fv = repo.featureViews.find((v) => v.name === r.view);
    const sources =
      fv !== undefined
        ? [fv]
        : repo.featureViews.filter((v) =>
            repo.onDemandFeatureViews.find((o) => o.name === r.view)?.sources.includes(v.name),
          );
    for (const v of sources) for (const k of viewJoinKeys(repo, v)) keys.add(k);
  }
  if (keys.size !== 1) {
    throw specError("features", [...keys], "skew needs features of views keyed by one join key (the logged entity id)");
  }
  return [...keys][0] as string;
}

export async function featureSkew(
  repo: FeatureRepo,
  records: readonly InferenceRecord[],
  options: SkewOptions,
): Promise<SkewReport> {
  const threshold = options.threshold ?? 0.01;
  const tolerance = options.tolerance ?? 1e-9;
  const served = records.filter(isServedPrediction);
  const rows = served.filter((r) => r.entityId !== undefined);
  const joinKey = entityJoinKey(repo, options.features);
  const requestFields = new Map(
    options.features.flatMap(
      (r) =>
        repo.onDemandFeatureViews
          .find((v) => v.name === r.view)
          ?.requestFields.map((f) => [f.name, f.dtype] as const) ?? [],
    ),
  );
  const dir = mkdtempSync(path.join(tmpdir(), "keel-skew-"));
  try {
    const columns: Column[] = [
      categoricalFromStrings(
        joinKey,
        rows.map((r) => r.entityId as string),
      ),
      numericColumn(
        ENTITY_TIMESTAMP,
        Float64Array.from(rows, (r) => r.time),
      ),
    ];
    // Request fields go in as the entity dataframe's columns, as logged.
    for (const [f, dtype] of requestFields) {
      const logged = rows.map((r) => r.features[f] ?? null);
      columns.push(
        dtype === "string"
          ? categoricalFromStrings(
              f,
              logged.map((v) => (v === null ? null : String(v))),
            )
          : numericColumn(
              f,
              Float64Array.from(logged, (v) => (typeof v === "number" ? v : v === true ? 1 : v === false ? 0 : NaN)),
            ),
      );
    }
    const entityDf = path.join(dir, "entities.parquet");
    await writeTable({ nRows: rows.length, columns }, entityDf);
    const output = path.join(dir, "recomputed.parquet");
    await getHistoricalFeatures(repo, { entityDf, features: options.features, output });
    const recomputed = await readTable(output);
    const features = options.features.map((ref): FeatureSkew => {
      const col = recomputed.columns.find((c) => c.name === ref.feature) as Column;
      let differing = 0;
      let maxAbsDelta: number | null = null;
      rows.forEach((r, i) => {
        const want = cellOf(col, i);
        const got = r.features[ref.feature] ?? null;
        if (typeof want === "number" && typeof got === "number") {
          const d = Math.abs(got - want);
          maxAbsDelta = Math.max(maxAbsDelta ?? 0, d);
          if (d > tolerance) differing++;
        } else if (want !== got) differing++;
      });
      const share = rows.length === 0 ? 0 : differing / rows.length;
      return {
        feature: ref.feature,
        compared: rows.length,
        differing,
        shareDiffering: share,
        maxAbsDelta,
        flagged: share > threshold,
      };
    });
    return { rows: rows.length, withoutEntity: served.length - rows.length, threshold, features };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Served predictions read per skew check, at most. */
export const SKEW_ROWS = 100_000;

/**
 * The skew of an endpoint's served predictions in [from, to) (the first SKEW_ROWS of them): what
 * `keel features skew` prints and monitoring records each window.
 */
export async function endpointSkew(
  repo: FeatureRepo,
  log: InferenceLog,
  query: { readonly endpoint: string; readonly from: number; readonly to: number },
  options: SkewOptions,
): Promise<SkewReport> {
  const records = await log.query({ endpoint: query.endpoint, from: query.from, to: query.to, limit: SKEW_ROWS });
  return featureSkew(repo, records, options);
}
