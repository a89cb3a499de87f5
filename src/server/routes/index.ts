import type { RoutePlugin } from "../app-deps.js";
import { healthRoutes } from "./health.js";
import { keelWebhookRoutes } from "./keel-webhooks.js";
import { keelAuditRoutes } from "./keel-audit.js";
import { keelPromotionRoutes } from "./keel-promotion.js";
import { keelPromptRoutes } from "./keel-prompts.js";
import { llmEvalRoutes } from "./llm-eval.js";
import { llmGatewayRoutes } from "./llm-gateway.js";
import { llmTraceRoutes } from "./llm-traces.js";
import { llmMonitoringRoutes } from "./llm-monitoring.js";
import { labelRoutes } from "./labels.js";
import { mlflowArtifactRoutes } from "./mlflow-artifacts.js";
import { mlflowExperimentRoutes } from "./mlflow-experiments.js";
import { mlflowLoggedModelRoutes } from "./mlflow-logged-models.js";
import { mlflowRegistryRoutes } from "./mlflow-registry.js";
import { mlflowRunRoutes } from "./mlflow-runs.js";
import { mlflowServerInfoRoutes } from "./mlflow-server-info.js";
import { mlflowUserRoutes } from "./mlflow-users.js";
import { monitoringRoutes } from "./monitoring.js";
import { monitoringHistogramRoutes } from "./monitoring-histogram.js";
import { decisionRoutes } from "./decisions.js";
import { featureRoutes } from "./features.js";
import { modelCardRoutes } from "./model-cards.js";
import { reviewRoutes } from "./review.js";
import { rolloutRoutes } from "./rollout.js";
import { servingRoutes } from "./serving.js";
import { uiRoutes } from "./ui.js";

/** Every route file of the server, registered in this order. Append your entry. */
export const routes: readonly RoutePlugin[] = [
  healthRoutes,
  mlflowExperimentRoutes,
  mlflowRunRoutes,
  mlflowLoggedModelRoutes,
  mlflowRegistryRoutes,
  mlflowArtifactRoutes,
  keelWebhookRoutes,
  servingRoutes,
  keelPromotionRoutes,
  labelRoutes,
  monitoringRoutes,
  featureRoutes,
  decisionRoutes,
  reviewRoutes,
  modelCardRoutes,
  rolloutRoutes,
  keelPromptRoutes,
  llmGatewayRoutes,
  llmTraceRoutes,
  mlflowUserRoutes,
  mlflowServerInfoRoutes,
  llmEvalRoutes,
  llmMonitoringRoutes,
  keelAuditRoutes,
  monitoringHistogramRoutes,
  uiRoutes,
];
