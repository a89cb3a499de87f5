import { parse as parseYaml } from "yaml";
import type { Signature, SignatureColumn, SignatureType } from "../data/index.js";
import { InvalidStateError } from "../errors.js";
import { inSpecFile, specError } from "../spec-fields.js";

/**
 * MLflow model directories: the `MLmodel` file (YAML, written by `mlflow.models.Model.save`) that
 * names the folder's flavors — each with the file it loads — its signature and its input example.
 * keel serves the flavors whose model files it reads natively; any other flavor still registers,
 * and is reported as not servable by name.
 */
export const MLMODEL_FILE = "MLmodel";

/** Flavors keel runs natively, in preference order, and the flavor key naming their model file. */
const SERVABLE_FLAVORS: readonly { flavor: string; file: string }[] = [
  { flavor: "keel", file: "data" },
  { flavor: "xgboost", file: "data" },
  { flavor: "lightgbm", file: "data" },
  { flavor: "onnx", file: "data" },
];

/** Flavors that only wrap another (every saved model has `python_function`). */
const WRAPPER_FLAVORS = new Set(["python_function"]);

/** One tensor of a tensor-based MLflow signature. */
export interface MlflowTensorSpec {
  readonly name?: string;
  readonly dtype: string;
  readonly shape: readonly number[];
}

export interface MlflowModelFile {
  /** The flavors the folder declares, as named in `MLmodel`. */
  readonly flavors: readonly string[];
  /** The flavor keel serves and its model file (relative to the folder), or why none can be. */
  readonly serving: { readonly flavor: string; readonly modelFile: string } | { readonly notServable: string };
  /** The column-based signature as keel's, when `MLmodel` has one. */
  readonly signature?: Signature;
  /** The input tensors of a tensor-based signature (their columns come from the model itself). */
  readonly tensorInputs?: readonly MlflowTensorSpec[];
  /** Path (relative to the folder) of the saved input example, when there is one. */
  readonly inputExample?: string;
  readonly runId?: string;
  /** MLflow 3: the logged model (`m-…`) the folder belongs to. */
  readonly modelId?: string;
}

function record(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw specError(field, v, "must be a mapping");
  return v as Record<string, unknown>;
}

function optionalString(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** Parses the text of an `MLmodel` file; `where` names it in errors (e.g. the folder). */
export function parseMlmodel(text: string, where: string): MlflowModelFile {
  return inSpecFile(`${where}/${MLMODEL_FILE}`, () => {
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (e) {
      throw specError("(root)", "YAML", `must be valid YAML (${(e as Error).message})`);
    }
    const root = record(doc, "(root)");
    const flavorMap = record(root.flavors, "flavors");
    const flavors = Object.keys(flavorMap);
    if (flavors.length === 0) throw specError("flavors", "{}", "must declare at least one flavor");
    const signature =
      root.signature === undefined || root.signature === null ? undefined : record(root.signature, "signature");
    const example = root.saved_input_example_info;
    const inputExample =
      typeof example === "object" && example !== null
        ? optionalString((example as Record<string, unknown>).artifact_path)
        : undefined;
    const runId = optionalString(root.run_id);
    const modelId = optionalString(root.model_id);
    return {
      flavors,
      serving: servingFlavor(flavorMap, flavors),
      ...(signature === undefined ? {} : signatureParts(signature)),
      ...(inputExample === undefined ? {} : { inputExample }),
      ...(runId === undefined ? {} : { runId }),
      ...(modelId === undefined ? {} : { modelId }),
    };
  });
}

function servingFlavor(flavorMap: Record<string, unknown>, flavors: readonly string[]): MlflowModelFile["serving"] {
  for (const { flavor, file } of SERVABLE_FLAVORS) {
    const conf = flavorMap[flavor];
    if (conf === undefined) continue;
    const c = record(conf, `flavors.${flavor}`);
    const modelFile = optionalString(c[file]);
    if (modelFile === undefined) throw specError(`flavors.${flavor}.${file}`, c[file], "must name the model file");
    if (modelFile.split("/").includes("..")) {
      throw specError(`flavors.${flavor}.${file}`, modelFile, "must stay inside the model folder");
    }
    if (flavor === "xgboost" && c.model_format === "deprecated") {
      return { notServable: `flavor xgboost with model_format "deprecated" is not readable; save it as json or ubj` };
    }
    return { flavor, modelFile };
  }
  const own = flavors.filter((f) => !WRAPPER_FLAVORS.has(f));
  const named = (own.length > 0 ? own : flavors).join(", ");
  return {
    notServable:
      `flavor ${named} cannot be served by keel (it runs xgboost, lightgbm, onnx and keel models natively); ` +
      `export the model to ONNX (e.g. skl2onnx for scikit-learn) and register the .onnx file or an onnx-flavored folder`,
  };
}

/** The flavor and model file to serve, or an error naming the flavor and what to do. */
export function servableModel(m: MlflowModelFile, where: string): { flavor: string; modelFile: string } {
  if ("notServable" in m.serving) {
    throw new InvalidStateError(`${where}: not servable: ${m.serving.notServable}`, {
      details: {
        field: "flavors",
        value: m.flavors.join(", "),
        rule: "a flavor keel serves (xgboost, lightgbm, onnx, keel)",
      },
    });
  }
  return m.serving;
}

const COLUMN_TYPES: Record<string, SignatureType> = {
  double: "double",
  float: "double",
  long: "long",
  integer: "long",
  boolean: "boolean",
  string: "string",
};

/** MLflow stores each side of the signature as a JSON string inside the YAML. */
function specList(v: unknown, field: string): Record<string, unknown>[] | undefined {
  if (v === undefined || v === null) return undefined;
  let parsed: unknown = v;
  if (typeof v === "string") {
    try {
      parsed = JSON.parse(v);
    } catch (e) {
      throw specError(field, v, `must be a JSON list of column or tensor specs (${(e as Error).message})`);
    }
  }
  if (!Array.isArray(parsed)) throw specError(field, parsed, "must be a list of column or tensor specs");
  return parsed.map((x, i) => record(x, `${field}[${i}]`));
}

function signatureParts(sig: Record<string, unknown>): Pick<MlflowModelFile, "signature" | "tensorInputs"> {
  const inputs = specList(sig.inputs, "signature.inputs");
  if (inputs === undefined || inputs.length === 0) return {};
  if (inputs.every((s) => s.type === "tensor")) {
    return {
      tensorInputs: inputs.map((s, i) => {
        const spec = record(s["tensor-spec"], `signature.inputs[${i}].tensor-spec`);
        const shape = spec.shape;
        if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d)))
          throw specError(`signature.inputs[${i}].tensor-spec.shape`, shape, "must be a list of integers");
        const name = optionalString(s.name);
        return { ...(name === undefined ? {} : { name }), dtype: String(spec.dtype), shape: shape as number[] };
      }),
    };
  }
  const columns: SignatureColumn[] = inputs.map((s, i) => {
    const f = `signature.inputs[${i}]`;
    if (s.type === "tensor") throw specError(`${f}.type`, "tensor", "must not mix tensor and column specs");
    const name = optionalString(s.name);
    if (name === undefined)
      throw specError(`${f}.name`, s.name, "every column of a column-based signature needs a name");
    const type = COLUMN_TYPES[String(s.type)];
    if (type === undefined)
      throw specError(`${f}.type`, s.type, `supported column types: ${Object.keys(COLUMN_TYPES).join(", ")}`);
    // MLflow accepts NaN in floating-point columns; other columns may be missing only when not required.
    const nullable = type === "double" || s.required === false;
    return { name, type, nullable };
  });
  const outputs = specList(sig.outputs, "signature.outputs") ?? [];
  const first = outputs[0];
  const outputName = first !== undefined && first.type !== "tensor" ? optionalString(first.name) : undefined;
  return {
    signature: { inputs: columns, outputs: [{ name: outputName ?? "score", type: "double", nullable: false }] },
  };
}

/**
 * A signature from a saved input example (`{"columns": [...], "data": [[...]]}`, pandas' split
 * orient, optionally under `dataframe_split`), for folders saved with an example but no signature:
 * numbers are `double`, strings `string`, booleans `boolean`; a column with a null is nullable.
 */
export function signatureFromInputExample(json: unknown, where: string): Signature {
  return inSpecFile(where, () => {
    const root = record(json, "(root)");
    const split = root.dataframe_split === undefined ? root : record(root.dataframe_split, "dataframe_split");
    const columns = split.columns;
    const data = split.data;
    if (!Array.isArray(columns) || !columns.every((c) => typeof c === "string"))
      throw specError("columns", columns, "must be a list of column names");
    if (!Array.isArray(data) || !data.every(Array.isArray)) throw specError("data", data, "must be a list of rows");
    const rows = data as unknown[][];
    const inputs = columns.map((name, j): SignatureColumn => {
      const values = rows.map((r) => r[j]);
      const present = values.filter((v) => v !== null && v !== undefined);
      const kind = typeof present[0];
      if (present.some((v) => typeof v !== kind))
        throw specError(`columns[${j}]`, name, "must hold values of one type");
      const type: SignatureType = kind === "string" ? "string" : kind === "boolean" ? "boolean" : "double";
      return { name, type, nullable: type === "double" || present.length < values.length };
    });
    return { inputs, outputs: [{ name: "score", type: "double", nullable: false }] };
  });
}
