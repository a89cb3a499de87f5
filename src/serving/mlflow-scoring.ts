import type { Signature } from "../data/index.js";
import { InvalidParameterError } from "../errors.js";
import { tableFromColumns, tableFromRecords, tableFromSplit, type InputTable } from "./input-table.js";
import { specError } from "../spec-fields.js";

/**
 * MLflow's scoring protocol (`mlflow models serve`, `POST /invocations`): a JSON object holding
 * exactly one of `dataframe_split`, `dataframe_records`, `instances`, `inputs` (plus optional
 * `params`), or a CSV body with a header row. Answers are `{"predictions": [...]}`.
 */
export const MLFLOW_INPUT_FIELDS = ["dataframe_split", "dataframe_records", "instances", "inputs"] as const;

export interface InvocationInput {
  readonly table: InputTable;
  readonly params: Readonly<Record<string, unknown>> | undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function decodeInvocationsJson(body: unknown, signature: Signature): InvocationInput {
  if (!isObject(body)) {
    throw new InvalidParameterError(
      `The input must be a JSON dictionary with exactly one of the input fields ${MLFLOW_INPUT_FIELDS.join(", ")}. Received ${Array.isArray(body) ? "a list" : typeof body}.`,
      { details: { field: "body", rule: "exactly one input field" } },
    );
  }
  const present = MLFLOW_INPUT_FIELDS.filter((k) => k in body);
  if (present.length !== 1) {
    throw new InvalidParameterError(
      `The input must be a JSON dictionary with exactly one of the input fields ${MLFLOW_INPUT_FIELDS.join(", ")}. Received dictionary with input fields: ${JSON.stringify(Object.keys(body))}.`,
      { details: { field: "body", value: Object.keys(body), rule: "exactly one input field" } },
    );
  }
  const key = present[0] as (typeof MLFLOW_INPUT_FIELDS)[number];
  const params = body.params;
  if (params !== undefined && !isObject(params)) throw specError("params", params, "must be a JSON object");
  const value = body[key];
  let table: InputTable;
  switch (key) {
    case "dataframe_split": {
      if (!isObject(value)) throw specError(key, value, "must be an object {columns, data[, index]}");
      const { columns, data } = value;
      if (!Array.isArray(columns) || !columns.every((c) => typeof c === "string")) {
        throw specError(`${key}.columns`, columns, "must be an array of column names");
      }
      if (!Array.isArray(data)) throw specError(`${key}.data`, data, "must be an array of rows");
      table = tableFromSplit(columns, data, key);
      break;
    }
    case "dataframe_records":
      if (!Array.isArray(value)) throw specError(key, value, "must be an array of records");
      table = tableFromRecords(value, key);
      break;
    case "instances":
    case "inputs":
      table = tensorInput(value, key, signature);
      break;
  }
  return { table, params: params };
}

/** TF-serving style input as MLflow reads it for a column-based signature. */
function tensorInput(value: unknown, key: string, signature: Signature): InputTable {
  if (isObject(value)) return tableFromColumns(value, key);
  if (!Array.isArray(value))
    throw specError(key, value, "must be a list of records, a list of rows or an object of columns");
  if (value.length === 0 || isObject(value[0])) return tableFromRecords(value, key);
  return tableFromSplit(
    signature.inputs.map((c) => c.name),
    value,
    key,
  );
}

/** RFC 4180 CSV with a header row; values stay text and are parsed by the validator per column type. */
export function decodeInvocationsCsv(text: string): InvocationInput {
  const rows = parseCsv(text);
  const header = rows.shift();
  if (header === undefined || header.length === 0 || (header.length === 1 && header[0] === "")) {
    throw specError("csv", text.slice(0, 40), "must start with a header row of column names");
  }
  const table = tableFromSplit(header, rows, "csv");
  return { table: { ...table, textual: true }, params: undefined };
}

/** RFC 4180 rows (quoted fields, doubled quotes, CRLF or LF); every cell is text. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else cell += ch;
      i++;
      continue;
    }
    if (ch === '"' && cell === "") quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else cell += ch;
    i++;
  }
  if (quoted) throw specError("csv", text.slice(-40), "has an unterminated quoted field");
  if (cell !== "" || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}
