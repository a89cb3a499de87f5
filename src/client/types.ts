/** MLflow's REST JSON shapes as keel serves them (snake_case, ids as strings, ms timestamps). */
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
}

export interface ExperimentJson {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage: "active" | "deleted";
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
  status: "RUNNING" | "SCHEDULED" | "FINISHED" | "FAILED" | "KILLED";
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage: "active" | "deleted";
}

export interface DatasetInputJson {
  tags?: TagJson[];
  dataset: { name: string; digest: string; source_type: string; source: string; schema?: string; profile?: string };
}

export interface RunJson {
  info: RunInfoJson;
  data: { metrics?: MetricJson[]; params?: ParamJson[]; tags?: TagJson[] };
  inputs: { dataset_inputs?: DatasetInputJson[] };
}

export interface LoggedModelJson {
  info: {
    model_id: string;
    experiment_id: string;
    name: string;
    creation_timestamp_ms: number;
    last_updated_timestamp_ms: number;
    artifact_uri: string;
    status: "LOGGED_MODEL_PENDING" | "LOGGED_MODEL_READY" | "LOGGED_MODEL_UPLOAD_FAILED";
    model_type?: string;
    source_run_id?: string;
    status_message?: string;
    tags?: TagJson[];
  };
  data: { params?: ParamJson[]; metrics?: MetricJson[] };
}

export type StageName = "None" | "Staging" | "Production" | "Archived";

export interface ModelVersionJson {
  name: string;
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id?: string;
  current_stage: StageName;
  description?: string;
  source: string;
  run_id?: string;
  status: "PENDING_REGISTRATION" | "FAILED_REGISTRATION" | "READY";
  status_message?: string;
  tags?: TagJson[];
  run_link?: string;
  aliases?: string[];
  checksum?: string;
  lineage?: Record<string, string>;
}

export interface RegisteredModelJson {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id?: string;
  description?: string;
  latest_versions?: ModelVersionJson[];
  tags?: TagJson[];
  aliases?: { alias: string; version: string }[];
}

export interface FileInfoJson {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

export interface WebhookJson {
  id: string;
  url: string;
  events: string[];
  model_name?: string;
  creation_timestamp: number;
}

export interface PageJson {
  next_page_token?: string;
}

/** An alias move by promotion or rollback (`/api/keel/models/{name}/promote|rollback`). */
export interface AliasMoveJson {
  name: string;
  alias: string;
  /** null when the alias was not set before. */
  from_version: string | null;
  to_version: string;
  /** The approver (promotion) or the caller (rollback). */
  actor: string;
  reason: string;
  model_version: ModelVersionJson;
}

/** One delayed label for `POST /api/keel/labels`: by request id, or by entity id and event time. */
export type LabelItemJson =
  | { request_id: string; label: number | boolean | string }
  | { entity_id: string; time: number | string; label: number | boolean | string };

/** What `POST /api/keel/labels` answers. */
export interface LabelIngestJson {
  received: number;
  inserted: number;
  updated: number;
  unchanged: number;
  /** Labels with a logged prediction to join to. */
  matched: number;
  unmatched: number;
}

export type { GroupPerformanceJson, PerformanceJson } from "../server/labels-json.js";

/** One monitoring observation as `/api/keel/monitoring/*` answer it (times as ISO-8601). */
export interface ObservationJson {
  model_name: string;
  model_version: string | null;
  endpoint: string | null;
  window_start: string;
  window_end: string;
  kind: "drift" | "quality" | "prediction_drift" | "performance" | "fairness" | "volume";
  metric: string;
  feature: string | null;
  segment: string | null;
  value: number;
  severity: string | null;
  detail: Record<string, unknown>;
}

/** Query of `GET /api/keel/monitoring/observations`; times as epoch ms or ISO-8601. */
export interface ObservationQueryJson {
  model: string;
  kind?: ObservationJson["kind"];
  metric?: string;
  feature?: string;
  segment?: string;
  version?: string;
  /** Inclusive lower bound on the window start. */
  from?: number | string;
  /** Exclusive upper bound on the window start. */
  to?: number | string;
  limit?: number;
}

/** `GET /api/keel/monitoring/summary`: the latest window's observations of one model. */
export interface MonitoringSummaryJson {
  model: string;
  /** null when the model has no observations. */
  window_start: string | null;
  window_end: string | null;
  /** Per version and feature: each metric's value under its name, its severity under `<metric>_severity`. */
  features: ({ feature: string; model_version: string | null } & Record<string, unknown>)[];
  /** Observations about no feature (volume, prediction drift, decision rates). */
  model_level: {
    kind: ObservationJson["kind"];
    metric: string;
    segment: string | null;
    model_version: string | null;
    value: number;
    severity: string | null;
  }[];
}

/** One column of a monitor window's drift report (the `keel drift --json` column fields). */
export interface ColumnDriftJson {
  name: string;
  kind: "numeric" | "categorical";
  method: string;
  statistic: number;
  p_value: number | null;
  psi: number | null;
  drift: boolean;
  severity: "stable" | "minor" | "moderate" | "major";
  reference_null_rate: number;
  current_null_rate: number;
  reference_count: number;
  current_count: number;
}

/** An alert as `/api/keel/alerts` and the generic webhook sink carry it. */
export interface AlertJson {
  id: string;
  rule_id: string;
  tier: "notify" | "retrain" | "page" | "review" | "business";
  status: "open" | "acknowledged" | "resolved";
  dedup_key: string;
  model_name: string;
  model_version: string | null;
  endpoint: string | null;
  feature: string | null;
  segment: string | null;
  summary: string;
  value: number;
  threshold: number;
  window_start: string;
  window_end: string;
  fired_at: string;
  last_seen_at: string;
  resolved_at: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  detail: Record<string, unknown>;
}

/** `POST /api/keel/monitoring/run`: the window's results and the alert evaluation that followed. */
export interface MonitorRunJson {
  model: string;
  window_start: string;
  window_end: string;
  rows: number;
  previous_rows: number | null;
  versions: {
    version: string;
    rows: number;
    drift: ColumnDriftJson[];
    skipped: { name: string; reason: string }[];
  }[];
  observations: ObservationJson[];
  alerts_fired: AlertJson[];
  alerts_resolved: AlertJson[];
}

/** Query of `GET /api/keel/alerts`; times (bounds on `fired_at`) as epoch ms or ISO-8601. */
export interface AlertQueryJson {
  model?: string;
  status?: AlertJson["status"];
  tier?: AlertJson["tier"];
  from?: number | string;
  to?: number | string;
  limit?: number;
}
