import type { LifecycleStage, LoggedModelStatus, ModelVersionStatus, RunStatus, Stage } from "./enums.js";

/**
 * MLflow's REST JSON shapes as keel serves them: protobuf JSON with the proto field names
 * (snake_case, ids as strings, int64 timestamps as numbers, empty fields left out).
 */
export interface TagJson {
  key: string;
  value: string;
}
export type ParamJson = TagJson;
export interface MetricJson {
  key: string;
  /** A number, or "NaN" / "Infinity" / "-Infinity". */
  value: number | string;
  timestamp: number;
  step: number;
  /** MLflow 3: the dataset the value was computed on. */
  dataset_name?: string;
  dataset_digest?: string;
}

export interface ExperimentJson {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage: LifecycleStage;
  last_update_time?: number;
  creation_time?: number;
  tags?: TagJson[];
}

export interface RunInfoJson {
  run_id: string;
  run_uuid: string;
  run_name?: string;
  experiment_id: string;
  user_id?: string;
  status: RunStatus;
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage: LifecycleStage;
}

export interface DatasetJson {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema?: string;
  profile?: string;
}

export interface DatasetInputJson {
  tags?: TagJson[];
  dataset: DatasetJson;
}

export interface RunJson {
  info: RunInfoJson;
  data: { metrics?: MetricJson[]; params?: ParamJson[]; tags?: TagJson[] };
  inputs: { dataset_inputs?: DatasetInputJson[]; model_inputs?: { model_id: string }[] };
  /** MLflow 3: the logged models the run produced, at which step. */
  outputs?: { model_outputs?: { model_id: string; step: number }[] };
}

export interface LoggedModelJson {
  info: {
    model_id: string;
    experiment_id: string;
    name: string;
    creation_timestamp_ms: number;
    last_updated_timestamp_ms: number;
    artifact_uri: string;
    status: LoggedModelStatus;
    model_type?: string;
    source_run_id?: string;
    status_message?: string;
    tags?: TagJson[];
    /** The model versions registered from this logged model. */
    registrations?: { name: string; version: string }[];
  };
  data: { params?: ParamJson[]; metrics?: MetricJson[] };
}

/** keel's addition to a model version: its input contract (MLflow clients ignore it). */
export interface SignatureColumnJson {
  readonly name: string;
  readonly type: "double" | "long" | "boolean" | "string";
  readonly nullable: boolean;
  readonly range?: { readonly min: number; readonly max: number };
  readonly categories?: readonly string[];
}
export interface SignatureJson {
  readonly inputs: readonly SignatureColumnJson[];
  readonly outputs: readonly SignatureColumnJson[];
}

export interface ModelVersionJson {
  name: string;
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id?: string;
  current_stage: Stage;
  description?: string;
  source: string;
  run_id?: string;
  status: ModelVersionStatus;
  status_message?: string;
  tags?: TagJson[];
  run_link?: string;
  aliases?: string[];
  /** MLflow 3: the logged model this version was registered from, with its params and metrics. */
  model_id?: string;
  model_params?: { name: string; value: string }[];
  model_metrics?: (MetricJson & { model_id?: string })[];
  // keel's additions; MLflow clients ignore fields they do not know.
  checksum?: string;
  signature?: SignatureJson;
  lineage?: Record<string, string>;
}

export interface RegisteredModelAliasJson {
  alias: string;
  version: string;
}

export interface RegisteredModelJson {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id?: string;
  description?: string;
  latest_versions?: ModelVersionJson[];
  tags?: TagJson[];
  aliases?: RegisteredModelAliasJson[];
}

export interface FileInfoJson {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

export interface PageJson {
  next_page_token?: string;
}
