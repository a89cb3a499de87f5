import type { AliasMove, Lineage, ModelVersion, RegisteredModel, Webhook } from "../registry/index.js";
import type { DatasetInput, Experiment, LoggedModel, Metric, Param, Run, RunInfo, Tag } from "../tracking/index.js";
import type {
  AliasMoveJson,
  DatasetInputJson,
  ExperimentJson,
  LoggedModelJson,
  MetricJson,
  ModelVersionJson,
  ParamJson,
  RegisteredModelJson,
  RunInfoJson,
  RunJson,
  TagJson,
  WebhookJson,
} from "../wire/index.js";
import { doubleOut } from "./input.js";

/**
 * keel entities → MLflow's JSON (protobuf JSON with the proto field names: snake_case, ids as
 * strings, int64 timestamps as numbers, empty fields left out as MLflow's server leaves them).
 */

/** `o` without its undefined, null and empty-array fields; the wire types declare those optional. */
function compact<T extends object>(o: { [K in keyof T]: T[K] | null | undefined }): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    out[k] = v;
  }
  return out as T;
}

/** Lineage without its unset keys (JSON would drop them anyway). */
function lineageJson(l: Lineage | undefined): Record<string, string> | undefined {
  if (l === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(l)) if (v !== undefined) out[k] = v;
  return out;
}

export const tagJson = (t: Tag): TagJson => ({ key: t.key, value: t.value });
export const paramJson = (p: Param): ParamJson => ({ key: p.key, value: p.value });
export const metricJson = (m: Metric): MetricJson => ({
  key: m.key,
  value: doubleOut(m.value),
  timestamp: m.timestamp,
  step: m.step,
  ...(m.datasetName === undefined ? {} : { dataset_name: m.datasetName }),
  ...(m.datasetDigest === undefined ? {} : { dataset_digest: m.datasetDigest }),
});

export function experimentJson(e: Experiment): ExperimentJson {
  return compact({
    experiment_id: e.experimentId,
    name: e.name,
    artifact_location: e.artifactLocation,
    lifecycle_stage: e.lifecycleStage,
    last_update_time: e.lastUpdateTime,
    creation_time: e.creationTime,
    tags: e.tags.map(tagJson),
  });
}

export function runInfoJson(i: RunInfo): RunInfoJson {
  return compact({
    run_id: i.runId,
    run_uuid: i.runId,
    run_name: i.runName,
    experiment_id: i.experimentId,
    user_id: i.userId,
    status: i.status,
    start_time: i.startTime,
    end_time: i.endTime,
    artifact_uri: i.artifactUri,
    lifecycle_stage: i.lifecycleStage,
  });
}

function datasetInputJson(d: DatasetInput): DatasetInputJson {
  return compact({
    tags: d.tags.map(tagJson),
    dataset: compact({
      name: d.dataset.name,
      digest: d.dataset.digest,
      source_type: d.dataset.sourceType,
      source: d.dataset.source,
      schema: d.dataset.schema,
      profile: d.dataset.profile,
    }),
  });
}

/** Run tags in which keel keeps a run's MLflow 3 model links (`runs/outputs`, `runs/log-inputs`). */
export const MODEL_OUTPUT_TAG_PREFIX = "keel.output.model.";
export const MODEL_INPUT_TAG_PREFIX = "keel.input.model.";

export function runJson(r: Run): RunJson {
  const outputs = r.data.tags
    .filter((t) => t.key.startsWith(MODEL_OUTPUT_TAG_PREFIX))
    .map((t) => ({ model_id: t.key.slice(MODEL_OUTPUT_TAG_PREFIX.length), step: Number(t.value) || 0 }));
  const inputs = r.data.tags
    .filter((t) => t.key.startsWith(MODEL_INPUT_TAG_PREFIX))
    .map((t) => ({ model_id: t.key.slice(MODEL_INPUT_TAG_PREFIX.length) }));
  return {
    info: runInfoJson(r.info),
    data: compact({
      metrics: r.data.metrics.map(metricJson),
      params: r.data.params.map(paramJson),
      tags: r.data.tags.map(tagJson),
    }),
    inputs: compact({ dataset_inputs: r.inputs.datasetInputs.map(datasetInputJson), model_inputs: inputs }),
    ...(outputs.length === 0 ? {} : { outputs: { model_outputs: outputs } }),
  };
}

export function loggedModelJson(m: LoggedModel): LoggedModelJson {
  return registeredLoggedModelJson(m, []);
}

/** A logged model with the model versions registered from it (`info.registrations`). */
export function registeredLoggedModelJson(
  m: LoggedModel,
  registrations: readonly { name: string; version: string }[],
): LoggedModelJson {
  return {
    info: compact({
      model_id: m.modelId,
      experiment_id: m.experimentId,
      name: m.name,
      creation_timestamp_ms: m.creationTimestampMs,
      last_updated_timestamp_ms: m.lastUpdatedTimestampMs,
      artifact_uri: m.artifactUri,
      status: m.status,
      model_type: m.modelType === "" ? undefined : m.modelType,
      source_run_id: m.sourceRunId,
      status_message: m.statusMessage === "" ? undefined : m.statusMessage,
      tags: m.tags.map(tagJson),
      registrations: registrations.map((r) => ({ name: r.name, version: r.version })),
    }),
    data: compact({ params: m.params.map(paramJson), metrics: m.metrics.map(metricJson) }),
  };
}

export function modelVersionJson(v: ModelVersion): ModelVersionJson {
  return linkedModelVersionJson(v, undefined);
}

/** A version with its logged model's (MLflow 3) params and metrics, as MLflow 3 returns it. */
export function linkedModelVersionJson(v: ModelVersion, logged: LoggedModel | undefined): ModelVersionJson {
  return compact({
    name: v.name,
    version: v.version,
    creation_timestamp: v.creationTimestamp,
    last_updated_timestamp: v.lastUpdatedTimestamp,
    user_id: v.userId,
    current_stage: v.currentStage,
    description: v.description,
    source: v.source,
    run_id: v.runId === "" ? undefined : v.runId,
    status: v.status,
    status_message: v.statusMessage === "" ? undefined : v.statusMessage,
    tags: v.tags.map(tagJson),
    run_link: v.runLink === "" ? undefined : v.runLink,
    aliases: [...v.aliases],
    model_id: v.modelId,
    model_params: logged?.params.map((p) => ({ name: p.key, value: p.value })),
    model_metrics: logged?.metrics.map((m) => ({ ...metricJson(m), model_id: logged.modelId })),
    // keel's additions; MLflow clients ignore fields they do not know.
    checksum: v.checksum,
    signature: v.signature,
    lineage: lineageJson(v.lineage),
  });
}

export function registeredModelJson(m: RegisteredModel): RegisteredModelJson {
  return compact({
    name: m.name,
    creation_timestamp: m.creationTimestamp,
    last_updated_timestamp: m.lastUpdatedTimestamp,
    user_id: m.userId,
    description: m.description,
    latest_versions: m.latestVersions.map(modelVersionJson),
    tags: m.tags.map(tagJson),
    aliases: m.aliases.map((a) => ({ alias: a.alias, version: a.version })),
  });
}

export function webhookJson(w: Webhook): WebhookJson {
  return compact({
    id: w.id,
    url: w.url,
    events: [...w.events],
    model_name: w.modelName,
    creation_timestamp: w.creationTimestamp,
  });
}

/** A promotion or rollback with the version the alias now points at. */
export function aliasMoveJson(m: AliasMove, version: ModelVersion): AliasMoveJson {
  return {
    name: m.name,
    alias: m.alias,
    from_version: m.fromVersion,
    to_version: m.toVersion,
    actor: m.actor,
    reason: m.reason,
    model_version: modelVersionJson(version),
  };
}
