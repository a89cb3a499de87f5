import type { Column } from "../../data/index.js";
import { readTable, tableFormat, writeTable } from "../../data/index.js";
import { InvalidParameterError } from "../../errors.js";
import { pickIdColumn, sliceRows } from "../batch-score.js";
import { loadExplainer } from "./explainer.js";
import { accumulateAbsShap, rankImportance, type FeatureImportance } from "./importance.js";

/** The output column holding each row's bias (expected margin). */
export const BIAS_COLUMN = "bias";

export interface ExplainFileOptions {
  readonly modelPath: string;
  readonly inputPath: string;
  /** Where to write one column per feature plus `bias` (.csv or .parquet); omit for the summary alone. */
  readonly outputPath?: string;
  /** Rows per chunk (default 100,000). */
  readonly chunkSize?: number;
  /** Row id column carried to the output (default: the first id-like column that is not a model input). */
  readonly idColumn?: string;
  /** Called after each chunk with rows done so far and the total. */
  readonly onProgress?: (rowsDone: number, rowsTotal: number) => void;
}

export interface ExplainFileResult {
  readonly rows: number;
  readonly chunks: number;
  readonly idColumn: string | null;
  readonly model: { readonly format: string; readonly task: string };
  /** The margin of a row nothing is known about; every row's values plus this sum to its margin. */
  readonly bias: number;
  /** Mean |SHAP value| per feature over the rows, most important first. */
  readonly importance: readonly FeatureImportance[];
  readonly output: string | null;
}

/**
 * Explains every row of a CSV/Parquet file with a model's exact SHAP values (margin space), in
 * chunks, writing one column per model input plus `bias` (and the id column first, as `keel
 * predict` carries it), and returns the global importance (mean |SHAP|) over all rows.
 */
export async function explainFile(opts: ExplainFileOptions): Promise<ExplainFileResult> {
  const chunkSize = opts.chunkSize ?? 100_000;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new InvalidParameterError(`--chunk-size = ${chunkSize}: must be an integer ≥ 1`, {
      details: { field: "chunk-size", value: chunkSize, rule: "integer >= 1" },
    });
  }
  // Validates the output extension before any work is done.
  if (opts.outputPath !== undefined) tableFormat(opts.outputPath);
  const explainer = await loadExplainer(opts.modelPath);
  const names = explainer.features;
  if (names.includes(BIAS_COLUMN)) {
    throw new InvalidParameterError(
      `model feature "${BIAS_COLUMN}": the output adds a column named ${BIAS_COLUMN}; rename the feature`,
      { details: { field: "model", value: BIAS_COLUMN, rule: "no feature may be named bias" } },
    );
  }
  const frame = await readTable(opts.inputPath);
  const idCol = pickIdColumn(frame, explainer, opts.idColumn);
  if (idCol !== undefined && (idCol.name === BIAS_COLUMN || names.includes(idCol.name))) {
    throw new InvalidParameterError(
      `id column "${idCol.name}": the output already has a column of that name (a feature or bias); pick another with --id-column`,
      { details: { field: "id-column", value: idCol.name, rule: "must differ from the feature and bias columns" } },
    );
  }
  const nRows = frame.nRows;
  const nf = names.length;
  const width = nf + 1;
  const nChunks = Math.ceil(nRows / chunkSize);
  const keep = opts.outputPath !== undefined;
  const out = keep ? Array.from({ length: width }, () => new Float64Array(nRows)) : [];
  const sums = new Float64Array(nf);
  const buffer = new Float64Array(Math.min(chunkSize, nRows) * width);
  opts.onProgress?.(0, nRows);
  for (let k = 0; k < nChunks; k++) {
    const start = k * chunkSize;
    const end = Math.min(nRows, start + chunkSize);
    const rows = end - start;
    const values = explainer.explain(sliceRows(frame, start, end), buffer);
    accumulateAbsShap(values, rows, nf, sums);
    if (keep) {
      // Row-major explanations to one column per feature.
      for (let j = 0; j < width; j++) {
        const col = out[j] as Float64Array;
        for (let r = 0; r < rows; r++) col[start + r] = values[r * width + j] as number;
      }
    }
    opts.onProgress?.(end, nRows);
  }
  if (opts.outputPath !== undefined) {
    const columns: Column[] = idCol === undefined ? [] : [idCol];
    [...names, BIAS_COLUMN].forEach((name, j) =>
      columns.push({ kind: "numeric", name, values: out[j] as Float64Array }),
    );
    await writeTable({ nRows, columns }, opts.outputPath);
  }
  if (nRows > 0) for (let j = 0; j < nf; j++) sums[j] = (sums[j] as number) / nRows;
  return {
    rows: nRows,
    chunks: nChunks,
    idColumn: idCol?.name ?? null,
    model: { format: explainer.format, task: explainer.task },
    bias: explainer.bias,
    importance: rankImportance(names, sums),
    output: opts.outputPath ?? null,
  };
}
