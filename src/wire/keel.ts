import type { AlertStatus, AlertTier, ObservationKind, ReviewStatus, Severity } from "./enums.js";
import type { ModelVersionJson } from "./mlflow.js";

/** The JSON of keel's own routes (`/api/keel/...`) and of its alert webhooks. */

export interface WebhookJson {
  id: string;
  url: string;
  events: string[];
  model_name?: string;
  creation_timestamp: number;
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

export interface ReliabilityBinJson {
  lower: number;
  upper: number;
  count: number;
  /** null for an empty bin. */
  mean_predicted: number | null;
  fraction_positive: number | null;
}

/** Performance of all predictions, or of one segment, over the window. */
export interface GroupPerformanceJson {
  segment?: string;
  /** Set on the per-version groups (`versions`). */
  model_version?: string;
  routes?: string[];
  predictions: number;
  labelled: number;
  positives: number;
  auc: number | null;
  precision: number | null;
  recall: number | null;
  fnr: number | null;
  ece: number | null;
  decision_rate: number | null;
  reliability: ReliabilityBinJson[];
}

/** The performance report as `GET /api/keel/monitoring/performance` and `keel labels report --json` answer it. */
export interface PerformanceJson {
  model: string;
  window: string;
  window_start: number;
  window_end: number;
  threshold: number;
  overall: GroupPerformanceJson;
  decision_rate: {
    current: number | null;
    previous: number | null;
    relative_change: number | null;
    difference: number | null;
  };
  segments: GroupPerformanceJson[];
  /** The same metrics per model version that served in the window (champion, challenger, canary apart). */
  versions: GroupPerformanceJson[];
  fairness: {
    column: string;
    demographic_parity_gap: number | null;
    equal_opportunity_gap: number | null;
  } | null;
}

/** One monitoring observation as `/api/keel/monitoring/*` answer it (times as ISO-8601). */
export interface ObservationJson {
  model_name: string;
  model_version: string | null;
  endpoint: string | null;
  window_start: string;
  window_end: string;
  kind: ObservationKind;
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
  kind?: ObservationKind;
  metric?: string;
  feature?: string;
  segment?: string;
  version?: string;
  /** Inclusive lower bound on the window start. */
  from?: number | string;
  /** Exclusive upper bound on the window start. */
  to?: number | string;
  limit?: number;
  /** `asc` (default): oldest window first; `desc`: newest first. */
  order?: "asc" | "desc";
}

/** An observation about no feature (volume, prediction drift, decision rates) in a summary. */
export interface ModelLevelObservationJson {
  kind: ObservationKind;
  metric: string;
  segment: string | null;
  model_version: string | null;
  value: number;
  severity: string | null;
}

/** Per version and feature: each metric's value under its name, its severity under `<metric>_severity`. */
export type FeatureSummaryJson = { feature: string; model_version: string | null } & Record<string, unknown>;

/** `GET /api/keel/monitoring/summary`: the latest window's observations of one model. */
export interface MonitoringSummaryJson {
  model: string;
  /** null when the model has no observations. */
  window_start: string | null;
  window_end: string | null;
  features: FeatureSummaryJson[];
  model_level: ModelLevelObservationJson[];
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
  severity: Severity;
  reference_null_rate: number;
  current_null_rate: number;
  reference_count: number;
  current_count: number;
}

/** An alert as `/api/keel/alerts` and the generic webhook sink carry it. */
export interface AlertJson {
  id: string;
  rule_id: string;
  tier: AlertTier;
  status: AlertStatus;
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
    drift: readonly ColumnDriftJson[];
    skipped: readonly { name: string; reason: string }[];
  }[];
  observations: ObservationJson[];
  alerts_fired: AlertJson[];
  alerts_resolved: AlertJson[];
}

/** Query of `GET /api/keel/alerts`; times (bounds on `fired_at`) as epoch ms or ISO-8601. */
export interface AlertQueryJson {
  model?: string;
  status?: AlertStatus;
  tier?: AlertTier;
  from?: number | string;
  to?: number | string;
  limit?: number;
}

/** One input's share of a decision: its value as received and its SHAP contribution to the margin. */
export interface ReasonCodeJson {
  feature: string;
  value: string | number | boolean | null;
  contribution: number;
}

export type FeatureValuesJson = Record<string, string | number | boolean | null>;

/** A decision record (`GET /api/keel/decisions/{request_id}`, docs/decisions.md). */
export interface DecisionJson {
  /** Place in the hash chain. */
  seq: number;
  request_id: string;
  /** Epoch milliseconds the request was received. */
  time: number;
  /** Token name of the caller; "anonymous" with auth off. */
  caller: string | null;
  endpoint: string;
  model_name: string;
  model_version: string;
  artifact_sha256: string | null;
  threshold: number | null;
  /** The inputs as received. */
  inputs: FeatureValuesJson;
  /** The model's inputs as scored. */
  scored_inputs: FeatureValuesJson;
  score: number | null;
  decision: string | null;
  reasons: ReasonCodeJson[] | null;
  /** champion, challenger, canary, fallback or direct. */
  route: string;
  entity_id: string | null;
  latency_ms: number;
  /** Why the fallback answered (model_error, deadline), when it did. */
  fallback: string | null;
  prev_hash: string;
  hash: string;
  /** The decision's human review, joined from the review queue (outside the chain); null when never queued. */
  review: DecisionReviewJson | null;
}

/** A decision's review, named as the review queue's items (`ReviewItemJson`) name them; times ISO-8601. */
export interface DecisionReviewJson {
  status: ReviewStatus;
  interim_decision: string;
  claimed_by: string | null;
  verdict: string | null;
  verdict_reason: string | null;
  decided_by: string | null;
  decided_at: string | null;
  overridden: boolean | null;
}

/** `GET /api/keel/decisions/{request_id}`: the request's records (several for a multi-row request). */
export interface DecisionsJson {
  decisions: DecisionJson[];
}

/** Filters of `GET /api/keel/decisions`; times are epoch milliseconds or ISO 8601. */
export interface DecisionQueryJson {
  endpoint?: string;
  model?: string;
  model_version?: string;
  decision?: string;
  /** true: only decisions a reviewer decided; false: the rest (never queued, or pending or claimed). */
  reviewed?: boolean;
  from?: number | string;
  to?: number | string;
  /** Default 100, at most 10,000. */
  max_results?: number;
  page_token?: string;
}

/** `GET /api/keel/decisions`: matching decisions in chain order, and the next page's token. */
export interface DecisionPageJson {
  decisions: DecisionJson[];
  next_page_token?: string;
}

/** `GET /api/keel/decisions/chain/verify`: the decision records' hash chain recomputed on the server. */
export interface DecisionVerificationJson {
  ok: boolean;
  /** Records verified (before the break, when broken). */
  records: number;
  /** Records deleted by retention and stepped over; present when intact. */
  pruned?: number;
  /** Sequence number of the first record changed, deleted or not linking. */
  broken_at?: number;
  /** Request id of that record (or of the next, when it was deleted). */
  request_id?: string | null;
  reason?: string;
}

/** `keel decisions replay --json`: one recorded decision re-scored. */
export interface DecisionReplayJson {
  request_id: string;
  recorded_score: number | null;
  replayed_score: number | null;
  match: boolean;
  reason?: string;
}

/** `GET /api/keel/models/{name}/rollout-report`: one version held against the champion. */
export interface RolloutCandidateJson {
  version: string;
  routes: string[];
  requests: number;
  paired: number;
  agreement: number | null;
  ks: number | null;
  ks_p_value: number | null;
  mean_abs_score_difference: number | null;
  p99_abs_score_difference: number | null;
  latency: {
    candidate_mean_ms: number;
    champion_mean_ms: number;
    mean_difference_ms: number;
    candidate_p99_ms: number;
    champion_p99_ms: number;
    p99_difference_ms: number;
  } | null;
  labelled: number;
  comparison: {
    labelled: number;
    positives: number;
    auc_candidate: number;
    auc_champion: number;
    auc_difference: number;
    ci_low: number;
    ci_high: number;
    p_value: number;
    method: "delong";
    mcnemar_p_value: number;
    verdict: "better" | "worse" | "inconclusive";
  } | null;
}

export interface RolloutReportJson {
  model: string;
  champion_version: string;
  from: string;
  to: string;
  threshold: number;
  alpha: number;
  min_effect: number;
  champion_requests: number;
  candidates: RolloutCandidateJson[];
}

/** `POST /api/keel/models/{name}/canary-approval`. */
export interface CanaryApprovalJson {
  model: string;
  version: string;
  approver: string;
  reason: string;
  approved_at: string;
}

/** A decision in the human review queue (`/api/keel/review`); times are ISO-8601. */
export interface ReviewItemJson {
  endpoint: string;
  request_id: string;
  queued_at: string;
  model_name: string;
  model_version: string;
  route: string;
  entity_id: string | null;
  score: number;
  model_decision: string;
  interim_decision: string;
  /** The verdicts a reviewer may give: the endpoint's positive and negative decisions. */
  decisions: [string, string];
  reasons: string[];
  inputs: Record<string, string | number | boolean | null>;
  status: ReviewStatus;
  claimed_by: string | null;
  claimed_at: string | null;
  verdict: string | null;
  verdict_reason: string | null;
  decided_by: string | null;
  decided_at: string | null;
  /** Whether the verdict differs from the model's decision; null until decided. */
  overridden: boolean | null;
}

/** Query of `GET /api/keel/review`. */
export interface ReviewQueryJson {
  status?: ReviewStatus;
  endpoint?: string;
  reviewer?: string;
  limit?: number;
}

/** One entry of a model card's approvals and promotion history (from the audit log). */
export interface ModelCardHistoryJson {
  readonly time: number;
  readonly actor: string;
  /** e.g. `model_version.create`, `registered_model.promote`, `model_version.transition_stage`. */
  readonly action: string;
  readonly detail: string;
  readonly reason?: string;
}

export interface ModelCardSegmentJson {
  readonly value: string;
  readonly rows: number;
  /** Share of the segment's validation rows with a positive decision. */
  readonly rate: number;
  readonly compared: boolean;
}

export interface ModelCardGateJson {
  readonly gate: string;
  readonly passed: boolean;
  readonly skipped: boolean;
  readonly observed: number | null;
  readonly threshold: number;
  readonly comparator: ">" | "<";
  readonly message: string;
  readonly segments?: readonly ModelCardSegmentJson[];
}

/**
 * A model card (`/api/keel/models/{name}/versions/{version}/card`, docs/model-cards.md): times in
 * epoch ms; `null` where keel has no record.
 */
export interface ModelCardJson {
  readonly format: "keel.model_card.v1";
  readonly generatedAt: number;
  readonly model: {
    readonly name: string;
    readonly version: string;
    readonly description: string;
    readonly createdAt: number;
    readonly createdBy: string;
    readonly source: string;
    readonly artifactSha256: string | null;
    readonly runId: string | null;
    readonly aliases: readonly string[];
    readonly stage: string;
    readonly algorithm: string | null;
    readonly hyperparameters: Readonly<Record<string, string>>;
  };
  readonly intendedUse: string | null;
  readonly limitations: string | null;
  readonly trainingData: {
    readonly path: string | null;
    readonly sha256: string | null;
    readonly configSha256: string | null;
    readonly codeVersion: string | null;
    readonly target: string | null;
    readonly rows: number | null;
    /** The pipeline's split, as JSON text. */
    readonly split: string | null;
    readonly trainRows: number | null;
    readonly validRows: number | null;
    readonly splitSha256: string | null;
    /** Time split only: validation rows are from this time on (epoch ms). */
    readonly timeCutoff: number | null;
    readonly expectations: number | null;
    readonly failedExpectations: number | null;
  };
  readonly features: readonly {
    readonly name: string;
    readonly type: string;
    readonly nullable: boolean;
    readonly range?: { readonly min: number; readonly max: number };
    readonly categories?: readonly string[];
  }[];
  readonly metrics: Readonly<Record<string, number>>;
  readonly threshold: number | null;
  readonly gates: readonly ModelCardGateJson[];
  readonly fairness: readonly {
    readonly gate: string;
    readonly passed: boolean;
    readonly gap: number | null;
    readonly maxGap: number;
    readonly segments: readonly ModelCardSegmentJson[];
  }[];
  readonly behaviourTests: readonly {
    readonly test: string;
    readonly feature: string;
    readonly passed: boolean;
    readonly checked: number;
    readonly violations: number;
    readonly message: string;
  }[];
  readonly calibration: { readonly ece: number | null; readonly brier: number | null; readonly logLoss: number | null };
  /** Mean |SHAP| per feature over rows of the training data, or why it could not be computed. */
  readonly importance:
    | {
        readonly rows: number;
        readonly dataSha256: string;
        readonly bias: number;
        readonly features: readonly { readonly feature: string; readonly meanAbsShap: number }[];
      }
    | { readonly unavailable: string };
  readonly history: readonly ModelCardHistoryJson[];
}

/** `GET /api/keel/monitoring/histogram`: one feature in a window next to its reference, counts per slot. */
export interface FeatureHistogramJson {
  model: string;
  version: string;
  feature: string;
  kind: "numeric" | "categorical";
  labels: string[];
  reference: number[];
  current: number[];
  current_rows: number;
  current_nulls: number;
  window_start: string;
  window_end: string;
}

/** `GET /api/keel/monitoring/score-histograms`: a version's score counts per window next to its training scores'. */
export interface ScoreHistogramsJson {
  model: string;
  version: string;
  /** The output read as the score. */
  output: string;
  /** One label per slot: the reference's display bins with under- and overflow slots. */
  labels: string[];
  reference: number[];
  windows: {
    window_start: string;
    window_end: string;
    /** Predictions in the window; `missing` of them had no numeric score and are in no slot. */
    rows: number;
    missing: number;
    current: number[];
  }[];
}
