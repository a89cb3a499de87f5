/**
 * Where a registered version's reference profile is kept: its JSON as a content-addressed blob in
 * the artifact store, whose sha256 is recorded on the version as the tag `keel.reference_profile`,
 * so monitoring finds (and verifies) it from the version alone. The profile itself is built and
 * read by stats/; this module only stores and fetches its JSON.
 */
import { InvalidParameterError, NotFoundError } from "../errors.js";
import type { ArtifactStore } from "../store/index.js";
import type { RegistryStore } from "./types.js";

/** Version tag holding the sha256 of the version's reference profile blob. */
export const REFERENCE_PROFILE_TAG = "keel.reference_profile";

export interface ReferenceProfileDeps {
  readonly registry: RegistryStore;
  readonly artifacts: ArtifactStore;
  /** Who attaches it (recorded in the audit log with the tag). */
  readonly actor?: { readonly userId: string };
}

/** Stores the profile's JSON and records it on the version; returns the blob's sha256. Saving again replaces it. */
export async function saveReferenceProfileJson(
  deps: ReferenceProfileDeps,
  input: { readonly name: string; readonly version: string; readonly json: unknown },
): Promise<{ sha256: string; bytes: number }> {
  // Refuse an unknown version before writing anything.
  await deps.registry.getModelVersion(input.name, input.version);
  const bytes = new TextEncoder().encode(JSON.stringify(input.json));
  const blob = await deps.artifacts.putBlob(bytes);
  await deps.registry.setModelVersionTag(input.name, input.version, REFERENCE_PROFILE_TAG, blob.sha256, deps.actor);
  return { sha256: blob.sha256, bytes: bytes.length };
}

/** The version's reference profile JSON, checksum-verified; NotFoundError when the version has none. */
export async function loadReferenceProfileJson(
  deps: Pick<ReferenceProfileDeps, "registry" | "artifacts">,
  name: string,
  version: string,
): Promise<unknown> {
  const mv = await deps.registry.getModelVersion(name, version);
  const sha256 = mv.tags.find((t) => t.key === REFERENCE_PROFILE_TAG)?.value;
  if (sha256 === undefined) {
    throw new NotFoundError(
      `model ${name} version ${version} has no reference profile (tag ${REFERENCE_PROFILE_TAG}): register it with its training data`,
      { details: { field: "version", value: version, rule: `a version tagged ${REFERENCE_PROFILE_TAG}` } },
    );
  }
  const bytes = await deps.artifacts.getBlob(sha256);
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  } catch (cause) {
    throw new InvalidParameterError(`reference profile ${sha256} of ${name} v${version} is not JSON`, {
      cause,
      details: { field: REFERENCE_PROFILE_TAG, value: sha256 },
    });
  }
}
