/**
 * Row types of every keel table, for Kysely: the core tables (migrations 0001–0003), serving
 * (0010–0012) and monitoring (0020–0023). Integer columns come back as JS numbers on both backends
 * (the PostgreSQL pool parses int8 as a number); the later tables' bigint columns are typed loosely
 * as their stores have always read them, through Number().
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
  /** MLflow 3: the dataset the value was computed on. */
  dataset_name: string | null;
  dataset_digest: string | null;
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
  /** The MLflow 3 logged model this version was registered from. */
  model_id: string | null;
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
  /** The audit key that sealed the row (HMAC); null when written without a keyring. */
  key_id: string | null;
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

export interface AuthUsersTable {
  id: string;
  username: string;
  password_hash: string;
  role: string;
  created_at: number;
  created_by: string;
}

export interface AuthPermissionsTable {
  resource_type: string;
  resource_id: string;
  username: string;
  permission: string;
}

export interface ArtifactFilesTable {
  path: string;
  sha256: string;
  size: number;
  created_at: number;
}

/** `inference_log` (migrations 0010, 0012, 0050). */
export interface InferenceLogTable {
  request_id: string;
  time: number | string | bigint;
  endpoint: string;
  model_name: string;
  model_version: string;
  route: string;
  entity_id: string | null;
  features: string;
  outputs: string;
  latency_ms: number;
  /** JSON array of `{model, version, outputs, latency_ms}`, one per shadow answer on the row; null without. */
  shadows: string | null;
  /** Decision-record columns (migration 0050); null on rows written before it. */
  seq: number | string | bigint | null;
  prev_hash: string | null;
  hash: string | null;
  /** The audit key that sealed the record (HMAC); null when written without a keyring. */
  key_id: string | null;
  /** Token name of the caller; "anonymous" when auth is off. */
  caller: string | null;
  artifact_sha256: string | null;
  threshold: number | null;
  /** JSON object of the model's inputs as scored, only when they differ from `features`. */
  scored: string | null;
  /** JSON array of `{feature, value, contribution}`, when the decision was explained. */
  reasons: string | null;
}

/** `decision_head` (migration 0050): the tip of the decision-record chain, one row. */
export interface DecisionHeadTable {
  id: number;
  seq: number | string | bigint;
  hash: string;
}

/** `decision_holds` (migration 0050): records under legal hold, which retention keeps. */
export interface DecisionHoldsTable {
  request_id: string;
  reason: string;
  actor: string;
  time: number | string | bigint;
}

/** `decision_pruned` (migration 0050): a run of records retention deleted, and the hash it ended on. */
export interface DecisionPrunedTable {
  from_seq: number | string | bigint;
  to_seq: number | string | bigint;
  last_hash: string;
  time: number | string | bigint;
}

/** `serving_endpoint` (migration 0011). */
export interface ServingEndpointTable {
  name: string;
  model: string;
  document: string;
  created_at: number | string | bigint;
  updated_at: number | string | bigint;
}

/** `serving_canary` (migration 0070): one canary rollout per endpoint, its latest. */
export interface ServingCanaryTable {
  endpoint: string;
  model_name: string;
  model_version: string;
  status: string;
  step: number;
  started_at: number | string | bigint;
  step_started_at: number | string | bigint;
  updated_at: number | string | bigint;
  reason: string | null;
  /** JSON array of the canary's decisions. */
  decisions: string;
}

/** `canary_approval` (migration 0070). */
export interface CanaryApprovalTable {
  model_name: string;
  model_version: string;
  approver: string;
  reason: string;
  approved_at: number | string | bigint;
}

/** `monitor_observations` (migration 0020). Absent optional keys are stored as "". */
export interface MonitorObservationsTable {
  model_name: string;
  model_version: string;
  endpoint: string;
  window_start: number | string | bigint;
  window_end: number | string | bigint;
  kind: string;
  metric: string;
  feature: string;
  segment: string;
  value: number;
  severity: string | null;
  detail: string | null;
}

/** `labels` (migration 0022). */
export interface LabelsTable {
  /** `["request", id]` or `["entity", id, time]` as JSON: one primary key for both kinds of key. */
  label_key: string;
  request_id: string | null;
  entity_id: string | null;
  event_time: number | string | bigint | null;
  label: number;
  received_at: number | string | bigint;
  source: string;
}

/** `alerts` (migration 0023). Absent optional keys are stored as NULL. */
export interface AlertsTable {
  id: string;
  rule_id: string;
  tier: string;
  dedup_key: string;
  model_name: string;
  model_version: string | null;
  endpoint: string | null;
  feature: string | null;
  segment: string | null;
  status: string;
  summary: string;
  value: number;
  threshold: number;
  window_start: number | string | bigint;
  window_end: number | string | bigint;
  fired_at: number | string | bigint;
  last_seen_at: number | string | bigint;
  resolved_at: number | string | bigint | null;
  acknowledged_at: number | string | bigint | null;
  acknowledged_by: string | null;
  detail: string | null;
}

/** Row shapes of migration 0040. */
export interface FeatureRepoVersionsTable {
  version: number;
  digest: string;
  definition: string;
  source_file: string;
  applied_at: number | string | bigint;
  applied_by: string;
}

export interface FeatureMaterializationsTable {
  id: string;
  feature_view: string;
  start_time: number | string | bigint;
  end_time: number | string | bigint;
  rows_written: number | string | bigint;
  finished_at: number | string | bigint;
}

/** `review_items` (migration 0060): the human review queue, one row per queued decision. */
export interface ReviewItemsTable {
  endpoint: string;
  request_id: string;
  queued_at: number | string | bigint;
  model_name: string;
  model_version: string;
  route: string;
  entity_id: string | null;
  score: number;
  /** What the model decided (score against the endpoint's threshold). */
  model_decision: string;
  /** What the caller was told while the review is pending. */
  interim_decision: string;
  positive_decision: string;
  negative_decision: string;
  /** JSON list of the review rules the decision matched. */
  reasons: string;
  /** JSON object of the inputs as received. */
  inputs: string;
  status: string;
  claimed_by: string | null;
  claimed_at: number | string | bigint | null;
  verdict: string | null;
  verdict_reason: string | null;
  decided_by: string | null;
  decided_at: number | string | bigint | null;
}

/** `llm_spans` (migration 0090). */
export interface LlmSpansTable {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  name: string;
  service_name: string | null;
  /** Epoch microseconds. */
  start_time_us: number | string | bigint;
  end_time_us: number | string | bigint;
  status: string;
  operation: string | null;
  request_model: string | null;
  response_model: string | null;
  input_tokens: number | string | bigint | null;
  output_tokens: number | string | bigint | null;
  cost: number | null;
  route: string | null;
  prompt_name: string | null;
  prompt_version: string | null;
  user_id: string | null;
  /** Names of the guardrail checks that triggered, comma-separated between commas (`,pii,`), for LIKE search. */
  guardrails: string | null;
  /** Every attribute of the span, as JSON. */
  attributes: string;
}

/** `llm_trace_feedback` (migration 0090). */
export interface LlmTraceFeedbackTable {
  id: string;
  trace_id: string;
  score: number;
  comment: string | null;
  user_id: string;
  created_at: number | string | bigint;
}

export interface SchedulerLeasesTable {
  job: string;
  holder: string;
  acquired_at: number;
  expires_at: number;
  checkpoint: string | null;
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
  auth_users: AuthUsersTable;
  auth_permissions: AuthPermissionsTable;
  artifact_files: ArtifactFilesTable;
  inference_log: InferenceLogTable;
  decision_head: DecisionHeadTable;
  decision_holds: DecisionHoldsTable;
  decision_pruned: DecisionPrunedTable;
  serving_endpoint: ServingEndpointTable;
  serving_canary: ServingCanaryTable;
  canary_approval: CanaryApprovalTable;
  monitor_observations: MonitorObservationsTable;
  labels: LabelsTable;
  alerts: AlertsTable;
  feature_repo_versions: FeatureRepoVersionsTable;
  feature_materializations: FeatureMaterializationsTable;
  review_items: ReviewItemsTable;
  llm_spans: LlmSpansTable;
  llm_trace_feedback: LlmTraceFeedbackTable;
  scheduler_leases: SchedulerLeasesTable;
}
