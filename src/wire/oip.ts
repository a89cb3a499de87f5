/** The Open Inference Protocol V2 (REST) documents keel serves under `/v2/...`. */
export const OIP_DATATYPES = [
  "BOOL",
  "UINT8",
  "UINT16",
  "UINT32",
  "UINT64",
  "INT8",
  "INT16",
  "INT32",
  "INT64",
  "FP16",
  "FP32",
  "FP64",
  "BYTES",
] as const;
export type OipDatatype = (typeof OIP_DATATYPES)[number];

export interface MetadataTensor {
  readonly name: string;
  readonly datatype: OipDatatype;
  readonly shape: readonly number[];
}

/** `GET /v2/models/{name}[/versions/{version}]`. */
export interface ModelMetadataJson {
  name: string;
  versions: string[];
  platform: string;
  inputs: MetadataTensor[];
  outputs: MetadataTensor[];
}

export interface OutputTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly datatype: OipDatatype;
  readonly data: readonly (number | string)[];
}

/** `POST /v2/models/{name}/infer`. */
export interface InferResponseJson {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: Record<string, string | number | boolean>;
  outputs: OutputTensor[];
}
