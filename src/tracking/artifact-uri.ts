import { InvalidParameterError } from "../errors.js";

/** The scheme of run and model artifact URIs kept in keel's artifact store. */
export const ARTIFACTS_SCHEME = "mlflow-artifacts:";

/** The artifact-store path behind an `mlflow-artifacts:/a/b` URI (`a/b`). */
export function artifactStorePath(uri: string): string {
  if (!uri.startsWith(ARTIFACTS_SCHEME)) {
    throw new InvalidParameterError(
      `artifact uri ${JSON.stringify(uri)} is not in keel's artifact store (only ${ARTIFACTS_SCHEME}/... is)`,
    );
  }
  return uri.slice(ARTIFACTS_SCHEME.length).replace(/^\/+/, "").replace(/\/+$/, "");
}
