import type { Metric } from "../types.js";
import { isNewer } from "../validate.js";
import type { Db } from "./shared.js";

/** SQLite allows 32,766 bound values per statement; 9 per metric row. */
const METRIC_ROWS_PER_INSERT = 1000;

export function metricRow(runId: string, m: Metric) {
  const nan = Number.isNaN(m.value);
  return {
    run_uuid: runId,
    key: m.key,
    // NaN is stored as +Infinity (flagged): it then sorts above every number, as MLflow orders it.
    value: nan ? Number.POSITIVE_INFINITY : m.value,
    is_nan: nan ? 1 : 0,
    timestamp: m.timestamp,
    step: m.step,
    model_id: m.modelId ?? null,
    dataset_name: m.datasetName ?? null,
    dataset_digest: m.datasetDigest ?? null,
  };
}

export async function insertMetrics(tx: Db, runId: string, metrics: readonly Metric[]): Promise<void> {
  if (metrics.length === 0) return;
  const rows = metrics.map((m) => metricRow(runId, m));
  for (let i = 0; i < rows.length; i += METRIC_ROWS_PER_INSERT) {
    await tx
      .insertInto("metrics")
      .values(rows.slice(i, i + METRIC_ROWS_PER_INSERT))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  // Latest value per key: best of the batch, then compared with what is stored.
  const best = new Map<string, (typeof rows)[number]>();
  for (const r of rows) {
    const cur = best.get(r.key);
    if (cur === undefined || isNewer(cmp(r), cmp(cur))) best.set(r.key, r);
  }
  const stored = await tx
    .selectFrom("latest_metrics")
    .selectAll()
    .where("run_uuid", "=", runId)
    .where("key", "in", [...best.keys()])
    .execute();
  const storedByKey = new Map(stored.map((s) => [s.key, s]));
  const updates = [...best.values()].filter((r) => {
    const s = storedByKey.get(r.key);
    return s === undefined || isNewer(cmp(r), cmp(s));
  });
  for (const u of updates) {
    const row = {
      run_uuid: runId,
      key: u.key,
      value: u.value,
      is_nan: u.is_nan,
      timestamp: u.timestamp,
      step: u.step,
    };
    await tx
      .insertInto("latest_metrics")
      .values(row)
      .onConflict((oc) =>
        oc
          .columns(["run_uuid", "key"])
          .doUpdateSet({ value: row.value, is_nan: row.is_nan, timestamp: row.timestamp, step: row.step }),
      )
      .execute();
  }
}

function cmp(r: { value: number; is_nan: number; timestamp: number; step: number }) {
  return {
    step: Number(r.step),
    timestamp: Number(r.timestamp),
    value: Number(r.is_nan) === 1 ? Number.NaN : Number(r.value),
  };
}
