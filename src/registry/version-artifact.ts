import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { InvalidParameterError, NotFoundError } from "../errors.js";
import type { ModelVersion } from "./types.js";
import type { ArtifactStore } from "../store/index.js";

/** Model file names looked for when a version's source is a directory (an MLflow model folder). */
const MODEL_FILE = /^model\.(json|txt|onnx)$|\.(json|txt|onnx)$/;

export interface ArtifactSourceOptions {
  readonly artifacts: ArtifactStore;
  /** Resolves `runs:/<run_id>/<path>` sources to the run's artifact URI. */
  readonly runArtifactUri?: (runId: string) => Promise<string>;
}

/**
 * Where a registered version's model bytes come from, in order: the content-addressed blob named
 * by its checksum; a `runs:/`, `mlflow-artifacts:/` or relative source in the artifact tree (a
 * directory resolves to the model file inside it); an absolute local file path.
 */
export function artifactFetcher(options: ArtifactSourceOptions): (version: ModelVersion) => Promise<Uint8Array> {
  const { artifacts } = options;
  return async (mv) => {
    if (mv.checksum !== undefined && /^[0-9a-f]{64}$/.test(mv.checksum) && (await artifacts.hasBlob(mv.checksum))) {
      return artifacts.getBlob(mv.checksum);
    }
    const source = mv.source;
    if (source.startsWith("file:")) return new Uint8Array(await readFile(fileURLToPath(source)));
    if (path.isAbsolute(source)) return new Uint8Array(await readFile(source));
    let treePath: string;
    const runs = /^runs:\/+([^/]+)\/?(.*)$/.exec(source);
    if (runs) {
      if (options.runArtifactUri === undefined) {
        throw new InvalidParameterError(
          `model ${mv.name} version ${mv.version}: source ${source} needs the tracking store`,
        );
      }
      const base = await options.runArtifactUri(runs[1] as string);
      treePath = `${stripScheme(base)}/${runs[2] ?? ""}`;
    } else {
      treePath = stripScheme(source);
    }
    treePath = treePath.replace(/\/+$/, "");
    const entries = await artifacts.list(treePath).catch(() => []);
    if (entries.length === 0) return artifacts.getFile(treePath);
    const files = entries.filter((e) => !e.isDir && MODEL_FILE.test(path.posix.basename(e.path)));
    const preferred =
      files.find((e) => /^model\./.test(path.posix.basename(e.path))) ?? (files.length === 1 ? files[0] : undefined);
    if (preferred === undefined) {
      throw new NotFoundError(
        `model ${mv.name} version ${mv.version}: no single model file (model.json, model.txt, model.onnx) under ${treePath}`,
        { details: { field: "source", value: source, rule: "must name a model file or a folder holding one" } },
      );
    }
    return artifacts.getFile(preferred.path);
  };
}

function stripScheme(uri: string): string {
  return uri
    .replace(/^mlflow-artifacts:\/*/, "")
    .replace(/^file:\/*/, "/")
    .replace(/^\/+/, "");
}
