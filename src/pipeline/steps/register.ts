/**
 * The register step: the trained model registered as a new version of the definition's model,
 * with its lineage and the reference profile drift monitoring compares live traffic against, and
 * the definition's alias moved to it. An identical earlier version is reused when asked.
 */
import { takeRows } from "../../data/index.js";
import { DECISION_THRESHOLD_TAG, saveReferenceProfileJson, type ReferenceProfileDeps } from "../../registry/index.js";
import type { Lineage, ModelVersion, RegistryStore } from "../../registry/index.js";
import { buildTrainingProfile, profileToJson } from "../../stats/index.js";
import { logArtifact, runStep, setTags, type PipelineContext } from "../context.js";
import { reviewedDecisionTags } from "../reviewed-decisions.js";
import type { PipelineResult, RegisteredVersion } from "../types.js";
import { scoreRows, type Evaluation } from "./evaluate.js";
import type { SplitRows } from "./split.js";
import type { TrainedModel } from "./train.js";
import { TRAINING_DATA_TAGS, applyTrainingDataRetention, trainingDataPath } from "../training-data.js";

export type Registered = NonNullable<PipelineResult["registered"]>;

/** Where the pipeline run keeps the model it registers. */
const modelSource = (runId: string): string => `runs:/${runId}/model`;

/** Metrics copied onto the version as `keel.metric.*` tags. */
const VERSION_METRICS = ["auc", "ks", "fnr"];

export async function registerStep(
  ctx: PipelineContext,
  trained: TrainedModel,
  evaluation: Evaluation,
  split: SplitRows,
): Promise<Registered> {
  const { def } = ctx;
  const registered = await runStep(ctx, "register", undefined, async (child) => {
    const identical =
      ctx.options.reuseIdenticalVersion === true
        ? await findIdenticalVersion(ctx.registry, def.register.model, trained.modelHash, ctx.lineage)
        : undefined;
    if (identical !== undefined) {
      await setTags(ctx, child.runId, [
        { key: "keel.registered_model", value: identical.name },
        { key: "keel.registered_version", value: identical.version },
        { key: "keel.reused_version", value: "true" },
      ]);
      return {
        value: {
          name: identical.name,
          version: identical.version,
          alias: def.register.alias,
          source: identical.source,
          checksum: trained.modelHash,
          reused: true,
        },
        status: "passed",
        message: `${identical.name} version ${identical.version} holds this exact model, data and config; reused`,
        cached: false,
      };
    }
    const mv = await createVersion(ctx, trained, evaluation);
    await ctx.registry.setAlias(mv.name, def.register.alias, mv.version, ctx.actor);
    if (def.register.keepTrainingData !== undefined) {
      await applyTrainingDataRetention(ctx, mv.name, def.register.keepTrainingData, ctx.clock());
    }
    const version: RegisteredVersion = {
      name: mv.name,
      version: mv.version,
      training: takeRows(ctx.frame, split.train),
      model: trained.model,
    };
    await attachTrainingProfile(ctx, version, def.register.segments);
    await ctx.options.onRegistered?.(version);
    await setTags(ctx, child.runId, [
      { key: "keel.registered_model", value: mv.name },
      { key: "keel.registered_version", value: mv.version },
    ]);
    return {
      value: {
        name: mv.name,
        version: mv.version,
        alias: def.register.alias,
        source: modelSource(ctx.runId),
        checksum: trained.modelHash,
        reused: false,
      },
      status: "passed",
      message: `registered ${mv.name} version ${mv.version} as ${def.register.alias}`,
      cached: false,
    };
  });
  await setTags(ctx, ctx.runId, [
    { key: "keel.registered_model", value: registered.name },
    { key: "keel.registered_version", value: registered.version },
  ]);
  return registered;
}

/** The model saved with the pipeline run and registered from there, with the run's lineage. */
async function createVersion(
  ctx: PipelineContext,
  trained: TrainedModel,
  evaluation: Evaluation,
): Promise<ModelVersion> {
  const { def, runId } = ctx;
  const { dataHash, configHash, codeVersion, dataPath, featureService, featureRepoVersion } = ctx.lineage;
  await logArtifact(ctx, ctx.artifactUri, "model/model.json", trained.modelBytes);
  // The exact training data, content-addressed: the version's lineage leads to its bytes.
  const dataFile = trainingDataPath(def.register.model, dataHash, ctx.trainingData.ext);
  await ctx.artifacts.putFile(dataFile, ctx.trainingData.bytes);
  const lineage: Lineage = {
    dataHash,
    configHash,
    ...(codeVersion === undefined ? {} : { codeVersion }),
    sourceRunId: runId,
    dataPath,
    ...(featureService === undefined ? {} : { featureService }),
    ...(featureRepoVersion === undefined ? {} : { featureRepoVersion: String(featureRepoVersion) }),
  };
  return ctx.registry.createModelVersion(
    {
      name: def.register.model,
      source: modelSource(runId),
      runId,
      description: `pipeline ${def.name}`,
      tags: [
        { key: "keel.pipeline", value: def.name },
        { key: TRAINING_DATA_TAGS.path, value: dataFile },
        { key: TRAINING_DATA_TAGS.sha256, value: dataHash },
        ...reviewedDecisionTags(ctx.lineage.reviewedDecisions),
        // The threshold the gates certified travels with the version: serving and monitoring decide at it.
        { key: DECISION_THRESHOLD_TAG, value: String(def.evaluate.threshold) },
        ...Object.entries(evaluation.metrics)
          .filter(([k]) => VERSION_METRICS.includes(k))
          .map(([k, v]) => ({ key: `keel.metric.${k}`, value: String(v) })),
      ],
      checksum: trained.modelHash,
      signature: trained.model.signature,
      lineage,
    },
    ctx.actor,
  );
}

/**
 * Saves a version's reference profile: its training rows' model inputs and the model's scores on
 * them, the baseline drift monitoring compares live traffic against (and per value of each
 * `segments` column, the same over that value's rows).
 */
export async function attachTrainingProfile(
  deps: ReferenceProfileDeps,
  registered: RegisteredVersion,
  segments?: readonly string[],
): Promise<{ sha256: string; bytes: number }> {
  const { name, version, training, model } = registered;
  const scores = await scoreRows(model, training);
  const profile = buildTrainingProfile(training, {
    features: model.signature.inputs.map((c) => c.name),
    scores,
    ...(segments !== undefined ? { segments } : {}),
  });
  return saveReferenceProfileJson(deps, { name, version, json: profileToJson(profile) });
}

/** A READY version of `name` holding this exact model trained from the same data and config. */
async function findIdenticalVersion(
  registry: RegistryStore,
  name: string,
  checksum: string,
  lineage: { readonly dataHash: string; readonly configHash: string },
): Promise<ModelVersion | undefined> {
  let pageToken: string | undefined;
  do {
    const page = await registry.searchModelVersions({
      filter: `name = '${name.replaceAll("'", "''")}'`,
      maxResults: 200,
      ...(pageToken === undefined ? {} : { pageToken }),
    });
    const hit = page.items.find(
      (v) =>
        v.checksum === checksum &&
        v.lineage?.dataHash === lineage.dataHash &&
        v.lineage.configHash === lineage.configHash &&
        v.status === "READY",
    );
    if (hit !== undefined) return hit;
    pageToken = page.nextPageToken;
  } while (pageToken !== undefined);
  return undefined;
}
