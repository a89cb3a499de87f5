import path from "node:path";
import type { Column } from "../data/index.js";
import { specError } from "../spec-fields.js";
import type { DecisionJson } from "../wire/index.js";

export type ExportFormat = "jsonl" | "csv" | "parquet";

export function exportFormat(file: string): ExportFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  if (ext === ".csv") return "csv";
  if (ext === ".parquet") return "parquet";
  throw specError("--output", file, "must end in .jsonl, .csv or .parquet");
}

/** Text columns of the tabular export; inputs, scored inputs and reasons as JSON text; review_* empty when never reviewed. */
const TEXT: readonly (readonly [string, (d: DecisionJson) => string | null])[] = [
  ["request_id", (d) => d.request_id],
  ["time", (d) => new Date(d.time).toISOString()],
  ["caller", (d) => d.caller],
  ["endpoint", (d) => d.endpoint],
  ["model_name", (d) => d.model_name],
  ["model_version", (d) => d.model_version],
  ["artifact_sha256", (d) => d.artifact_sha256],
  ["route", (d) => d.route],
  ["decision", (d) => d.decision],
  ["fallback", (d) => d.fallback],
  ["entity_id", (d) => d.entity_id],
  ["inputs", (d) => JSON.stringify(d.inputs)],
  ["scored_inputs", (d) => JSON.stringify(d.scored_inputs)],
  ["reasons", (d) => (d.reasons === null ? null : JSON.stringify(d.reasons))],
  ["review_status", (d) => d.review?.status ?? null],
  ["review_verdict", (d) => d.review?.verdict ?? null],
  ["review_verdict_reason", (d) => d.review?.verdict_reason ?? null],
  ["review_decided_by", (d) => d.review?.decided_by ?? null],
  ["review_decided_at", (d) => d.review?.decided_at ?? null],
  ["prev_hash", (d) => d.prev_hash],
  ["hash", (d) => d.hash],
];
const NUMBERS: readonly (readonly [string, (d: DecisionJson) => number | null])[] = [
  ["seq", (d) => d.seq],
  ["score", (d) => d.score],
  ["threshold", (d) => d.threshold],
  ["latency_ms", (d) => d.latency_ms],
];

/**
 * Writes decisions to `file`: JSONL (one DecisionJson per line, as the API returns it) or a CSV /
 * Parquet table of one row per decision. Written to a temporary file and renamed.
 */
export async function writeDecisions(decisions: readonly DecisionJson[], file: string): Promise<void> {
  const format = exportFormat(file);
  // DuckDB (under data/) is loaded only by the exports that need it; the atomic write is plain fs.
  const { writeFileAtomic, categoricalFromStrings, writeTable } = await import("../data/index.js");
  if (format === "jsonl") {
    await writeFileAtomic(file, decisions.map((d) => JSON.stringify(d) + "\n").join(""));
    return;
  }
  const n = decisions.length;
  const columns: Column[] = [
    ...NUMBERS.map(([name, get]): Column => {
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) values[i] = get(decisions[i] as DecisionJson) ?? NaN;
      return { kind: "numeric", name, values };
    }),
    ...TEXT.map(([name, get]) => categoricalFromStrings(name, decisions.map(get))),
  ];
  await writeTable({ nRows: n, columns }, file, { format });
}
