/**
 * Row types of keel's core tables (migrations 0001–0003), for Kysely. Integer columns come back
 * as JS numbers on both backends (the PostgreSQL pool parses int8 as a number).
 */
export interface KeelSequencesTable {
  name: string;
  value: number;
}

export interface ExperimentsTable {
  experiment_id: number;
  name: string;
  artifact_location: string;
  lifecycle_stage: string;
  creation_time: number;
  last_update_time: number;
}

export interface KeyValueTable {
  key: string;
  value: string;
}

export interface ExperimentTagsTable extends KeyValueTable {
  experiment_id: number;
}

export interface RunsTable {
  run_uuid: string;
  name: string;
  experiment_id: number;
  user_id: string;
  status: string;
  start_time: number;
  end_time: number | null;
  artifact_uri: string;
  lifecycle_stage: string;
  deleted_time: number | null;
}

export interface RunKeyValueTable extends KeyValueTable {
  run_uuid: string;
}

export interface MetricsTable {
  run_uuid: string;
  key: string;
  value: number;
  is_nan: number;
  timestamp: number;
  step: number;
  model_id: string | null;
}

export interface LatestMetricsTable {
  run_uuid: string;
  key: string;
  value: number;
  is_nan: number;
  timestamp: number;
  step: number;
}

export interface DatasetsTable {
  dataset_uuid: string;
  experiment_id: number;
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema: string | null;
  profile: string | null;
}

export interface InputsTable {
  input_uuid: string;
  dataset_uuid: string;
  run_uuid: string;
}

export interface InputTagsTable extends KeyValueTable {
  input_uuid: string;
}

export interface LoggedModelsTable {
  model_id: string;
  experiment_id: number;
  name: string;
  artifact_location: string;
  creation_timestamp_ms: number;
  last_updated_timestamp_ms: number;
  model_type: string;
  source_run_id: string | null;
  status: string;
  status_message: string;
  lifecycle_stage: string;
}

export interface LoggedModelKeyValueTable extends KeyValueTable {
  model_id: string;
}

export interface RegisteredModelsTable {
  name: string;
  creation_time: number;
  last_updated_time: number;
  description: string;
  user_id: string;
}

export interface RegisteredModelTagsTable extends KeyValueTable {
  name: string;
}

export interface ModelVersionsTable {
  name: string;
  version: number;
  creation_time: number;
  last_updated_time: number;
  description: string;
  user_id: string;
  current_stage: string;
  source: string;
  run_id: string;
  run_link: string;
  status: string;
  status_message: string;
  checksum: string | null;
  signature: string | null;
  lineage: string | null;
}

export interface ModelVersionTagsTable extends KeyValueTable {
  name: string;
  version: number;
}

export interface RegisteredModelAliasesTable {
  name: string;
  alias: string;
  version: number;
}

export interface AliasHistoryTable {
  seq: number;
  name: string;
  alias: string;
  version: number;
  set_at: number;
  user_id: string;
}

export interface WebhooksTable {
  id: string;
  url: string;
  events: string;
  model_name: string | null;
  secret: string | null;
  creation_timestamp: number;
}

export interface AuditLogTable {
  seq: number;
  time: number;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  before: string | null;
  after: string | null;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

export interface AuthTokensTable {
  id: string;
  name: string;
  token_hash: string;
  role: string;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
}

export interface ArtifactFilesTable {
  path: string;
  sha256: string;
  size: number;
  created_at: number;
}

export interface KeelDatabase {
  keel_sequences: KeelSequencesTable;
  experiments: ExperimentsTable;
  experiment_tags: ExperimentTagsTable;
  runs: RunsTable;
  params: RunKeyValueTable;
  tags: RunKeyValueTable;
  metrics: MetricsTable;
  latest_metrics: LatestMetricsTable;
  datasets: DatasetsTable;
  inputs: InputsTable;
  input_tags: InputTagsTable;
  logged_models: LoggedModelsTable;
  logged_model_tags: LoggedModelKeyValueTable;
  logged_model_params: LoggedModelKeyValueTable;
  registered_models: RegisteredModelsTable;
  registered_model_tags: RegisteredModelTagsTable;
  model_versions: ModelVersionsTable;
  model_version_tags: ModelVersionTagsTable;
  registered_model_aliases: RegisteredModelAliasesTable;
  alias_history: AliasHistoryTable;
  webhooks: WebhooksTable;
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
  auth_tokens: AuthTokensTable;
  artifact_files: ArtifactFilesTable;
}
