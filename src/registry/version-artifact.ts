import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { InvalidParameterError, NotFoundError } from "../errors.js";
import { MLMODEL_FILE, parseMlmodel, servableModel, type MlflowModelFile } from "./mlflow-model.js";
import type { ModelVersion } from "./types.js";
import type { ArtifactStore } from "../store/index.js";

/** Model file names looked for when a version's source is a directory (an MLflow model folder). */
const MODEL_FILE = /^model\.(json|txt|onnx)$|\.(json|txt|onnx)$/;

export interface ArtifactSourceOptions {
  readonly artifacts: ArtifactStore;
  /** Resolves `runs:/<run_id>/<path>` sources to the run's artifact URI. */
  readonly runArtifactUri?: (runId: string) => Promise<string>;
  /** Resolves `models:/m-<id>` sources (MLflow 3 logged models) to the logged model's artifact URI. */
  readonly loggedModelArtifactUri?: (modelId: string) => Promise<string>;
}

/** An MLflow model directory a version's source names: its parsed `MLmodel` and a reader of its files. */
export interface MlflowFolder {
  /** The source as errors name it. */
  readonly where: string;
  readonly mlmodel: MlflowModelFile;
  /** A file of the folder, by its path relative to the folder. */
  read(relative: string): Promise<Uint8Array>;
}

/**
 * The MLflow model directory a source names (a local folder, `file:`, `runs:/`, `models:/m-…`,
 * `mlflow-artifacts:/` or a relative artifact path), or undefined when the source is not a folder
 * holding an `MLmodel` file.
 */
export async function mlflowFolderOf(
  options: ArtifactSourceOptions,
  source: string,
): Promise<MlflowFolder | undefined> {
  const local = source.startsWith("file:") ? fileURLToPath(source) : path.isAbsolute(source) ? source : undefined;
  let read: (relative: string) => Promise<Uint8Array>;
  if (local !== undefined) {
    read = async (relative) => new Uint8Array(await readFile(path.join(local, relative)));
  } else {
    const treePath = await artifactTreePath(options, source, source);
    const entries = await options.artifacts.list(treePath).catch(() => []);
    if (!entries.some((e) => !e.isDir && path.posix.basename(e.path) === MLMODEL_FILE)) return undefined;
    read = (relative) => options.artifacts.getFile(`${treePath}/${relative}`);
  }
  const inside = read;
  // Paths come from the MLmodel file: none may leave the folder.
  read = (relative) => {
    if (path.posix.isAbsolute(relative) || relative.split(/[\\/]/).includes("..")) {
      return Promise.reject(
        new InvalidParameterError(`${source}: ${JSON.stringify(relative)} must be a path inside the model folder`, {
          details: { field: "path", value: relative, rule: "relative, without .." },
        }),
      );
    }
    return inside(relative);
  };
  let text: string;
  try {
    text = new TextDecoder().decode(await read(MLMODEL_FILE));
  } catch {
    return undefined;
  }
  return { where: source, mlmodel: parseMlmodel(text, source), read };
}

/**
 * Where a registered version's model bytes come from, in order: the content-addressed blob named
 * by its checksum; a `runs:/`, `mlflow-artifacts:/` or relative source in the artifact tree (a
 * directory resolves to the model file inside it); an absolute local file path.
 */
export function artifactFetcher(options: ArtifactSourceOptions): (version: ModelVersion) => Promise<Uint8Array> {
  const { artifacts } = options;
  const byChecksum = async (mv: ModelVersion): Promise<Uint8Array | undefined> =>
    mv.checksum !== undefined && /^[0-9a-f]{64}$/.test(mv.checksum) && (await artifacts.hasBlob(mv.checksum))
      ? artifacts.getBlob(mv.checksum)
      : undefined;
  return async (mv) => {
    const where = `model ${mv.name} version ${mv.version}`;
    // An MLflow folder is read through its MLmodel first, so an unservable flavor is named as such.
    let folder: MlflowFolder | undefined;
    try {
      folder = await mlflowFolderOf(options, mv.source);
    } catch (e) {
      // The source cannot be resolved (an unknown run): the checksum's blob still serves.
      const blob = await byChecksum(mv);
      if (blob !== undefined) return blob;
      throw e;
    }
    if (folder !== undefined) {
      const { modelFile } = servableModel(folder.mlmodel, `${where} (${mv.source})`);
      return (await byChecksum(mv)) ?? folder.read(modelFile);
    }
    const blob = await byChecksum(mv);
    if (blob !== undefined) return blob;
    const source = mv.source;
    if (source.startsWith("file:")) return new Uint8Array(await readFile(fileURLToPath(source)));
    if (path.isAbsolute(source)) return new Uint8Array(await readFile(source));
    const treePath = await artifactTreePath(options, source, where);
    const entries = await artifacts.list(treePath).catch(() => []);
    if (entries.length === 0) return artifacts.getFile(treePath);
    const files = entries.filter((e) => !e.isDir && MODEL_FILE.test(path.posix.basename(e.path)));
    const preferred =
      files.find((e) => /^model\./.test(path.posix.basename(e.path))) ?? (files.length === 1 ? files[0] : undefined);
    if (preferred === undefined) {
      throw new NotFoundError(`${where}: no single model file (model.json, model.txt, model.onnx) under ${treePath}`, {
        details: { field: "source", value: source, rule: "must name a model file or a folder holding one" },
      });
    }
    return artifacts.getFile(preferred.path);
  };
}

/** The artifact-tree path of a `runs:/`, `models:/m-…`, `mlflow-artifacts:/` or relative source. */
async function artifactTreePath(options: ArtifactSourceOptions, source: string, where: string): Promise<string> {
  let treePath: string;
  const runs = /^runs:\/+([^/]+)\/?(.*)$/.exec(source);
  const logged = /^models:\/+(m-[^/]+)\/?(.*)$/.exec(source);
  if (runs) {
    if (options.runArtifactUri === undefined) {
      throw new InvalidParameterError(`${where}: source ${source} needs the tracking store`);
    }
    treePath = `${stripScheme(await options.runArtifactUri(runs[1] as string))}/${runs[2] ?? ""}`;
  } else if (logged) {
    if (options.loggedModelArtifactUri === undefined) {
      throw new InvalidParameterError(`${where}: source ${source} needs the tracking store`);
    }
    treePath = `${stripScheme(await options.loggedModelArtifactUri(logged[1] as string))}/${logged[2] ?? ""}`;
  } else {
    treePath = stripScheme(source);
  }
  return treePath.replace(/\/+$/, "");
}

function stripScheme(uri: string): string {
  return uri
    .replace(/^mlflow-artifacts:\/*/, "")
    .replace(/^file:\/*/, "/")
    .replace(/^\/+/, "");
}
