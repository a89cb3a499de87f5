import { createHash } from "node:crypto";
import { DataIntegrityError } from "../errors.js";
import { isKeelModelJson, KeelPredictor, loadExplainer, parseKeelModel, loadPredictor } from "../learn/index.js";
import type { Predictor } from "../learn/index.js";
import type { ModelVersion } from "../registry/index.js";
import type { ExplainerLoader, ModelLoader } from "./model-pool.js";

type FetchBytes = (version: ModelVersion) => Promise<Uint8Array>;

/** The artifact's bytes, verified against the version's registered sha256. */
export async function verifiedArtifact(fetchBytes: FetchBytes, mv: ModelVersion): Promise<Uint8Array> {
  const bytes = await fetchBytes(mv);
  if (mv.checksum !== undefined && mv.checksum !== "") {
    const actual = createHash("sha256").update(bytes).digest("hex");
    if (actual !== mv.checksum) {
      throw new DataIntegrityError(
        `model ${mv.name} version ${mv.version}: artifact sha256 ${actual} does not match the registered checksum ${mv.checksum}`,
        { details: { field: "checksum", value: actual, rule: `must equal ${mv.checksum}` } },
      );
    }
  }
  return bytes;
}

/** Loader of registered versions' exact explainers (keel, XGBoost JSON, LightGBM text). */
export function artifactExplainerLoader(fetchBytes: FetchBytes): ExplainerLoader {
  return async (mv) => loadExplainer(await verifiedArtifact(fetchBytes, mv));
}

/**
 * Loader of registered versions: fetch the artifact's bytes, verify them against the version's
 * recorded sha256, then open them in whichever format they are (keel JSON, XGBoost JSON, LightGBM
 * text, ONNX).
 */
export function artifactModelLoader(fetchBytes: FetchBytes, options: { threads?: number } = {}): ModelLoader {
  // The registered signature names the inputs of a model file that carries no names of its own.
  return async (mv) =>
    openModelBytes(await verifiedArtifact(fetchBytes, mv), {
      ...options,
      ...(mv.signature === undefined ? {} : { featureNames: mv.signature.inputs.map((c) => c.name) }),
    });
}

/** Open model bytes of any supported format. */
export async function openModelBytes(
  bytes: Uint8Array,
  options: { threads?: number; featureNames?: readonly string[] } = {},
): Promise<Predictor> {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  if (bytes[i] === 0x7b) {
    // keel's own JSON format is not among loadPredictor's detected formats; check it first.
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      json = undefined;
    }
    if (json !== undefined && isKeelModelJson(json))
      return new KeelPredictor(parseKeelModel(json), options.threads === undefined ? {} : { threads: options.threads });
  }
  return loadPredictor(bytes, options);
}
