import { InvalidParameterError } from "../errors.js";
import type { ReasonCode } from "../store/index.js";
import { specError } from "../spec-fields.js";
import type { OipDatatype } from "../wire/index.js";

/**
 * The binary tensor data extension of the inference protocol (Triton's, which KServe shares): a
 * request or response body is the JSON document followed by raw tensor bytes — little-endian,
 * row-major, BOOL one byte, BYTES a 4-byte length then the bytes — in the order of the tensors
 * that carry `parameters.binary_data_size`. The `Inference-Header-Content-Length` header gives
 * the JSON part's length. An output is answered in binary when the request asks for it
 * (`outputs[i].parameters.binary_data`, or `parameters.binary_data_output` for all).
 */
export const INFERENCE_HEADER_LENGTH = "inference-header-content-length";
export const BINARY_TENSOR_EXTENSION = "binary_tensor_data";

const WIDTH: Partial<Record<OipDatatype, number>> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** One decoder for every request: decode() without `stream` keeps no state between calls. */
const UTF8 = new TextDecoder();

function parseJson(bytes: Uint8Array, field: string): unknown {
  const text = UTF8.decode(bytes);
  if (text.trim() === "") {
    throw new InvalidParameterError(`${field}: empty; send a JSON document`, {
      details: { field: "body", rule: "non-empty JSON document" },
    });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InvalidParameterError(`${field}: not valid JSON (${(e as Error).message})`, {
      details: { field: "body", rule: "valid JSON" },
    });
  }
}

/** IEEE 754 half precision to a number. */
function half(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * The elements of one tensor's bytes, as the JSON form would carry them. Binary floats have no
 * null: a NaN element is a missing value, as JSON's null is.
 */
export function decodeBinaryTensor(
  bytes: Uint8Array,
  datatype: OipDatatype,
  field: string,
): (number | boolean | string | null)[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (datatype === "BYTES") {
    const out: string[] = [];
    let pos = 0;
    while (pos < bytes.length) {
      if (pos + 4 > bytes.length)
        throw specError(field, `${bytes.length} bytes`, "ends inside a BYTES element's length");
      const n = view.getUint32(pos, true);
      if (pos + 4 + n > bytes.length) throw specError(field, `${bytes.length} bytes`, "ends inside a BYTES element");
      out.push(UTF8.decode(bytes.subarray(pos + 4, pos + 4 + n)));
      pos += 4 + n;
    }
    return out;
  }
  const width = WIDTH[datatype] as number;
  if (bytes.length % width !== 0)
    throw specError(field, bytes.length, `must be a multiple of ${width} bytes for ${datatype} elements`);
  const n = bytes.length / width;
  const out = new Array<number | boolean | null>(n);
  for (let i = 0; i < n; i++) {
    const at = i * width;
    switch (datatype) {
      case "BOOL":
        out[i] = view.getUint8(at) !== 0;
        break;
      case "UINT8":
        out[i] = view.getUint8(at);
        break;
      case "INT8":
        out[i] = view.getInt8(at);
        break;
      case "UINT16":
        out[i] = view.getUint16(at, true);
        break;
      case "INT16":
        out[i] = view.getInt16(at, true);
        break;
      case "FP16":
        out[i] = half(view.getUint16(at, true));
        break;
      case "UINT32":
        out[i] = view.getUint32(at, true);
        break;
      case "INT32":
        out[i] = view.getInt32(at, true);
        break;
      case "FP32":
        out[i] = view.getFloat32(at, true);
        break;
      case "UINT64":
        out[i] = Number(view.getBigUint64(at, true));
        break;
      case "INT64":
        out[i] = Number(view.getBigInt64(at, true));
        break;
      case "FP64":
      default:
        out[i] = view.getFloat64(at, true);
    }
    if (out[i] !== out[i]) out[i] = null;
  }
  return out;
}

/**
 * An infer request body as the JSON document the decoder reads. With the
 * `Inference-Header-Content-Length` header the JSON part is followed by the binary inputs, which
 * are decoded into each input's `data`; without it the whole body is JSON, whatever its content
 * type (`curl -d` labels it form data, some clients send none).
 */
export function inferRequestDocument(body: Uint8Array, headerLength: string | undefined): unknown {
  if (headerLength === undefined) return parseJson(body, "request body");
  const n = Number(headerLength);
  if (!/^\d+$/.test(headerLength.trim()) || n > body.length) {
    throw specError(
      "Inference-Header-Content-Length",
      headerLength,
      `must be the JSON header's length in bytes, an integer from 1 to the body's ${body.length}`,
    );
  }
  if (n === 0) {
    throw specError(
      "Inference-Header-Content-Length",
      0,
      "raw binary requests (no JSON header) are not supported: send the inference header naming each input",
    );
  }
  const doc = parseJson(body.subarray(0, n), "request body (JSON header)");
  const binary = body.subarray(n);
  let pos = 0;
  const inputs = isObject(doc) && Array.isArray(doc.inputs) ? (doc.inputs as unknown[]) : [];
  inputs.forEach((tensor, t) => {
    if (!isObject(tensor) || !isObject(tensor.parameters)) return;
    const size = tensor.parameters.binary_data_size;
    if (size === undefined) return;
    const f = `inputs[${t}].parameters.binary_data_size`;
    if (typeof size !== "number" || !Number.isInteger(size) || size < 0)
      throw specError(f, size, "must be a non-negative integer (bytes)");
    if (tensor.data !== undefined)
      throw specError(`inputs[${t}].data`, "…", "must be absent when the tensor is binary");
    if (pos + size > binary.length)
      throw specError(f, size, `exceeds the ${binary.length - pos} binary bytes left after the JSON header`);
    const datatype = tensor.datatype as OipDatatype;
    if (WIDTH[datatype] === undefined && datatype !== "BYTES")
      throw specError(`inputs[${t}].datatype`, tensor.datatype, "must be a tensor datatype");
    tensor.data = decodeBinaryTensor(binary.subarray(pos, pos + size), datatype, `inputs[${t}] binary data`);
    pos += size;
  });
  if (pos !== binary.length) {
    throw specError(
      "Inference-Header-Content-Length",
      headerLength,
      `leaves ${binary.length} bytes after the JSON header but the inputs' binary_data_size add up to ${pos}`,
    );
  }
  return doc;
}

/** Whether the request asks for `output` in binary: its own `binary_data`, else `binary_data_output`. */
export function binaryOutputWanted(body: unknown, output: string): boolean {
  if (!isObject(body)) return false;
  const outputs = Array.isArray(body.outputs) ? (body.outputs as unknown[]) : [];
  const own = outputs.find((o) => isObject(o) && o.name === output);
  if (isObject(own) && isObject(own.parameters) && typeof own.parameters.binary_data === "boolean")
    return own.parameters.binary_data;
  return isObject(body.parameters) && body.parameters.binary_data_output === true;
}

/**
 * The infer answer with binary outputs: the JSON header (each binary output with
 * `parameters.binary_data_size` and no `data`) and the bytes, scores as FP64, reasons as BYTES.
 */
export function binaryInferResponse(args: {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly id: string;
  readonly outputName: string;
  readonly includeOutput: boolean;
  readonly scores: Float64Array;
  readonly parameters: Readonly<Record<string, string>>;
  readonly reasons?: readonly (readonly ReasonCode[])[];
}): { headerLength: number; body: Buffer } {
  const outputs: unknown[] = [];
  const chunks: Buffer[] = [];
  if (args.includeOutput) {
    const bytes = Buffer.alloc(args.scores.length * 8);
    args.scores.forEach((v, i) => bytes.writeDoubleLE(v, i * 8));
    chunks.push(bytes);
    outputs.push({
      name: args.outputName,
      shape: [args.scores.length],
      datatype: "FP64",
      parameters: { binary_data_size: bytes.length },
    });
  }
  if (args.reasons !== undefined) {
    const parts = args.reasons.map((r) => {
      const text = Buffer.from(JSON.stringify(r), "utf8");
      const len = Buffer.alloc(4);
      len.writeUInt32LE(text.length);
      return Buffer.concat([len, text]);
    });
    const bytes = Buffer.concat(parts);
    chunks.push(bytes);
    outputs.push({
      name: "reasons",
      shape: [args.reasons.length],
      datatype: "BYTES",
      parameters: { binary_data_size: bytes.length },
    });
  }
  const header = Buffer.from(
    JSON.stringify({
      model_name: args.modelName,
      model_version: args.modelVersion,
      id: args.id,
      parameters: args.parameters,
      outputs,
    }),
    "utf8",
  );
  return { headerLength: header.length, body: Buffer.concat([header, ...chunks]) };
}
