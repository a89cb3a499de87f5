import { describe, expect, expectTypeOf, it } from "vitest";
import type { KeelClient } from "../../src/client/index.js";
import { alertJson } from "../../src/monitoring/alert-sinks.js";
import {
  experimentJson,
  modelVersionJson,
  registeredModelJson,
  runJson,
  webhookJson,
} from "../../src/server/mlflow-json.js";
import { parseStage } from "../../src/server/routes/mlflow-registry.js";
import {
  ALERT_STATUSES,
  ALERT_TIERS,
  LIFECYCLE_STAGES,
  LOGGED_MODEL_STATUSES,
  MODEL_VERSION_STATUSES,
  OBSERVATION_KINDS,
  OIP_DATATYPES,
  RUN_STATUSES,
  SEVERITIES,
  STAGES,
  VIEW_TYPES,
  type AlertJson,
  type ExperimentJson,
  type ModelVersionJson,
  type RegisteredModelJson,
  type RunJson,
  type WebhookJson,
} from "../../src/wire/index.js";

describe("wire types", () => {
  it("the server's mappers return exactly what the client's methods answer", () => {
    type Answer<M extends keyof KeelClient> = KeelClient[M] extends (...a: never[]) => Promise<infer T> ? T : never;
    expectTypeOf(experimentJson).returns.toEqualTypeOf<ExperimentJson>();
    expectTypeOf<Answer<"getExperiment">>().toEqualTypeOf<ExperimentJson>();
    expectTypeOf(runJson).returns.toEqualTypeOf<RunJson>();
    expectTypeOf<Answer<"getRun">>().toEqualTypeOf<RunJson>();
    expectTypeOf(registeredModelJson).returns.toEqualTypeOf<RegisteredModelJson>();
    expectTypeOf<Answer<"getRegisteredModel">>().toEqualTypeOf<RegisteredModelJson>();
    expectTypeOf(modelVersionJson).returns.toEqualTypeOf<ModelVersionJson>();
    expectTypeOf<Answer<"getModelVersion">>().toEqualTypeOf<ModelVersionJson>();
    expectTypeOf(webhookJson).returns.toEqualTypeOf<WebhookJson>();
    expectTypeOf<Answer<"createWebhook">>().toEqualTypeOf<WebhookJson>();
    expectTypeOf(alertJson).returns.toEqualTypeOf<AlertJson>();
    expectTypeOf<Answer<"acknowledgeAlert">>().toEqualTypeOf<AlertJson>();
  });

  it("declares each closed list once, without repeats", () => {
    const lists = [
      ALERT_STATUSES,
      ALERT_TIERS,
      LIFECYCLE_STAGES,
      LOGGED_MODEL_STATUSES,
      MODEL_VERSION_STATUSES,
      OBSERVATION_KINDS,
      OIP_DATATYPES,
      RUN_STATUSES,
      SEVERITIES,
      STAGES,
      VIEW_TYPES,
    ];
    for (const list of lists) expect(new Set(list).size).toBe(list.length);
  });

  it("parses every stage of the list, in any case, to its canonical spelling", () => {
    for (const stage of STAGES) expect(parseStage(stage.toUpperCase())).toBe(stage);
    expect(() => parseStage("Retired")).toThrow('stage "Retired" must be one of None, Staging, Production, Archived');
  });
});
