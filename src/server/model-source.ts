import type { Signature } from "../data/index.js";
import { NotFoundError } from "../errors.js";
import type { Stores } from "../open-stores.js";
import {
  artifactFetcher,
  mlflowFolderOf,
  signatureFromInputExample,
  type ArtifactSourceOptions,
  type MlflowFolder,
} from "../registry/index.js";
import type { Tag } from "../tracking/index.js";

/** Where the server finds a version's source: the artifact store, runs and MLflow 3 logged models. */
export function artifactSourceOptions(stores: Pick<Stores, "artifacts" | "tracking">): ArtifactSourceOptions {
  return {
    artifacts: stores.artifacts,
    runArtifactUri: async (runId) => (await stores.tracking.getRun(runId)).info.artifactUri,
    loggedModelArtifactUri: async (modelId) => (await stores.tracking.getLoggedModel(modelId)).artifactUri,
  };
}

/** The artifact fetcher over the server's stores. */
export function storeArtifactFetcher(
  stores: Pick<Stores, "artifacts" | "tracking">,
): ReturnType<typeof artifactFetcher> {
  return artifactFetcher(artifactSourceOptions(stores));
}

async function exampleSignature(folder: MlflowFolder): Promise<Signature | undefined> {
  const example = folder.mlmodel.inputExample;
  if (example === undefined || folder.mlmodel.tensorInputs !== undefined) return undefined;
  const bytes = await folder.read(example).catch((e: unknown) => {
    if (e instanceof NotFoundError || (e as { code?: unknown }).code === "ENOENT") return undefined;
    throw e;
  });
  if (bytes === undefined) return undefined;
  return signatureFromInputExample(
    JSON.parse(new TextDecoder().decode(bytes)) as unknown,
    `${folder.where}/${example}`,
  );
}

/**
 * What a new version takes from the MLflow model directory its source names: the signature
 * (`MLmodel`'s column-based one, else its input example's), and tags naming the flavor served —
 * or `keel.servable=false` with the reason, for flavors keel cannot run. Nothing for other sources.
 */
export async function mlflowVersionFields(
  stores: Pick<Stores, "artifacts" | "tracking">,
  source: string,
): Promise<{ signature?: Signature; tags: Tag[] }> {
  const folder = await mlflowFolderOf(artifactSourceOptions(stores), source).catch((e: unknown) => {
    // A source that cannot be resolved (an unknown run or logged model) registers as MLflow lets it.
    if (e instanceof NotFoundError) return undefined;
    throw e;
  });
  if (folder === undefined) return { tags: [] };
  const m = folder.mlmodel;
  const signature = m.signature ?? (await exampleSignature(folder));
  const tags: Tag[] =
    "notServable" in m.serving
      ? [
          { key: "keel.mlflow_flavor", value: m.flavors.join(",") },
          { key: "keel.servable", value: "false" },
          { key: "keel.not_servable_reason", value: m.serving.notServable },
        ]
      : [{ key: "keel.mlflow_flavor", value: m.serving.flavor }];
  if (m.modelId !== undefined) tags.push({ key: "keel.mlflow_model_id", value: m.modelId });
  return { ...(signature === undefined ? {} : { signature }), tags };
}
