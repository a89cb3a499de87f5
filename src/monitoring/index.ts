// The drift report is computed in stats/ (a command need not load the stores to run it); monitoring keeps offering it.
export type { ColumnDrift, ColumnHistogram, DriftMode, DriftOptions, DriftReport } from "../stats/index.js";
export { computeDrift, driftProfile } from "../stats/index.js";
export type { HtmlOptions } from "./drift-html.js";
export { renderDriftHtml } from "./drift-html.js";
export type { BinCounts, BinShares, HistogramChartOption, HistogramChartStyle } from "./histogram-chart.js";
export {
  capCategories,
  histogramChartDescription,
  histogramChartOption,
  histogramShares,
  MAX_BARS,
} from "./histogram-chart.js";
// The reference profile is built in stats/ and stored by registry/; monitoring keeps offering it.
export type {
  ReferenceProfileJson,
  CategoricalProfile,
  FeatureProfile,
  NumericProfile,
  ProfileOptions,
  ReferenceProfile,
} from "../stats/index.js";
export {
  profileFromJson,
  profileToJson,
  DEFAULT_RESERVOIR_SIZE,
  DISPLAY_BINS,
  LOW_CARDINALITY_CAP,
  PROFILE_VERSION,
  buildReferenceProfile,
  buildTrainingProfile,
  mergeProfiles,
} from "../stats/index.js";
export type { Severity } from "../stats/index.js";
export { columnSeverity, pValueSeverity, psiSeverity, worseSeverity } from "../stats/index.js";
export { REFERENCE_PROFILE_TAG } from "../registry/index.js";
export type { ReferenceProfileDeps } from "../registry/index.js";
export { attachReferenceProfile, loadReferenceProfile } from "./reference-store.js";
export { DEFAULT_MIN_DRIFT_ROWS, DEFAULT_QUALITY_THRESHOLDS, readWindow, runMonitorWindow } from "./monitor-job.js";
export { MAX_HISTOGRAM_WINDOWS, binLabels, featureHistogram, scoreHistograms } from "./feature-histogram.js";
export type {
  FeatureHistogram,
  FeatureHistogramQuery,
  ScoreHistograms,
  ScoreHistogramsQuery,
  WindowCounts,
} from "./feature-histogram.js";
export type {
  MonitorJobDeps,
  MonitorWindowInput,
  MonitorWindowResult,
  QualityThresholds,
  VersionWindow,
} from "./monitor-job.js";
export type { AlertFinding, AlertPlan, AlertRule, AlertState, AlertTarget, AlertTier } from "./alerts.js";
export {
  ALERT_TIERS,
  DEFAULT_ALERT_RULES,
  DEFAULT_COOLDOWN_MINUTES,
  DEFAULT_MAX_AGE_HOURS,
  evaluateAlertRules,
  parseAlertRules,
  planAlerts,
} from "./alerts.js";
export type { AlertAction, AlertEvent, DeliveryDeps, DeliveryResult, SinkConfig } from "./alert-sinks.js";
export {
  PAGERDUTY_EVENTS_URL,
  PAGERDUTY_SEVERITY,
  alertJson,
  deliverAlert,
  pagerDutyPayload,
  parseSinks,
  slackPayload,
  webhookPayload,
} from "./alert-sinks.js";
export type { AlertEngineOptions, AlertListener, EvaluationResult } from "./alert-engine.js";
export { AlertEngine } from "./alert-engine.js";
export type { LabelIngestResult, LabelledPredictions, LabelSources } from "./labels.js";
export { MAX_PREDICTIONS, eventTime, ingestLabels, joinLabels, labelValue, loadLabelledPredictions } from "./labels.js";
export type {
  DecisionRateShift,
  FairnessGaps,
  GroupPerformance,
  PerformanceOptions,
  PerformanceReport,
} from "./performance.js";
export {
  CALIBRATION_BINS,
  DEFAULT_DECISION_THRESHOLD,
  MISSING_SEGMENT,
  PERFORMANCE_WINDOWS,
  championThreshold,
  computePerformance,
  evaluatePerformance,
  performanceObservations,
  recordPerformance,
  segmentCodes,
  windowText,
} from "./performance.js";
export type {
  Cadence,
  LlmWindowCheck,
  MonitoredModel,
  MonitoringConfig,
  SchedulerOptions,
  WindowRun,
} from "./scheduler.js";
export {
  DEFAULT_CHAMPION_WINDOWS,
  DEFAULT_PERFORMANCE_WINDOWS,
  MonitorScheduler,
  cadenceMs,
  lastClosedWindow,
  parseMonitoringConfig,
} from "./scheduler.js";
export type { ReviewSla, ReviewSlaOptions, ReviewSlaState } from "./review-sla.js";
export { REVIEW_SLA_ALERT, ReviewSlaMonitor, parseReviewSla } from "./review-sla.js";
export { latestPerSeries, monitoringGaugeName, registerMonitoringMetrics } from "./prometheus.js";
export type {
  CandidateReport,
  ChallengerGate,
  GateDecision,
  LatencyComparison,
  ModelRolloutSources,
  PairedComparison,
  RolloutReport,
  RolloutReportOptions,
} from "./rollout-report.js";
export {
  DEFAULT_ROLLOUT_WINDOW_MS,
  challengerBeatsChampion,
  modelRolloutReport,
  rolloutReport,
} from "./rollout-report.js";
export { recordSkew, type SkewCheck, type SkewFinding, type SkewMonitor } from "./skew-window.js";
