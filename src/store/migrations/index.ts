import type { Migration } from "./migration.js";
import { m0001CoreTracking } from "./0001-core-tracking.js";
import { m0002Registry } from "./0002-registry.js";
import { m0003AuditTokensArtifacts } from "./0003-audit-tokens-artifacts.js";
import { m0010InferenceLog } from "./0010-inference-log.js";
import { m0011ServingEndpoints } from "./0011-serving-endpoints.js";
import { m0012InferenceLogShadows } from "./0012-inference-log-shadows.js";
import { m0020MonitorObservations } from "./0020-monitor-observations.js";
import { m0022Labels } from "./0022-labels.js";
import { m0023Alerts } from "./0023-alerts.js";
import { m0040Features } from "./0040-features.js";
import { m0050DecisionRecords } from "./0050-decision-records.js";
import { m0060ReviewQueue } from "./0060-review-queue.js";
import { m0070ServingCanaries } from "./0070-serving-canaries.js";
import { m0090LlmTraces } from "./0090-llm-traces.js";
import { m0120UsersPermissions } from "./0120-users-permissions.js";
import { m0121ModelVersionModelId } from "./0121-model-version-model-id.js";
import { m0122MetricDataset } from "./0122-metric-dataset.js";
import { m0140ChainKeys } from "./0140-chain-keys.js";
import { m0150SchedulerLeases } from "./0150-scheduler-leases.js";
import { m0170AlertOpenOnce } from "./0170-alert-open-once.js";
import { m0180InferenceLogEntityPartial } from "./0180-inference-log-entity-partial.js";

export type { Dialect, Migration, MigrationContext } from "./migration.js";

/**
 * Every migration, in the order it runs. Ranges: 0001–0009 core (tracking, registry, audit,
 * tokens, artifacts); 0010–0019 serving / inference log; 0020–0029 monitoring; 0030–0039
 * pipelines; 0050–0059 decision records; 0060–0069 human review; 0120–0129 users and per-object permissions;
 * 0140–0149 sealed chains; 0150–0159 scale-out (leases, change notifications); 0170–0179 alerting integrity; 0180–0189 serving / inference log, continued. Append one import above and one entry below; never
 * reorder or edit applied entries.
 */
export const migrations: readonly Migration[] = [
  m0001CoreTracking,
  m0002Registry,
  m0003AuditTokensArtifacts,
  m0010InferenceLog,
  m0011ServingEndpoints,
  m0012InferenceLogShadows,
  m0020MonitorObservations,
  m0022Labels,
  m0023Alerts,
  m0040Features,
  m0050DecisionRecords,
  m0060ReviewQueue,
  m0070ServingCanaries,
  m0090LlmTraces,
  m0120UsersPermissions,
  m0121ModelVersionModelId,
  m0122MetricDataset,
  m0140ChainKeys,
  m0150SchedulerLeases,
  m0170AlertOpenOnce,
  m0180InferenceLogEntityPartial,
];
