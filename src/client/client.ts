import type {
  CanaryApprovalJson,
  RolloutReportJson,
  AlertJson,
  AlertQueryJson,
  AliasMoveJson,
  AuditQueryJson,
  AuditRecordJson,
  AuditVerificationJson,
  DecisionJson,
  DecisionPageJson,
  DecisionQueryJson,
  DecisionVerificationJson,
  ExperimentJson,
  FeatureHistogramJson,
  FileInfoJson,
  LabelIngestJson,
  LabelItemJson,
  LoggedModelJson,
  MetricJson,
  ModelCardJson,
  ModelVersionJson,
  MonitorRunJson,
  MonitoringSummaryJson,
  ObservationJson,
  ObservationQueryJson,
  PageJson,
  ParamJson,
  PerformanceJson,
  RegisteredModelJson,
  ReviewItemJson,
  ScoreHistogramsJson,
  ReviewQueryJson,
  RunInfoJson,
  RunJson,
  Stage,
  TagJson,
  WebhookJson,
  WhoAmIJson,
  ViewType,
} from "../wire/index.js";
import type {
  GetOnlineFeaturesRequestJson,
  MaterializedJson,
  OnlineFeaturesJson,
  PushFeaturesRequestJson,
} from "./features-json.js";
import { KeelHttp, type Method, type Params } from "./http.js";

export interface SearchRunsRequest {
  experiment_ids: string[];
  filter?: string | undefined;
  run_view_type?: ViewType | undefined;
  max_results?: number | undefined;
  order_by?: string[] | undefined;
  page_token?: string | undefined;
}

export interface SearchRequest {
  filter?: string | undefined;
  max_results?: number | undefined;
  order_by?: string[] | undefined;
  page_token?: string | undefined;
}

function artifactPath(path: string): string {
  return `/api/2.0/mlflow-artifacts/artifacts/${path.split("/").map(encodeURIComponent).join("/")}`;
}

function modelCardPath(name: string, version: string): string {
  return `/api/keel/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}/card`;
}

function reviewPath(endpoint: string, requestId: string): string {
  return `/api/keel/review/${encodeURIComponent(endpoint)}/${encodeURIComponent(requestId)}`;
}

/**
 * Typed client of keel's HTTP API: MLflow's REST API, the mlflow-artifacts proxy and keel's own
 * routes. Server errors come back as the KeelError subclass of the server's code (NotFoundError …),
 * with its message and details.
 */
export class KeelClient extends KeelHttp {
  private mlflow<T>(method: Method, path: string, params: Params = {}): Promise<T> {
    return this.request<T>(method, `/api/2.0/mlflow${path}`, params);
  }

  // Experiments
  async createExperiment(
    name: string,
    options: { artifact_location?: string; tags?: TagJson[] } = {},
  ): Promise<string> {
    return (await this.mlflow<{ experiment_id: string }>("POST", "/experiments/create", { name, ...options }))
      .experiment_id;
  }
  async getExperiment(experimentId: string): Promise<ExperimentJson> {
    return (
      await this.mlflow<{ experiment: ExperimentJson }>("GET", "/experiments/get", { experiment_id: experimentId })
    ).experiment;
  }
  async getExperimentByName(name: string): Promise<ExperimentJson> {
    return (
      await this.mlflow<{ experiment: ExperimentJson }>("GET", "/experiments/get-by-name", { experiment_name: name })
    ).experiment;
  }
  searchExperiments(
    request: SearchRequest & { view_type?: ViewType | undefined } = {},
  ): Promise<{ experiments?: ExperimentJson[] } & PageJson> {
    return this.mlflow("POST", "/experiments/search", request);
  }
  async updateExperiment(experimentId: string, newName: string): Promise<void> {
    await this.mlflow("POST", "/experiments/update", { experiment_id: experimentId, new_name: newName });
  }
  async deleteExperiment(experimentId: string): Promise<void> {
    await this.mlflow("POST", "/experiments/delete", { experiment_id: experimentId });
  }
  async restoreExperiment(experimentId: string): Promise<void> {
    await this.mlflow("POST", "/experiments/restore", { experiment_id: experimentId });
  }
  async setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    await this.mlflow("POST", "/experiments/set-experiment-tag", { experiment_id: experimentId, key, value });
  }

  // Runs
  async createRun(request: {
    experiment_id: string;
    run_name?: string;
    user_id?: string;
    start_time?: number;
    tags?: TagJson[];
  }): Promise<RunJson> {
    return (await this.mlflow<{ run: RunJson }>("POST", "/runs/create", request)).run;
  }
  async getRun(runId: string): Promise<RunJson> {
    return (await this.mlflow<{ run: RunJson }>("GET", "/runs/get", { run_id: runId })).run;
  }
  async updateRun(request: {
    run_id: string;
    status?: RunInfoJson["status"];
    end_time?: number;
    run_name?: string;
  }): Promise<RunInfoJson> {
    return (await this.mlflow<{ run_info: RunInfoJson }>("POST", "/runs/update", request)).run_info;
  }
  async deleteRun(runId: string): Promise<void> {
    await this.mlflow("POST", "/runs/delete", { run_id: runId });
  }
  async restoreRun(runId: string): Promise<void> {
    await this.mlflow("POST", "/runs/restore", { run_id: runId });
  }
  searchRuns(request: SearchRunsRequest): Promise<{ runs?: RunJson[] } & PageJson> {
    return this.mlflow("POST", "/runs/search", request);
  }
  async logMetric(runId: string, metric: MetricJson): Promise<void> {
    await this.mlflow("POST", "/runs/log-metric", { run_id: runId, ...metric });
  }
  async logParam(runId: string, key: string, value: string): Promise<void> {
    await this.mlflow("POST", "/runs/log-parameter", { run_id: runId, key, value });
  }
  async setTag(runId: string, key: string, value: string): Promise<void> {
    await this.mlflow("POST", "/runs/set-tag", { run_id: runId, key, value });
  }
  async deleteTag(runId: string, key: string): Promise<void> {
    await this.mlflow("POST", "/runs/delete-tag", { run_id: runId, key });
  }
  async logBatch(
    runId: string,
    batch: { metrics?: MetricJson[]; params?: ParamJson[]; tags?: TagJson[] },
  ): Promise<void> {
    await this.mlflow("POST", "/runs/log-batch", { run_id: runId, ...batch });
  }
  getMetricHistory(
    runId: string,
    metricKey: string,
    page: { max_results?: number; page_token?: string } = {},
  ): Promise<{ metrics?: MetricJson[] } & PageJson> {
    return this.mlflow("GET", "/metrics/get-history", { run_id: runId, metric_key: metricKey, ...page });
  }

  // Logged models (MLflow 3)
  async createLoggedModel(request: {
    experiment_id: string;
    name?: string;
    model_type?: string;
    source_run_id?: string;
    params?: ParamJson[];
    tags?: TagJson[];
  }): Promise<LoggedModelJson> {
    return (await this.mlflow<{ model: LoggedModelJson }>("POST", "/logged-models", request)).model;
  }
  async getLoggedModel(modelId: string): Promise<LoggedModelJson> {
    return (await this.mlflow<{ model: LoggedModelJson }>("GET", `/logged-models/${encodeURIComponent(modelId)}`))
      .model;
  }
  async finalizeLoggedModel(modelId: string, status: LoggedModelJson["info"]["status"]): Promise<LoggedModelJson> {
    return (
      await this.mlflow<{ model: LoggedModelJson }>("PATCH", `/logged-models/${encodeURIComponent(modelId)}`, {
        model_id: modelId,
        status,
      })
    ).model;
  }
  searchLoggedModels(request: {
    experiment_ids: string[];
    filter?: string;
    max_results?: number;
    order_by?: { field_name: string; ascending?: boolean }[];
    page_token?: string;
  }): Promise<{ models?: LoggedModelJson[] } & PageJson> {
    return this.mlflow("POST", "/logged-models/search", request);
  }

  // Registry
  async createRegisteredModel(
    name: string,
    options: { description?: string; tags?: TagJson[] } = {},
  ): Promise<RegisteredModelJson> {
    return (
      await this.mlflow<{ registered_model: RegisteredModelJson }>("POST", "/registered-models/create", {
        name,
        ...options,
      })
    ).registered_model;
  }
  async getRegisteredModel(name: string): Promise<RegisteredModelJson> {
    return (await this.mlflow<{ registered_model: RegisteredModelJson }>("GET", "/registered-models/get", { name }))
      .registered_model;
  }
  searchRegisteredModels(
    request: SearchRequest = {},
  ): Promise<{ registered_models?: RegisteredModelJson[] } & PageJson> {
    return this.mlflow("GET", "/registered-models/search", request);
  }
  async deleteRegisteredModel(name: string): Promise<void> {
    await this.mlflow("DELETE", "/registered-models/delete", { name });
  }
  async getLatestVersions(name: string, stages: Stage[] = []): Promise<ModelVersionJson[]> {
    return (
      (
        await this.mlflow<{ model_versions?: ModelVersionJson[] }>("POST", "/registered-models/get-latest-versions", {
          name,
          stages,
        })
      ).model_versions ?? []
    );
  }
  async createModelVersion(request: {
    name: string;
    source: string;
    run_id?: string;
    run_link?: string;
    description?: string;
    tags?: TagJson[];
  }): Promise<ModelVersionJson> {
    return (await this.mlflow<{ model_version: ModelVersionJson }>("POST", "/model-versions/create", request))
      .model_version;
  }
  async getModelVersion(name: string, version: string): Promise<ModelVersionJson> {
    return (await this.mlflow<{ model_version: ModelVersionJson }>("GET", "/model-versions/get", { name, version }))
      .model_version;
  }
  searchModelVersions(request: SearchRequest = {}): Promise<{ model_versions?: ModelVersionJson[] } & PageJson> {
    return this.mlflow("GET", "/model-versions/search", request);
  }
  async transitionStage(
    name: string,
    version: string,
    stage: Stage,
    archiveExistingVersions = false,
  ): Promise<ModelVersionJson> {
    return (
      await this.mlflow<{ model_version: ModelVersionJson }>("POST", "/model-versions/transition-stage", {
        name,
        version,
        stage,
        archive_existing_versions: archiveExistingVersions,
      })
    ).model_version;
  }
  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.mlflow("POST", "/registered-models/alias", { name, alias, version });
  }
  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.mlflow("DELETE", "/registered-models/alias", { name, alias });
  }
  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersionJson> {
    return (await this.mlflow<{ model_version: ModelVersionJson }>("GET", "/registered-models/alias", { name, alias }))
      .model_version;
  }

  // Artifacts (mlflow-artifacts proxy)
  async uploadArtifact(path: string, bytes: Uint8Array): Promise<void> {
    // The DOM's BodyInit (the client also runs in the web UI) wants a plain ArrayBuffer view.
    const data = bytes as Uint8Array<ArrayBuffer>;
    await this.send("PUT", artifactPath(path), { contentType: "application/octet-stream", data });
  }
  async downloadArtifact(path: string): Promise<Uint8Array> {
    return new Uint8Array(await (await this.send("GET", artifactPath(path))).arrayBuffer());
  }
  async listArtifacts(path = ""): Promise<FileInfoJson[]> {
    const body = await this.request<{ files?: FileInfoJson[] }>(
      "GET",
      "/api/2.0/mlflow-artifacts/artifacts",
      path === "" ? {} : { path },
    );
    return body.files ?? [];
  }

  // keel: webhooks
  async createWebhook(request: {
    url: string;
    events?: string[];
    model_name?: string;
    secret?: string;
  }): Promise<WebhookJson> {
    return (await this.request<{ webhook: WebhookJson }>("POST", "/api/keel/webhooks", request)).webhook;
  }
  async listWebhooks(): Promise<WebhookJson[]> {
    return (await this.request<{ webhooks?: WebhookJson[] }>("GET", "/api/keel/webhooks")).webhooks ?? [];
  }
  async deleteWebhook(id: string): Promise<void> {
    await this.request("DELETE", `/api/keel/webhooks/${encodeURIComponent(id)}`);
  }

  // keel: promotion and rollback
  /** Points `to` (default `champion`) at `version`; needs the approver role when auth is on. */
  async promoteModel(
    name: string,
    request: { version: string; reason: string; to?: string; approver?: string },
  ): Promise<AliasMoveJson> {
    return this.request<AliasMoveJson>("POST", `/api/keel/models/${encodeURIComponent(name)}/promote`, request);
  }
  /** Moves `alias` (default `champion`) back to the version it pointed at before. */
  async rollbackModel(
    name: string,
    request: { alias?: string; reason?: string; actor?: string } = {},
  ): Promise<AliasMoveJson> {
    return this.request<AliasMoveJson>("POST", `/api/keel/models/${encodeURIComponent(name)}/rollback`, request);
  }

  // keel: the caller and the audit log
  /** The caller's token name and role as the server sees them (`admin` with auth off). */
  whoami(): Promise<WhoAmIJson> {
    return this.request<WhoAmIJson>("GET", "/api/keel/whoami");
  }
  /** Audit rows matching every filter, newest first; pass the last `seq` as `before_seq` for the next page. */
  async listAudit(query: AuditQueryJson = {}): Promise<AuditRecordJson[]> {
    return (await this.request<{ records?: AuditRecordJson[] }>("GET", "/api/keel/audit", query)).records ?? [];
  }
  /** Recomputes the audit log's hash chain on the server. */
  verifyAudit(): Promise<AuditVerificationJson> {
    return this.request<AuditVerificationJson>("GET", "/api/keel/audit/verify");
  }
  /** Every serving endpoint with its traffic policy. */
  async listEndpoints(): Promise<Record<string, unknown>[]> {
    return (
      (await this.request<{ endpoints?: Record<string, unknown>[] }>("GET", "/api/keel/endpoints")).endpoints ?? []
    );
  }
  /** The server's Prometheus exposition (`/metrics`), as text. */
  async getMetricsText(): Promise<string> {
    return this.getText("/metrics");
  }

  // keel: model cards (docs/model-cards.md)
  /** Generates the version's card and keeps it with the version; `intended_use` / `limitations` are recorded first. */
  async generateModelCard(
    name: string,
    version: string,
    texts: { intended_use?: string; limitations?: string } = {},
  ): Promise<{ card: ModelCardJson; sha256: string }> {
    return this.request("POST", modelCardPath(name, version), texts);
  }
  /** The card kept with the version. */
  async getModelCard(name: string, version: string): Promise<ModelCardJson> {
    return (await this.request<{ card: ModelCardJson }>("GET", modelCardPath(name, version))).card;
  }
  /** The card kept with the version, rendered as Markdown or as a self-contained HTML page. */
  async getModelCardText(name: string, version: string, format: "md" | "html"): Promise<string> {
    return this.getText(`${modelCardPath(name, version)}?format=${format}`);
  }

  // keel: rollouts (docs/serving.md)
  /** Shadows, challengers and canaries held against the champion over [from, to) (default: the last 72 hours). */
  async getRolloutReport(
    name: string,
    query: { from?: number; to?: number; alpha?: number; min_effect?: number } = {},
  ): Promise<RolloutReportJson> {
    return this.request<RolloutReportJson>("GET", `/api/keel/models/${encodeURIComponent(name)}/rollout-report`, query);
  }
  /** Lets a version's canary take 100% of traffic and become champion (approver role). */
  async approveCanary(
    name: string,
    request: { version: string; reason: string; approver?: string },
  ): Promise<CanaryApprovalJson> {
    return this.request<CanaryApprovalJson>(
      "POST",
      `/api/keel/models/${encodeURIComponent(name)}/canary-approval`,
      request,
    );
  }

  // keel: delayed labels and rolling performance (docs/monitoring.md)
  /** Stores labels; `positive` maps non-binary label values (value = positive → 1, else 0). */
  async ingestLabels(
    labels: readonly LabelItemJson[],
    options: { source?: string; positive?: string } = {},
  ): Promise<LabelIngestJson> {
    return this.request<LabelIngestJson>("POST", "/api/keel/labels", { labels, ...options });
  }
  /** A model's rolling performance over `window` (e.g. `7d`) ending at `as_of` (default: now). */
  async getPerformance(query: {
    model: string;
    window?: string;
    segment?: string;
    as_of?: number;
    threshold?: number;
  }): Promise<PerformanceJson> {
    return this.request<PerformanceJson>("GET", "/api/keel/monitoring/performance", query);
  }

  // keel: monitoring observations, monitor windows and alerts (docs/monitoring.md)
  /** A model's observations (time series), oldest window first. */
  async getObservations(query: ObservationQueryJson): Promise<ObservationJson[]> {
    return (
      (await this.request<{ observations?: ObservationJson[] }>("GET", "/api/keel/monitoring/observations", query))
        .observations ?? []
    );
  }
  /** The latest window's observations of one model, per feature. */
  getMonitoringSummary(model: string): Promise<MonitoringSummaryJson> {
    return this.request<MonitoringSummaryJson>("GET", "/api/keel/monitoring/summary", { model });
  }
  /** One feature's histogram over [from, to) next to its reference (default version: the champion). */
  getFeatureHistogram(query: {
    model: string;
    feature: string;
    from: number | string;
    to: number | string;
    version?: string;
    endpoint?: string;
  }): Promise<FeatureHistogramJson> {
    return this.request<FeatureHistogramJson>("GET", "/api/keel/monitoring/histogram", query);
  }
  /**
   * The score's counts in each window of `window_ms` over [from, to) next to the training scores'
   * (default version: the champion).
   */
  getScoreHistograms(query: {
    model: string;
    from: number | string;
    to: number | string;
    window_ms: number;
    version?: string;
    endpoint?: string;
  }): Promise<ScoreHistogramsJson> {
    return this.request<ScoreHistogramsJson>("GET", "/api/keel/monitoring/score-histograms", query);
  }
  /** Runs the monitor job over [from, to) now, stores its observations and evaluates the alert rules. */
  runMonitorWindow(request: {
    model: string;
    from: number | string;
    to: number | string;
    version?: string;
    endpoint?: string;
  }): Promise<MonitorRunJson> {
    return this.request<MonitorRunJson>("POST", "/api/keel/monitoring/run", request);
  }
  // keel: decision records (docs/decisions.md)
  /** The records of one request (several for a multi-row request); RESOURCE_DOES_NOT_EXIST when none. */
  async getDecision(requestId: string): Promise<DecisionJson[]> {
    return (
      await this.request<{ decisions: DecisionJson[] }>("GET", `/api/keel/decisions/${encodeURIComponent(requestId)}`)
    ).decisions;
  }
  /** Decisions matching every filter, in chain order; pass `next_page_token` back as `page_token`. */
  searchDecisions(query: DecisionQueryJson = {}): Promise<DecisionPageJson> {
    return this.request<DecisionPageJson>("GET", "/api/keel/decisions", query);
  }
  /** Recomputes the decision records' hash chain on the server (`keel decisions verify` also reads checkpoints). */
  verifyDecisions(): Promise<DecisionVerificationJson> {
    return this.request<DecisionVerificationJson>("GET", "/api/keel/decisions/chain/verify");
  }
  /** Alert history, newest first. */
  async listAlerts(query: AlertQueryJson = {}): Promise<AlertJson[]> {
    return (await this.request<{ alerts?: AlertJson[] }>("GET", "/api/keel/alerts", query)).alerts ?? [];
  }
  /** Marks an alert acknowledged by the caller; acknowledging twice keeps the first. */
  async acknowledgeAlert(id: string): Promise<AlertJson> {
    return (await this.request<{ alert: AlertJson }>("POST", `/api/keel/alerts/${encodeURIComponent(id)}/ack`)).alert;
  }

  /** Closes an alert by hand, recorded under the caller; refused (INVALID_STATE) when already resolved. */
  async resolveAlert(id: string): Promise<AlertJson> {
    return (await this.request<{ alert: AlertJson }>("POST", `/api/keel/alerts/${encodeURIComponent(id)}/resolve`))
      .alert;
  }

  // keel: the human review queue (docs/review.md); every call needs the reviewer role when auth is on
  /** Queued decisions, oldest first. */
  async listReviews(query: ReviewQueryJson = {}): Promise<ReviewItemJson[]> {
    return (await this.request<{ items?: ReviewItemJson[] }>("GET", "/api/keel/review", query)).items ?? [];
  }
  async getReview(endpoint: string, requestId: string): Promise<ReviewItemJson> {
    return (await this.request<{ item: ReviewItemJson }>("GET", reviewPath(endpoint, requestId))).item;
  }
  /** Takes a pending item for the caller. */
  async claimReview(endpoint: string, requestId: string): Promise<ReviewItemJson> {
    return (await this.request<{ item: ReviewItemJson }>("POST", `${reviewPath(endpoint, requestId)}/claim`)).item;
  }
  /** Records the caller's verdict (one of the item's `decisions`) with a reason; it becomes the decision's label. */
  async decideReview(
    endpoint: string,
    requestId: string,
    verdict: { decision: string; reason: string },
  ): Promise<ReviewItemJson> {
    return (await this.request<{ item: ReviewItemJson }>("POST", `${reviewPath(endpoint, requestId)}/decide`, verdict))
      .item;
  }

  // Feature server, in Feast's shape (docs/features.md)
  /** Online features of the given entities: join keys first, then values, statuses and event times per feature. */
  getOnlineFeatures(request: GetOnlineFeaturesRequestJson): Promise<OnlineFeaturesJson> {
    return this.request<OnlineFeaturesJson>("POST", "/get-online-features", { ...request });
  }
  /** Writes rows of a source to the online store of every feature view it feeds. */
  pushFeatures(request: PushFeaturesRequestJson): Promise<{ rows_written: number }> {
    return this.request<{ rows_written: number }>("POST", "/push", { ...request });
  }
  /** Loads the latest row per entity with event time in [start_ts, end_ts] into the online store. */
  materializeFeatures(request: {
    start_ts: string | number;
    end_ts: string | number;
    feature_views?: string[];
  }): Promise<MaterializedJson> {
    return this.request<MaterializedJson>("POST", "/materialize", request);
  }
  /** Continues each feature view from its last materialization up to end_ts. */
  materializeFeaturesIncremental(request: {
    end_ts: string | number;
    feature_views?: string[];
  }): Promise<MaterializedJson> {
    return this.request<MaterializedJson>("POST", "/materialize-incremental", request);
  }
}
