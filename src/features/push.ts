import { specError } from "../spec-fields.js";
import type { FeatureDtype, FeatureRepo, SourceDefinition } from "./definition.js";
import { viewJoinKeys } from "./offline.js";
import { entityKey, type FeatureValue, type OnlineRow, type OnlineStore } from "./online-store.js";

/** A pushed value checked against its feature's dtype. */
export function checkPushedValue(v: unknown, dtype: FeatureDtype, field: string): FeatureValue {
  if (v === null || v === undefined) return null;
  const ok =
    dtype === "int64"
      ? Number.isSafeInteger(v)
      : dtype === "float64"
        ? typeof v === "number" && Number.isFinite(v)
        : dtype === "string"
          ? typeof v === "string"
          : typeof v === "boolean";
  if (!ok)
    throw specError(
      field,
      v,
      `must be ${dtype === "int64" ? "an integer" : dtype === "float64" ? "a number" : `a ${dtype === "bool" ? "boolean" : "string"}`} or null (dtype ${dtype})`,
    );
  return v as FeatureValue;
}

/** The pushed dataframe's rows: the length of its first column. */
export function pushedRows(df: Readonly<Record<string, unknown>>): number {
  const first = Object.values(df)[0];
  return Array.isArray(first) ? first.length : 0;
}

/** One column of the pushed dataframe, `n` long. */
export function pushedColumn(df: Readonly<Record<string, unknown>>, name: string, n: number): readonly unknown[] {
  const col = df[name];
  if (!Array.isArray(col)) throw specError(`df.${name}`, col ?? null, `must be an array of ${n} values`);
  if (col.length !== n)
    throw specError(`df.${name}`, col.length, `must have ${n} values, as many as the other columns`);
  return col;
}

/** The source a push names (`push_source_name`), or a 400 listing the repository's sources. */
export function pushSource(repo: FeatureRepo, sourceName: string): SourceDefinition {
  const source = repo.sources.find((s) => s.name === sourceName);
  if (source === undefined) {
    throw specError(
      "push_source_name",
      sourceName,
      `must name a source (${repo.sources.map((s) => s.name).join(", ")})`,
    );
  }
  return source;
}

/**
 * Writes pushed rows (a column-oriented dataframe, as Feast's `/push` takes) to the online store
 * of every feature view fed by `sourceName`. Every column is checked before anything is written.
 */
export async function pushToOnlineStore(
  repo: FeatureRepo,
  store: OnlineStore,
  sourceName: string,
  df: Readonly<Record<string, unknown>>,
  /** Epoch ms from an ISO-8601 text or epoch-ms value (keel's one time parser, passed in by the caller). */
  eventTime: (raw: unknown, field: string) => number,
): Promise<number> {
  const source = pushSource(repo, sourceName);
  const n = pushedRows(df);
  const times = pushedColumn(df, source.timestampField, n).map((t, i) =>
    eventTime(t, `df.${source.timestampField}[${i}]`),
  );
  const writes: [string, OnlineRow[]][] = repo.featureViews
    .filter((v) => v.source === sourceName)
    .map((view) => {
      const keys = viewJoinKeys(repo, view).map((k) => pushedColumn(df, k, n));
      const features = view.schema.map((f) => [f, pushedColumn(df, f.name, n)] as const);
      const rows = times.map((eventTime, i): OnlineRow => {
        const values: Record<string, FeatureValue> = {};
        for (const [f, col] of features) values[f.name] = checkPushedValue(col[i], f.dtype, `df.${f.name}[${i}]`);
        return { entityKey: entityKey(keys.map((k) => k[i] as FeatureValue)), eventTime, values };
      });
      return [view.name, rows];
    });
  let written = 0;
  for (const [view, rows] of writes) written += await store.write(view, [rows]);
  return written;
}
