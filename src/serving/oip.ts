import { OIP_DATATYPES, type OipDatatype } from "../wire/index.js";
import type { Signature, SignatureColumn, SignatureType } from "../data/index.js";
import type { ModelFormat } from "../learn/index.js";
import { type InputTable, type RawValue } from "./input-table.js";
import { specError, specValueText } from "../spec-fields.js";

/**
 * Open Inference Protocol V2 (REST) codec: request tensors → InputTable, scores → response tensors,
 * and the metadata documents. Two input layouts are accepted:
 *  - one tensor per signature column, named as the column, shape [N] or [N, 1];
 *  - a single tensor of shape [N, F] whose F columns follow the signature's input order.
 * Tensor data may be flat or nested; it is read in row-major order as the spec says.
 */
export { OIP_DATATYPES, type OipDatatype };

export interface MetadataTensor {
  readonly name: string;
  readonly datatype: OipDatatype;
  readonly shape: readonly number[];
}

export interface InferRequest {
  readonly id: string | undefined;
  readonly table: InputTable;
  /** Names of the requested outputs, when the request listed them. */
  readonly outputs: readonly string[] | undefined;
  readonly parameters: Readonly<Record<string, unknown>>;
}

export interface OutputTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly datatype: OipDatatype;
  readonly data: readonly (number | string)[];
}

const DATATYPE_OF: Record<SignatureType, OipDatatype> = {
  double: "FP64",
  long: "INT64",
  boolean: "BOOL",
  string: "BYTES",
};

export function inputTensors(signature: Signature): MetadataTensor[] {
  return signature.inputs.map((c) => ({ name: c.name, datatype: DATATYPE_OF[c.type], shape: [-1] }));
}

/** The score tensor's name: the signature's first output, else `score`. */
export function scoreOutputName(signature: Signature): string {
  return signature.outputs[0]?.name ?? "score";
}

export function outputTensors(signature: Signature): MetadataTensor[] {
  return [{ name: scoreOutputName(signature), datatype: "FP64", shape: [-1] }];
}

const PLATFORM: Record<ModelFormat, string> = {
  keel: "keel_json",
  xgboost: "xgboost_json",
  lightgbm: "lightgbm_text",
  onnx: "onnxruntime_onnx",
};

export function modelMetadata(
  name: string,
  versions: readonly string[],
  format: ModelFormat,
  signature: Signature,
): { name: string; versions: string[]; platform: string; inputs: MetadataTensor[]; outputs: MetadataTensor[] } {
  return {
    name,
    versions: [...versions],
    platform: PLATFORM[format],
    inputs: inputTensors(signature),
    outputs: outputTensors(signature),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Flatten nested arrays in row-major order without recursion limits on width. */
function flatten(data: unknown, field: string): unknown[] {
  if (!Array.isArray(data)) throw specError(field, data, "must be an array of tensor elements (flat or nested)");
  if (!data.some(Array.isArray)) return data;
  const out: unknown[] = [];
  const stack: { arr: unknown[]; i: number }[] = [{ arr: data, i: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as { arr: unknown[]; i: number };
    if (top.i >= top.arr.length) {
      stack.pop();
      continue;
    }
    const v = top.arr[top.i++];
    if (Array.isArray(v)) {
      if (stack.length > 32) throw specError(field, "…", "must not nest deeper than 32 levels");
      stack.push({ arr: v, i: 0 });
    } else out.push(v);
  }
  return out;
}

function checkElements(values: unknown[], datatype: OipDatatype, field: string): RawValue[] {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null) continue; // nulls reach the validator, which knows whether the column is nullable
    let ok: boolean;
    if (datatype === "BOOL") ok = typeof v === "boolean";
    else if (datatype === "BYTES") ok = typeof v === "string";
    else if (datatype.startsWith("FP")) ok = typeof v === "number";
    else ok = typeof v === "number" && Number.isInteger(v) && (!datatype.startsWith("U") || v >= 0);
    if (!ok) throw specError(`${field}[${i}]`, v, `must be a ${datatype} element`);
  }
  return values as RawValue[];
}

const byName = new WeakMap<Signature, ReadonlyMap<string, SignatureColumn>>();

/** A signature's inputs by name, indexed once per signature (a loaded model keeps its own). */
function inputsByName(signature: Signature): ReadonlyMap<string, SignatureColumn> {
  let m = byName.get(signature);
  if (m === undefined) {
    m = new Map(signature.inputs.map((c) => [c.name, c]));
    byName.set(signature, m);
  }
  return m;
}

/**
 * `joinKeys`: further input names taken whatever their datatype (an endpoint serving by entity
 * key accepts its feature service's join keys, which have no declared type).
 */
export function decodeInferRequest(
  body: unknown,
  signature: Signature,
  joinKeys: readonly string[] = [],
): InferRequest {
  if (!isObject(body)) throw specError("body", body, "must be a JSON object (an inference request)");
  const id = body.id;
  if (id !== undefined && typeof id !== "string") throw specError("id", id, "must be a string");
  const parameters = body.parameters;
  if (parameters !== undefined && !isObject(parameters))
    throw specError("parameters", parameters, "must be a JSON object");
  const inputs = body.inputs;
  if (!Array.isArray(inputs) || inputs.length === 0)
    throw specError("inputs", inputs, "must be a non-empty array of input tensors");

  const known = inputsByName(signature);
  const columns = new Map<string, RawValue[]>();
  const sources = new Map<string, string>();
  let nRows = -1;
  for (let t = 0; t < inputs.length; t++) {
    const f = `inputs[${t}]`;
    const tensor: unknown = inputs[t];
    if (!isObject(tensor)) throw specError(f, tensor, "must be an input tensor object {name, shape, datatype, data}");
    const { name, shape, datatype } = tensor;
    if (typeof name !== "string" || name === "") throw specError(`${f}.name`, name, "must be a non-empty string");
    if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
      throw specError(`${f}.shape`, shape, "must be a non-empty array of non-negative integers");
    }
    const dims = shape as number[];
    if (typeof datatype !== "string" || !(OIP_DATATYPES as readonly string[]).includes(datatype)) {
      throw specError(`${f}.datatype`, datatype, `must be one of ${OIP_DATATYPES.join(", ")}`);
    }
    const dt = datatype as OipDatatype;
    const flat = flatten(tensor.data, `${f}.data`);
    const size = dims.reduce((a, b) => a * b, 1);
    if (flat.length !== size) {
      throw specError(
        `${f}.data`,
        `${flat.length} elements`,
        `must hold ${size} elements to fill shape ${specValueText(dims)}`,
      );
    }
    const values = checkElements(flat, dt, `${f}.data`);
    const rows = dims[0] as number;
    const col = known.get(name);
    if (col !== undefined || joinKeys.includes(name)) {
      if (dims.length > 2 || (dims.length === 2 && dims[1] !== 1)) {
        throw specError(`${f}.shape`, dims, `must be [N] or [N, 1] for the single column ${name}`);
      }
      if (col !== undefined) checkColumnDatatype(col.type, dt, f, name);
      if (columns.has(name)) throw specError(`${f}.name`, name, "must not repeat another input's name");
      columns.set(name, values);
      sources.set(name, `${f} (${name})`);
    } else if (inputs.length === 1 && dims.length === 2 && dims[1] === signature.inputs.length) {
      const width = dims[1];
      signature.inputs.forEach((c, j) => {
        const column = new Array<RawValue>(rows);
        for (let i = 0; i < rows; i++) column[i] = values[i * width + j];
        columns.set(c.name, column);
        sources.set(c.name, `${f} (${name}) column ${j} (${c.name})`);
      });
    } else {
      throw specError(
        `${f}.name`,
        name,
        `must name a model input (one of ${specValueText([...joinKeys, ...signature.inputs.map((c) => c.name)])}) or be the only input, shaped [N, ${signature.inputs.length}]`,
      );
    }
    if (nRows === -1) nRows = rows;
    else if (rows !== nRows) throw specError(`${f}.shape`, dims, `must have ${nRows} rows like inputs[0]`);
  }

  let outputs: string[] | undefined;
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) throw specError("outputs", body.outputs, "must be an array of {name}");
    const allowed = outputTensors(signature).map((o) => o.name);
    outputs = body.outputs.map((o: unknown, i) => {
      const n = isObject(o) ? o.name : undefined;
      if (typeof n !== "string" || !allowed.includes(n)) {
        throw specError(`outputs[${i}].name`, n, `must be one of the model's outputs ${specValueText(allowed)}`);
      }
      return n;
    });
  }
  return { id, table: { nRows, columns, sources }, outputs, parameters: parameters ?? {} };
}

function checkColumnDatatype(type: SignatureType, dt: OipDatatype, f: string, name: string): void {
  const ok = type === "string" ? dt === "BYTES" : type === "boolean" ? dt === "BOOL" : dt !== "BYTES" && dt !== "BOOL";
  if (!ok) {
    const want = type === "string" ? "BYTES" : type === "boolean" ? "BOOL" : "a numeric datatype (INT*, UINT*, FP*)";
    throw specError(`${f}.datatype`, dt, `must be ${want} for input ${name} (type ${type})`);
  }
}

export function encodeInferResponse(args: {
  modelName: string;
  modelVersion: string;
  id: string;
  signature: Signature;
  scores: Float64Array;
  outputs: readonly string[] | undefined;
  parameters?: Record<string, string | number | boolean>;
}): {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: Record<string, string | number | boolean>;
  outputs: OutputTensor[];
} {
  const name = scoreOutputName(args.signature);
  const all: OutputTensor[] = [{ name, shape: [args.scores.length], datatype: "FP64", data: Array.from(args.scores) }];
  const outputs = args.outputs === undefined ? all : all.filter((o) => args.outputs?.includes(o.name));
  return {
    model_name: args.modelName,
    model_version: args.modelVersion,
    id: args.id,
    ...(args.parameters === undefined ? {} : { parameters: args.parameters }),
    outputs,
  };
}
