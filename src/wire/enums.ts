/**
 * The closed value lists of the wire: each declared once, as data for the parsers that check
 * input against it and as the type its fields carry.
 */
export const LIFECYCLE_STAGES = ["active", "deleted"] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

export const RUN_STATUSES = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const VIEW_TYPES = ["ACTIVE_ONLY", "DELETED_ONLY", "ALL"] as const;
export type ViewType = (typeof VIEW_TYPES)[number];

export const LOGGED_MODEL_STATUSES = [
  "LOGGED_MODEL_PENDING",
  "LOGGED_MODEL_READY",
  "LOGGED_MODEL_UPLOAD_FAILED",
] as const;
export type LoggedModelStatus = (typeof LOGGED_MODEL_STATUSES)[number];

/** MLflow's legacy model-version stages. */
export const STAGES = ["None", "Staging", "Production", "Archived"] as const;
export type Stage = (typeof STAGES)[number];

export const MODEL_VERSION_STATUSES = ["PENDING_REGISTRATION", "FAILED_REGISTRATION", "READY"] as const;
export type ModelVersionStatus = (typeof MODEL_VERSION_STATUSES)[number];

export const OBSERVATION_KINDS = [
  "drift",
  "quality",
  "prediction_drift",
  "performance",
  "fairness",
  "volume",
  "skew",
  "llm",
] as const;
export type ObservationKind = (typeof OBSERVATION_KINDS)[number];

export const SEVERITIES = ["stable", "minor", "moderate", "major"] as const;
export type Severity = (typeof SEVERITIES)[number];

export const ALERT_TIERS = ["notify", "retrain", "page", "review", "business"] as const;
export type AlertTier = (typeof ALERT_TIERS)[number];

export const ALERT_STATUSES = ["open", "acknowledged", "resolved"] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/**
 * The decision vocabulary, one from the pipeline to serving to the alert rules: a score at or above
 * the decision threshold is a positive decision (predicted default: the application is declined),
 * labelled `reject`; any other score is `approve` — `[positive, negative]`. Serving writes these
 * labels under the output `decision` in answers and the inference log (an endpoint may rename them),
 * monitoring's `decision_rate` observations are segmented `decision=<label>`, and the default
 * reject-rate rule watches `decision=reject`.
 */
export const DECISION_LABELS = ["reject", "approve"] as const;

/** A review item's state: queued, held by a reviewer, or decided (the verdict recorded). */
export const REVIEW_STATUSES = ["pending", "claimed", "decided"] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];
