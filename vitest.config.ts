import { configDefaults, defineConfig } from "vitest/config";

// Test tiers (docs/design.md), one vitest project each; `npm test` runs them all, `npm run test:<name>` one.
/** Metadata-store conformance suites, one file per backend. */
const sqlite = ["test/**/*sqlite*.test.ts"];
const postgres = ["test/**/*postgres*.test.ts"];
const redis = ["test/**/*redis*.test.ts"];
/** The app on real stores (both backends in one file), over HTTP, or with an external tool. */
const integration = [
  "test/keel.test.ts",
  "test/llm/eval/calibration.test.ts",
  "test/llm/eval/dataset.test.ts",
  "test/llm/eval/llm-eval-http.test.ts",
  "test/llm/gateway.test.ts",
  "test/llm/gateway/classifier-endpoint.test.ts",
  "test/llm/monitor/job.test.ts",
  "test/llm/monitor/llm-monitoring.test.ts",
  "test/llm/otlp.test.ts",
  "test/llm/prompts-http.test.ts",
  "test/llm/prompts/prompt-registry.test.ts",
  "test/monitoring/alert-engine.test.ts",
  "test/monitoring/drift-html.test.ts",
  "test/monitoring/feature-histogram.test.ts",
  "test/monitoring/monitor-job.test.ts",
  "test/monitoring/performance.test.ts",
  "test/monitoring/rollout-report.test.ts",
  "test/monitoring/scheduler.test.ts",
  "test/pipeline/retraining-validation.test.ts",
  "test/pipeline/retraining.test.ts",
  "test/pipeline/run.test.ts",
  "test/pipeline/training-set.test.ts",
  "test/pipeline/training-window.test.ts",
  "test/registry/promotion.test.ts",
  "test/server/alert-resolve.test.ts",
  "test/server/artifacts.test.ts",
  "test/server/auth.test.ts",
  "test/server/decisions.test.ts",
  "test/server/default-rules.test.ts",
  "test/server/grpc-inference.test.ts",
  "test/server/labels.test.ts",
  "test/server/mlflow-api.test.ts",
  "test/server/mlflow-client-session.test.ts",
  "test/server/mlflow-compat/basic-auth.test.ts",
  "test/server/mlflow-compat/probes.test.ts",
  "test/server/mlflow-compat/registry.test.ts",
  "test/server/mlflow-compat/tracking.test.ts",
  "test/server/monitoring.test.ts",
  "test/server/nginx-replicas.test.ts",
  "test/server/outages.test.ts",
  "test/server/promotion.test.ts",
  "test/server/replicas.test.ts",
  "test/server/review.test.ts",
  "test/server/soak.test.ts",
  "test/server/s3-artifacts.test.ts",
  "test/server/ui.test.ts",
  "test/serving/artifact-source.test.ts",
  "test/serving/canary-replicas.test.ts",
  "test/serving/canary-rollout.test.ts",
  "test/serving/decision-threshold.test.ts",
  "test/serving/endpoint-persistence.test.ts",
  "test/serving/entity-features.test.ts",
  "test/serving/keel-server.test.ts",
  "test/serving/lifecycle.test.ts",
  "test/serving/model-folders.test.ts",
  "test/serving/oip-transports.test.ts",
  "test/serving/protocols.test.ts",
  "test/serving/review-binding.test.ts",
  "test/store/inference-log-sql.test.ts",
  "test/store/serving-canaries.test.ts",
  "test/store/serving-endpoints.test.ts",
  "test/ui/browser.test.ts",
];
/** The `keel` command and server run as a user runs them. */
const e2e = ["test/cli/**/*.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    projects: [
      {
        extends: true,
        // Everything else: pure module tests, no services and no network.
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...sqlite, ...postgres, ...redis, ...integration, ...e2e],
        },
      },
      { extends: true, test: { name: "sqlite", include: sqlite } },
      { extends: true, test: { name: "postgres", include: postgres } },
      { extends: true, test: { name: "redis", include: redis } },
      { extends: true, test: { name: "integration", include: integration } },
      { extends: true, test: { name: "e2e", include: e2e } },
    ],
  },
});
