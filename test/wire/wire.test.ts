import { describe, expect, expectTypeOf, it } from "vitest";
import type { KeelClient } from "../../src/client/index.js";
import { alertJson } from "../../src/monitoring/alert-sinks.js";
import * as monitoring from "../../src/monitoring/index.js";
import {
  experimentJson,
  modelVersionJson,
  registeredModelJson,
  runJson,
  webhookJson,
} from "../../src/server/mlflow-json.js";
import { parseStage } from "../../src/server/routes/mlflow-registry.js";
import { encodeInferResponse, modelMetadata, OIP_DATATYPES as SERVING_DATATYPES } from "../../src/serving/oip.js";
import { ALERT_STATUSES as STORE_ALERT_STATUSES } from "../../src/store/alert-history.js";
import { OBSERVATION_KINDS as STORE_OBSERVATION_KINDS } from "../../src/store/monitor-observations-sql.js";
import {
  ALERT_STATUSES,
  ALERT_TIERS,
  OBSERVATION_KINDS,
  OIP_DATATYPES,
  STAGES,
  type AlertJson,
  type ExperimentJson,
  type InferResponseJson,
  type ModelMetadataJson,
  type ModelVersionJson,
  type RegisteredModelJson,
  type RunJson,
  type WebhookJson,
} from "../../src/wire/index.js";
import * as wire from "../../src/wire/index.js";

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
    expectTypeOf(encodeInferResponse).returns.toMatchTypeOf<InferResponseJson>();
    expectTypeOf(modelMetadata).returns.toMatchTypeOf<ModelMetadataJson>();
    expectTypeOf<Answer<"acknowledgeAlert">>().toEqualTypeOf<AlertJson>();
  });

  it("declares each closed list once, without repeats", () => {
    // Every value the wire exports is a closed list: a new one is checked without being named here.
    const lists: readonly (readonly string[])[] = Object.values(wire);
    expect(lists.length).toBeGreaterThanOrEqual(11);
    for (const list of lists) expect(new Set(list).size).toBe(list.length);
  });

  it("lists what the domain modules list: wire/ may import none of them, so a test ties the two", () => {
    expect(ALERT_TIERS).toEqual(monitoring.ALERT_TIERS);
    expect(ALERT_STATUSES).toEqual(STORE_ALERT_STATUSES);
    expect(OBSERVATION_KINDS).toEqual(STORE_OBSERVATION_KINDS);
    expect(OIP_DATATYPES).toEqual(SERVING_DATATYPES);
  });

  it("parses every stage of the list, in any case, to its canonical spelling", () => {
    for (const stage of STAGES) expect(parseStage(stage.toUpperCase())).toBe(stage);
    expect(() => parseStage("Retired")).toThrow(
      'stage = "Retired": must be one of None, Staging, Production, Archived',
    );
  });
});
