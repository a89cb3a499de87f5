import type { LifecycleStage, LoggedModelStatus, RunStatus, ViewType } from "../wire/index.js";
/**
 * Tracking entities and the `TrackingStore` interface, with MLflow's semantics. Times are epoch
 * milliseconds. Ids are strings, as MLflow's REST API returns them.
 */
export type { LifecycleStage, LoggedModelStatus, RunStatus, ViewType } from "../wire/index.js";

export interface Tag {
  readonly key: string;
  readonly value: string;
}

export interface Experiment {
  readonly experimentId: string;
  readonly name: string;
  readonly artifactLocation: string;
  readonly lifecycleStage: LifecycleStage;
  readonly creationTime: number;
  readonly lastUpdateTime: number;
  readonly tags: readonly Tag[];
}

export interface Metric {
  readonly key: string;
  readonly value: number;
  readonly timestamp: number;
  readonly step: number;
  /** MLflow 3: the logged model this point belongs to, when logged with one. */
  readonly modelId?: string;
  /** MLflow 3: the dataset the value was computed on. */
  readonly datasetName?: string;
  readonly datasetDigest?: string;
}

export interface Param {
  readonly key: string;
  readonly value: string;
}

export interface RunInfo {
  readonly runId: string;
  readonly runName: string;
  readonly experimentId: string;
  readonly userId: string;
  readonly status: RunStatus;
  readonly startTime: number;
  readonly endTime: number | null;
  readonly artifactUri: string;
  readonly lifecycleStage: LifecycleStage;
}

export interface Dataset {
  readonly name: string;
  readonly digest: string;
  readonly sourceType: string;
  readonly source: string;
  readonly schema?: string;
  readonly profile?: string;
}

export interface DatasetInput {
  readonly tags: readonly Tag[];
  readonly dataset: Dataset;
}

export interface Run {
  readonly info: RunInfo;
  readonly data: {
    /** Latest value per key, as MLflow picks it: max step, then max timestamp, then max value. */
    readonly metrics: readonly Metric[];
    readonly params: readonly Param[];
    readonly tags: readonly Tag[];
  };
  readonly inputs: { readonly datasetInputs: readonly DatasetInput[] };
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Opaque token for the next page; absent on the last page. */
  readonly nextPageToken?: string;
}

export interface SearchRunsQuery {
  readonly experimentIds: readonly string[];
  /** MLflow filter grammar, e.g. `metrics.auc > 0.8 and params.model = 'gbdt'`. */
  readonly filter?: string | undefined;
  readonly runViewType?: ViewType | undefined;
  /** Default 1000, at most 50000 (MLflow's limits). */
  readonly maxResults?: number | undefined;
  /** e.g. `["metrics.auc DESC", "attributes.start_time"]`. */
  readonly orderBy?: readonly string[] | undefined;
  readonly pageToken?: string | undefined;
}

export interface SearchExperimentsQuery {
  readonly filter?: string | undefined;
  readonly viewType?: ViewType | undefined;
  readonly maxResults?: number | undefined;
  readonly orderBy?: readonly string[] | undefined;
  readonly pageToken?: string | undefined;
}

export interface CreateRunInput {
  readonly experimentId: string;
  readonly runName?: string;
  readonly userId?: string;
  readonly startTime?: number;
  readonly tags?: readonly Tag[];
}

export interface UpdateRunInput {
  readonly status?: RunStatus;
  readonly endTime?: number;
  readonly runName?: string;
}

export interface LogBatchInput {
  readonly metrics?: readonly Metric[];
  readonly params?: readonly Param[];
  readonly tags?: readonly Tag[];
}

/** MLflow 3 logged models (`/api/2.0/mlflow/logged-models`). */

export interface LoggedModel {
  readonly modelId: string;
  readonly experimentId: string;
  readonly name: string;
  readonly artifactUri: string;
  readonly creationTimestampMs: number;
  readonly lastUpdatedTimestampMs: number;
  readonly modelType: string;
  readonly sourceRunId: string | null;
  readonly status: LoggedModelStatus;
  readonly statusMessage: string;
  readonly tags: readonly Tag[];
  readonly params: readonly Param[];
  readonly metrics: readonly Metric[];
}

export interface CreateLoggedModelInput {
  readonly experimentId: string;
  readonly name?: string;
  readonly modelType?: string;
  readonly sourceRunId?: string;
  readonly params?: readonly Param[];
  readonly tags?: readonly Tag[];
}

export interface SearchLoggedModelsQuery {
  readonly experimentIds: readonly string[];
  readonly filter?: string | undefined;
  readonly maxResults?: number | undefined;
  readonly orderBy?:
    readonly { fieldName: string; ascending?: boolean; datasetName?: string; datasetDigest?: string }[] | undefined;
  readonly pageToken?: string | undefined;
  /** Metric filters count only values computed on one of these datasets (MLflow 3). */
  readonly datasets?: readonly { datasetName: string; datasetDigest?: string }[] | undefined;
}

/** Who did it; recorded in the audit log with every mutation. */
export interface Actor {
  readonly userId: string;
}

export interface TrackingStore {
  createExperiment(name: string, artifactLocation?: string, tags?: readonly Tag[], actor?: Actor): Promise<string>;
  getExperiment(experimentId: string): Promise<Experiment>;
  getExperimentByName(name: string): Promise<Experiment>;
  searchExperiments(query: SearchExperimentsQuery): Promise<Page<Experiment>>;
  renameExperiment(experimentId: string, newName: string, actor?: Actor): Promise<void>;
  deleteExperiment(experimentId: string, actor?: Actor): Promise<void>;
  restoreExperiment(experimentId: string, actor?: Actor): Promise<void>;
  setExperimentTag(experimentId: string, key: string, value: string, actor?: Actor): Promise<void>;
  deleteExperimentTag(experimentId: string, key: string, actor?: Actor): Promise<void>;

  createRun(input: CreateRunInput, actor?: Actor): Promise<Run>;
  getRun(runId: string): Promise<Run>;
  updateRun(runId: string, input: UpdateRunInput, actor?: Actor): Promise<RunInfo>;
  deleteRun(runId: string, actor?: Actor): Promise<void>;
  restoreRun(runId: string, actor?: Actor): Promise<void>;
  searchRuns(query: SearchRunsQuery): Promise<Page<Run>>;

  logMetric(runId: string, metric: Metric, actor?: Actor): Promise<void>;
  /** A param is immutable: a different value for an existing key is INVALID_PARAMETER_VALUE. */
  logParam(runId: string, param: Param, actor?: Actor): Promise<void>;
  setTag(runId: string, tag: Tag, actor?: Actor): Promise<void>;
  deleteTag(runId: string, key: string, actor?: Actor): Promise<void>;
  /** Atomic: all or nothing. MLflow's limits: 1000 metrics, 100 params, 100 tags, 1000 in all. */
  logBatch(runId: string, batch: LogBatchInput, actor?: Actor): Promise<void>;
  getMetricHistory(
    runId: string,
    key: string,
    query?: { maxResults?: number | undefined; pageToken?: string | undefined },
  ): Promise<Page<Metric>>;
  logInputs(runId: string, datasets: readonly DatasetInput[], actor?: Actor): Promise<void>;

  createLoggedModel(input: CreateLoggedModelInput, actor?: Actor): Promise<LoggedModel>;
  getLoggedModel(modelId: string): Promise<LoggedModel>;
  searchLoggedModels(query: SearchLoggedModelsQuery): Promise<Page<LoggedModel>>;
  finalizeLoggedModel(modelId: string, status: LoggedModelStatus, actor?: Actor): Promise<LoggedModel>;
  setLoggedModelTags(modelId: string, tags: readonly Tag[], actor?: Actor): Promise<void>;
  deleteLoggedModelTag(modelId: string, key: string, actor?: Actor): Promise<void>;
  logLoggedModelParams(modelId: string, params: readonly Param[], actor?: Actor): Promise<void>;
  deleteLoggedModel(modelId: string, actor?: Actor): Promise<void>;
}
