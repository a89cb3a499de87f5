import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataIntegrityError, NotFoundError } from "../../src/errors.js";
import { artifactFetcher, artifactModelLoader } from "../../src/serving/index.js";
import { fixture } from "./fixtures.js";
import { openStack, type Stack } from "./harness.js";

const xgb = fixture("xgb_binary.json");
const bytes = new Uint8Array(readFileSync(xgb.file));
let stack: Stack;
beforeAll(async () => {
  stack = await openStack();
});
afterAll(async () => stack?.close());

describe("artifactFetcher (real artifact and tracking stores)", () => {
  it("reads a version's model from its checksum blob, a runs:/ folder or an artifact path", async () => {
    const { artifacts, tracking, registry } = stack.stores;
    const fetch = artifactFetcher({
      artifacts,
      runArtifactUri: async (id) => (await tracking.getRun(id)).info.artifactUri,
    });
    const blob = await artifacts.putBlob(bytes);
    const byBlob = await registry.createModelVersion({
      name: "m",
      source: "runs:/unknown/model",
      checksum: blob.sha256,
    });
    expect(await fetch(byBlob)).toEqual(bytes);

    const exp = await tracking.createExperiment("serving-artifacts");
    const run = await tracking.createRun({ experimentId: exp });
    const base = run.info.artifactUri.replace(/^mlflow-artifacts:\/*/, "");
    await artifacts.putFile(
      `${base}/model/MLmodel`,
      new TextEncoder().encode("flavors:\n  xgboost:\n    data: model.json\n    model_format: json\n"),
    );
    await artifacts.putFile(`${base}/model/model.json`, bytes);
    const byRun = await registry.createModelVersion({ name: "m", source: `runs:/${run.info.runId}/model` });
    expect(await fetch(byRun)).toEqual(bytes);
    const byPath = await registry.createModelVersion({
      name: "m",
      source: `mlflow-artifacts:/${base}/model/model.json`,
    });
    expect(await fetch(byPath)).toEqual(bytes);

    const missing = await registry.createModelVersion({ name: "m", source: `mlflow-artifacts:/${base}/nothing-here` });
    await expect(fetch(missing)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("refuses a model whose bytes do not match the registered checksum", async () => {
    const { artifacts, registry } = stack.stores;
    await artifacts.putFile("elsewhere/model.json", bytes);
    const mv = await registry.createModelVersion({
      name: "m2",
      source: "mlflow-artifacts:/elsewhere/model.json",
      checksum: "f".repeat(64),
    });
    const load = artifactModelLoader(artifactFetcher({ artifacts }));
    await expect(load(mv)).rejects.toBeInstanceOf(DataIntegrityError);
  });
});
