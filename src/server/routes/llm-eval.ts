import { InvalidStateError } from "../../errors.js";
import {
  calibrateJudge,
  checkEvaluatorSpecs,
  compareEvalRuns,
  createDatasetVersion,
  exampleJson,
  gatewayChat,
  getDataset,
  getDatasetVersion,
  listDatasets,
  listDatasetVersions,
  readDatasetExamples,
  runEvaluation,
  type Gateway,
} from "../../llm/index.js";
import { specError } from "../../spec-fields.js";
import type {
  EvalDatasetVersionJson,
  EvalComparisonJson,
  EvalRunJson,
  JudgeCalibrationJson,
} from "../../wire/index.js";
import type { RoutePlugin } from "../app-deps.js";
import { Input } from "../input.js";
import { calibrationJson, datasetJson, datasetVersionJson, evalComparisonJson, evalRunJson } from "../llm-eval-json.js";
import { actorOf } from "./mlflow-common.js";

/** `NAME@REF` (REF a version or an alias) or `NAME` alone (the latest version); `field` names it in errors. */
export function splitDatasetRef(ref: string, field: string): { name: string; ref: string } {
  const at = ref.lastIndexOf("@");
  if (at === 0 || ref === "") throw specError(field, ref, "must be NAME, NAME@VERSION or NAME@ALIAS");
  return at < 0 ? { name: ref, ref: "latest" } : { name: ref.slice(0, at), ref: ref.slice(at + 1) };
}

/** `NAME@REF` with the reference required (prompts have no "latest"). */
export function splitPromptRef(ref: string, field: string): { name: string; ref: string } {
  const at = ref.lastIndexOf("@");
  if (at <= 0 || at === ref.length - 1) throw specError(field, ref, "must be NAME@VERSION or NAME@ALIAS");
  return { name: ref.slice(0, at), ref: ref.slice(at + 1) };
}

/**
 * LLM evaluation (docs/llm-evaluation.md): datasets of examples on the registry, evaluation runs
 * through the gateway logged as tracking runs, paired comparison of two runs, and judge
 * calibration against human labels. Writing needs the writer role; calibrating a judge decides
 * whether its scores may gate a promotion, so it needs the approver role.
 */
export const llmEvalRoutes: RoutePlugin = (app, { stores: all, llm }) => {
  const registry = all.registry;
  const artifacts = all.artifacts;
  if (artifacts === undefined) return;
  const stores = { registry, tracking: all.tracking, artifacts };
  const needGateway = (): Gateway => {
    if (llm?.gateway === undefined) {
      throw new InvalidStateError("the server has no LLM gateway: start it with --llm-config to run evaluations", {
        details: { rule: "needs an LLM config with routes" },
      });
    }
    return llm.gateway;
  };

  app.post("/api/keel/llm/datasets", { config: { role: "writer" } }, async (req) => {
    const input = Input.of(req);
    const version = await createDatasetVersion(
      stores,
      {
        name: input.requiredString("name"),
        examples: input.rawValue("examples"),
        description: input.string("description"),
      },
      actorOf(req),
    );
    return { dataset_version: datasetVersionJson(version) };
  });

  app.get("/api/keel/llm/datasets", async (req) => {
    const input = Input.of(req);
    const page = await listDatasets(registry, {
      maxResults: input.integer("max_results", { min: 1, max: 1000 }),
      pageToken: input.string("page_token"),
    });
    return {
      datasets: page.items.map(datasetJson),
      ...(page.nextPageToken === undefined ? {} : { next_page_token: page.nextPageToken }),
    };
  });

  app.get("/api/keel/llm/datasets/:name", async (req) => {
    const name = Input.of(req).requiredString("name");
    const dataset = await getDataset(registry, name);
    return {
      dataset: datasetJson(dataset),
      versions: (await listDatasetVersions(registry, name)).map(datasetVersionJson),
    };
  });

  app.get(
    "/api/keel/llm/datasets/:name/versions/:ref",
    async (req): Promise<{ dataset_version: EvalDatasetVersionJson }> => {
      const input = Input.of(req);
      const v = await getDatasetVersion(registry, input.requiredString("name"), input.requiredString("ref"));
      return { dataset_version: datasetVersionJson(v) };
    },
  );

  app.get("/api/keel/llm/datasets/:name/versions/:ref/examples", async (req) => {
    const input = Input.of(req);
    const v = await getDatasetVersion(registry, input.requiredString("name"), input.requiredString("ref"));
    return {
      dataset_version: datasetVersionJson(v),
      examples: (await readDatasetExamples(stores, v)).map(exampleJson),
    };
  });

  app.post("/api/keel/llm/evaluations", { config: { role: "writer" } }, async (req): Promise<EvalRunJson> => {
    const input = Input.of(req);
    const dataset = splitDatasetRef(input.requiredString("dataset"), "dataset");
    const prompt = splitPromptRef(input.requiredString("prompt"), "prompt");
    const route = input.requiredString("route");
    const evaluators = checkEvaluatorSpecs(input.rawValue("evaluators"));
    const gateway = needGateway();
    const result = await runEvaluation(
      {
        registry,
        tracking: stores.tracking,
        artifacts,
        gateway,
        prices: llm?.config?.prices ?? {},
        routes: Object.keys(llm?.config?.routes ?? {}),
        actor: actorOf(req),
      },
      {
        dataset,
        prompt,
        route,
        evaluators,
        judgeRoute: input.string("judge_route"),
        experimentName: input.string("experiment_name"),
        runName: input.string("run_name"),
      },
    );
    return evalRunJson(result);
  });

  app.post(
    "/api/keel/llm/evaluations/compare",
    { config: { role: "reader" } },
    async (req): Promise<EvalComparisonJson> => {
      const input = Input.of(req);
      return evalComparisonJson(
        await compareEvalRuns(stores, input.requiredString("run_a"), input.requiredString("run_b")),
      );
    },
  );

  app.post(
    "/api/keel/llm/judges/calibrate",
    { config: { role: "approver" } },
    async (req): Promise<JudgeCalibrationJson> => {
      const input = Input.of(req);
      const judge = input.requiredString("judge");
      const dataset = splitDatasetRef(input.requiredString("dataset"), "dataset");
      const route = input.requiredString("route");
      const num = (f: string) => (input.has(f) ? input.requiredDouble(f) : undefined);
      const actor = actorOf(req);
      const result = await calibrateJudge(
        { registry, artifacts, call: gatewayChat(needGateway(), route, actor.userId), actor },
        {
          judge,
          dataset,
          minScore: num("min_score"),
          maxScore: num("max_score"),
          passThreshold: num("pass_threshold"),
          minKappa: num("min_kappa"),
          minAgreement: num("min_agreement"),
        },
      );
      return calibrationJson(result);
    },
  );
};
