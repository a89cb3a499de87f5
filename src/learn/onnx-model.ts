import type * as Ort from "onnxruntime-node";
import type { Frame, Signature, SignatureColumn } from "../data/index.js";
import { InvalidParameterError } from "../errors.js";
import { frameToMatrix } from "./ensemble-predictor.js";
import type { ModelTask, Predictor } from "./predictor.js";

/**
 * ONNX models through onnxruntime-node. Inputs come in two shapes:
 * - one tensor [N, k] (sklearn-onnx's `float_input`): the k column names are read from the model's
 *   `feature_names` metadata property (a JSON list or comma-separated), else `f0..f{k-1}`;
 * - one tensor per column ([N] or [N, 1]), named after the column.
 * The score is a classifier's positive-class probability (an output named like `probabilities` /
 * `output_probability`, a tensor [N, 2] → column 1) or else the first numeric output (regression).
 */
export interface OnnxOptions {
  /** Output to read the score from (default: detected as above). */
  readonly output?: string;
  /** Override the detected task. */
  readonly task?: ModelTask;
  /** onnxruntime intra-op threads. */
  readonly threads?: number;
}

function bad(field: string, value: unknown, rule: string): never {
  throw new InvalidParameterError(`ONNX model: ${field} = ${String(value)}: ${rule}`, {
    details: { field, value, rule },
  });
}

function readVarint(b: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let mul = 1;
  for (;;) {
    if (pos >= b.length) bad("protobuf", "truncated varint", "the file is not a complete ONNX model");
    const byte = b[pos++] as number;
    result += (byte & 0x7f) * mul;
    if ((byte & 0x80) === 0) return [result, pos];
    mul *= 128;
  }
}

/**
 * The `metadata_props` of an ONNX ModelProto (field 14: repeated {key = 1, value = 2}), read by
 * walking the top-level protobuf fields; onnxruntime-node does not expose them.
 */
export function onnxMetadataProps(bytes: Uint8Array): Map<string, string> {
  const props = new Map<string, string>();
  const dec = new TextDecoder();
  let pos = 0;
  while (pos < bytes.length) {
    const [tag, p1] = readVarint(bytes, pos);
    pos = p1;
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      pos = readVarint(bytes, pos)[1];
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else if (wire === 2) {
      const [len, p2] = readVarint(bytes, pos);
      const end = p2 + len;
      if (end > bytes.length) bad("protobuf", `field ${field} length ${len}`, "the file is not a complete ONNX model");
      if (field === 14) {
        let key = "";
        let value = "";
        let q = p2;
        while (q < end) {
          const [t, q1] = readVarint(bytes, q);
          const [l, q2] = readVarint(bytes, q1);
          const s = dec.decode(bytes.subarray(q2, q2 + l));
          if (t >>> 3 === 1) key = s;
          else if (t >>> 3 === 2) value = s;
          q = q2 + l;
        }
        props.set(key, value);
      }
      pos = end;
    } else {
      bad("protobuf", `wire type ${wire}`, "the file is not an ONNX model");
    }
  }
  return props;
}

interface InputPlan {
  readonly name: string;
  readonly type: "float32" | "float64" | "int64" | "string";
  readonly shape: readonly (number | string)[];
}

const PROB_NAMES = ["probabilities", "output_probability", "probability", "probs", "prob"];

export class OnnxPredictor implements Predictor {
  readonly format = "onnx" as const;
  readonly task: ModelTask;
  readonly signature: Signature;
  private readonly columnNames: readonly string[];
  /** Set when the model takes one [N, k] tensor; else one tensor per column. */
  private readonly matrixInput: InputPlan | undefined;
  private readonly inputs: readonly InputPlan[];
  private readonly output: string;
  private readonly outputColumn: number;

  private constructor(
    /** onnxruntime, imported when the first ONNX model loads: other models never pay its start-up. */
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
    bytes: Uint8Array,
    opts: OnnxOptions,
  ) {
    const plans: InputPlan[] = session.inputMetadata.map((m) => {
      if (!m.isTensor) bad(`input "${m.name}"`, "non-tensor", "inputs must be tensors");
      const t = m.type;
      if (t !== "float32" && t !== "float64" && t !== "int64" && t !== "string") {
        bad(`input "${m.name}" type`, t, "supported input types: float32, float64, int64, string");
      }
      return { name: m.name, type: t, shape: m.shape };
    });
    this.inputs = plans;
    const first = plans[0];
    if (first === undefined) bad("inputs", 0, "the model needs at least one input");
    const width = first.shape[1];
    if (plans.length === 1 && first.shape.length === 2 && typeof width === "number" && width > 1) {
      if (first.type === "string" || first.type === "int64") {
        bad(`input "${first.name}" type`, first.type, "a multi-column input must be float32 or float64");
      }
      this.matrixInput = first;
      this.columnNames = featureNames(onnxMetadataProps(bytes).get("feature_names"), width);
    } else {
      for (const p of plans) {
        if (p.shape.length > 2 || (p.shape.length === 2 && p.shape[1] !== 1)) {
          bad(`input "${p.name}" shape`, `[${p.shape.join(", ")}]`, "a per-column input must be [N] or [N, 1]");
        }
      }
      this.matrixInput = undefined;
      this.columnNames = plans.map((p) => p.name);
    }
    const inputs: SignatureColumn[] = this.columnNames.map((name, j) => {
      const t = this.matrixInput?.type ?? plans[j]?.type;
      return {
        name,
        type: t === "string" ? "string" : t === "int64" ? "long" : "double",
        nullable: false,
      };
    });
    this.signature = { inputs, outputs: [{ name: "score", type: "double", nullable: false }] };

    const outs = session.outputMetadata;
    let chosen: Ort.InferenceSession.ValueMetadata | undefined;
    if (opts.output !== undefined) {
      chosen = outs.find((o) => o.name === opts.output);
      if (chosen === undefined) bad("output", opts.output, `must be one of: ${outs.map((o) => o.name).join(", ")}`);
    } else {
      chosen = outs.find((o) => PROB_NAMES.includes(o.name.toLowerCase()));
      if (chosen === undefined) chosen = outs.find((o) => o.isTensor && (o.type === "float32" || o.type === "float64"));
      if (chosen === undefined) bad("outputs", outs.map((o) => o.name).join(", "), "no numeric output to score from");
    }
    if (!chosen.isTensor) {
      bad(
        `output "${chosen.name}"`,
        "non-tensor (e.g. a ZipMap)",
        "export the classifier without ZipMap (zipmap=False)",
      );
    }
    if (chosen.type !== "float32" && chosen.type !== "float64") {
      bad(`output "${chosen.name}" type`, chosen.type, "the score output must be float32 or float64");
    }
    const cols = chosen.shape.length === 2 ? chosen.shape[1] : 1;
    const isProb = PROB_NAMES.includes(chosen.name.toLowerCase());
    this.task = opts.task ?? (isProb ? "binary" : "regression");
    if (cols === 2) this.outputColumn = 1;
    else if (cols === 1 || typeof cols === "string") this.outputColumn = 0;
    else
      bad(`output "${chosen.name}" shape`, `[${chosen.shape.join(", ")}]`, "the score output must have 1 or 2 columns");
    this.output = chosen.name;
  }

  static async load(bytes: Uint8Array, opts: OnnxOptions = {}): Promise<OnnxPredictor> {
    const ort = await import("onnxruntime-node");
    let session: Ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(
        bytes,
        opts.threads === undefined ? {} : { intraOpNumThreads: opts.threads },
      );
    } catch (e) {
      bad("model", `${bytes.length} bytes`, `onnxruntime could not load it (${(e as Error).message})`);
    }
    return new OnnxPredictor(ort, session, bytes, opts);
  }

  async predict(frame: Frame): Promise<Float64Array> {
    const n = frame.nRows;
    const feeds: Record<string, Ort.Tensor> = {};
    if (this.matrixInput !== undefined) {
      const m = this.matrixInput;
      const features = this.columnNames.map((name) => ({ name }));
      const x = frameToMatrix(frame, features, m.type === "float64" ? "float64" : "float32");
      feeds[m.name] = new this.ort.Tensor(m.type, x, [n, features.length]);
    } else {
      for (const p of this.inputs) feeds[p.name] = columnTensor(this.ort.Tensor, frame, p);
    }
    const result = await this.session.run(feeds, [this.output]);
    const t = result[this.output];
    if (t === undefined) bad("output", this.output, "onnxruntime returned no such output");
    const data = t.data as Float32Array | Float64Array;
    const width = t.dims.length === 2 ? (t.dims[1] ?? 1) : 1;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = data[i * width + this.outputColumn] as number;
    return out;
  }

  close(): Promise<void> {
    return this.session.release();
  }
}

function featureNames(meta: string | undefined, width: number): string[] {
  if (meta !== undefined) {
    let names: unknown;
    try {
      names = JSON.parse(meta);
    } catch {
      names = meta.split(",").map((s) => s.trim());
    }
    if (!Array.isArray(names) || names.length !== width) {
      bad("metadata feature_names", meta.slice(0, 80), `must list ${width} names (the input's width)`);
    }
    return names.map((v) => String(v));
  }
  return Array.from({ length: width }, (_, i) => `f${i}`);
}

function columnTensor(Tensor: typeof Ort.Tensor, frame: Frame, p: InputPlan): Ort.Tensor {
  const n = frame.nRows;
  const dims = p.shape.length === 2 ? [n, 1] : [n];
  const col = frame.columns.find((c) => c.name === p.name);
  if (col === undefined) {
    throw new InvalidParameterError(`input column "${p.name}" is missing: the model needs every signature input`, {
      details: { field: p.name, rule: "required model input" },
    });
  }
  if (p.type === "string") {
    const data: string[] = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      if (col.kind === "categorical") {
        const c = col.codes[i] as number;
        data[i] = c < 0 ? "" : (col.dictionary[c] ?? "");
      } else {
        data[i] = String(col.values[i]);
      }
    }
    return new Tensor("string", data, dims);
  }
  const x = frameToMatrix(frame, [{ name: p.name }], "float64");
  if (p.type === "int64") {
    const data = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      const v = x[i] as number;
      if (!Number.isInteger(v)) bad(`input column "${p.name}" row ${i}`, v, "the model expects an integer (int64)");
      data[i] = BigInt(v);
    }
    return new Tensor("int64", data, dims);
  }
  return new Tensor(p.type, p.type === "float32" ? Float32Array.from(x) : x, dims);
}
