/**
 * `/push` with `to: offline`: pushed rows appended to the source's file, so training sets and
 * materializations see them as they see the file's own rows. The file is rewritten through a
 * temporary file renamed over it (readers see the old rows or the new, never half), and every value
 * is checked against the feature views' dtypes before anything is written.
 */
import { rename, rm } from "node:fs/promises";
import path from "node:path";
import { ident, sqlString, tableFormat, withConnection } from "../data/index.js";
import { specError } from "../spec-fields.js";
import type { FeatureRepo, SourceDefinition } from "./definition.js";
import { columnTypes, NUMERIC, sourceRelation, viewJoinKeys } from "./offline.js";
import { checkPushedValue, pushedColumn, pushedRows, pushSource } from "./push.js";

/** One SQL literal of a pushed value, cast to the file column's type. */
function literal(v: unknown, type: string, field: string): string {
  if (v === null || v === undefined) return `CAST(NULL AS ${type})`;
  if (typeof v === "string") return `CAST(${sqlString(v)} AS ${type})`;
  if (typeof v === "boolean") return `CAST(${v ? "TRUE" : "FALSE"} AS ${type})`;
  if (typeof v === "number" && Number.isFinite(v)) return `CAST(${v} AS ${type})`;
  throw specError(field, v, "must be a number, string, boolean or null");
}

/** An event or created time (epoch ms) as the file keeps its times: epoch ms, or a timestamp. */
function timeLiteral(ms: number, type: string): string {
  return NUMERIC.test(type) ? `CAST(${Math.trunc(ms)} AS ${type})` : `CAST(epoch_ms(${Math.trunc(ms)}) AS ${type})`;
}

function fileSource(repo: FeatureRepo, sourceName: string): SourceDefinition & { path: string } {
  const source = pushSource(repo, sourceName);
  if (source.path === undefined) {
    throw specError(
      "push_source_name",
      sourceName,
      "must name a source with a path to push offline (a query source takes no rows)",
    );
  }
  return source as SourceDefinition & { path: string };
}

/**
 * Appends the pushed rows to the source file. Columns of the file the push leaves out are null,
 * except the created timestamp, which is `now` (a later push wins a tie with an earlier row); a
 * pushed column the file does not have is refused. Returns the rows appended.
 */
export async function pushToOfflineStore(
  repo: FeatureRepo,
  sourceName: string,
  df: Readonly<Record<string, unknown>>,
  eventTime: (raw: unknown, field: string) => number,
  now: number,
): Promise<number> {
  const source = fileSource(repo, sourceName);
  const n = pushedRows(df);
  const times = pushedColumn(df, source.timestampField, n).map((t, i) =>
    eventTime(t, `df.${source.timestampField}[${i}]`),
  );
  // Rows without their entity are of no use to any view: every join key must be pushed.
  for (const view of repo.featureViews.filter((v) => v.source === sourceName)) {
    for (const k of viewJoinKeys(repo, view)) pushedColumn(df, k, n);
  }
  const dtypes = new Map(
    repo.featureViews.filter((v) => v.source === sourceName).flatMap((v) => v.schema.map((f) => [f.name, f.dtype])),
  );
  return withConnection(async (conn) => {
    const types = await columnTypes(conn, sourceRelation(source));
    for (const name of Object.keys(df)) {
      if (!types.has(name)) {
        throw specError(
          `df.${name}`,
          "(column)",
          `must be a column of source ${sourceName}'s file (columns: ${[...types.keys()].join(", ")})`,
        );
      }
    }
    const cells = [...types].map(([name, type]) => {
      if (name === source.timestampField) return times.map((ms) => timeLiteral(ms, type));
      if (!(name in df)) {
        return times.map(() =>
          name === source.createdTimestampColumn ? timeLiteral(now, type) : literal(null, type, name),
        );
      }
      const col = pushedColumn(df, name, n);
      if (name === source.createdTimestampColumn) {
        return col.map((v, i) =>
          v === null ? literal(null, type, name) : timeLiteral(eventTime(v, `df.${name}[${i}]`), type),
        );
      }
      const dtype = dtypes.get(name);
      return col.map((v, i) =>
        literal(dtype === undefined ? v : checkPushedValue(v, dtype, `df.${name}[${i}]`), type, `df.${name}[${i}]`),
      );
    });
    if (n === 0) return 0;
    const rows = times.map((_, i) => `(${cells.map((c) => c[i] as string).join(", ")})`);
    const names = [...types.keys()].map(ident).join(", ");
    const format = tableFormat(source.path);
    const tmp = path.join(path.dirname(source.path), `.${path.basename(source.path)}.push-${process.pid}-${now}`);
    const options = format === "csv" ? "FORMAT CSV, HEADER" : "FORMAT PARQUET";
    try {
      await conn.run(
        `COPY (SELECT ${names} FROM ${sourceRelation(source)} UNION ALL SELECT * FROM (VALUES ${rows.join(", ")}) AS pushed(${names})) TO ${sqlString(tmp)} (${options})`,
      );
      await rename(tmp, source.path);
    } finally {
      await rm(tmp, { force: true });
    }
    return n;
  });
}
