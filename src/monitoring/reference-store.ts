/**
 * The ReferenceProfile saved with a registered model version: the profile's JSON is stored as a
 * content-addressed blob in the artifact store and its sha256 is recorded on the version as the
 * tag `keel.reference_profile`, so monitoring finds (and verifies) it from the version alone.
 */
import type { Frame } from "../data/index.js";
import { InvalidParameterError, NotFoundError } from "../errors.js";
import type { RegistryStore } from "../registry/types.js";
import type { ArtifactStore } from "../store/artifacts.js";
import { profileFromJson, profileToJson } from "./profile-json.js";
import { buildReferenceProfile } from "./reference-profile.js";
import type { ProfileOptions, ReferenceProfile } from "./reference-profile.js";

/** Version tag holding the sha256 of the version's reference profile blob. */
export const REFERENCE_PROFILE_TAG = "keel.reference_profile";

export interface ReferenceProfileDeps {
  readonly registry: RegistryStore;
  readonly artifacts: ArtifactStore;
  /** Who attaches it (recorded in the audit log with the tag). */
  readonly actor?: { readonly userId: string };
}

/** Stores `profile` and records it on the version; returns the blob's sha256. Attaching again replaces it. */
export async function attachReferenceProfile(
  deps: ReferenceProfileDeps,
  input: { readonly name: string; readonly version: string; readonly profile: ReferenceProfile },
): Promise<{ sha256: string; bytes: number }> {
  // Refuse an unknown version before writing anything.
  await deps.registry.getModelVersion(input.name, input.version);
  const bytes = new TextEncoder().encode(JSON.stringify(profileToJson(input.profile)));
  const blob = await deps.artifacts.putBlob(bytes);
  await deps.registry.setModelVersionTag(input.name, input.version, REFERENCE_PROFILE_TAG, blob.sha256, deps.actor);
  return { sha256: blob.sha256, bytes: bytes.length };
}

/** The version's reference profile, checksum-verified; NotFoundError when the version has none. */
export async function loadReferenceProfile(
  deps: Pick<ReferenceProfileDeps, "registry" | "artifacts">,
  name: string,
  version: string,
): Promise<ReferenceProfile> {
  const mv = await deps.registry.getModelVersion(name, version);
  const sha256 = mv.tags.find((t) => t.key === REFERENCE_PROFILE_TAG)?.value;
  if (sha256 === undefined) {
    throw new NotFoundError(
      `model ${name} version ${version} has no reference profile (tag ${REFERENCE_PROFILE_TAG}): register it with its training data`,
      { details: { field: "version", value: version, rule: `a version tagged ${REFERENCE_PROFILE_TAG}` } },
    );
  }
  const bytes = await deps.artifacts.getBlob(sha256);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new InvalidParameterError(`reference profile ${sha256} of ${name} v${version} is not JSON`, {
      cause,
      details: { field: REFERENCE_PROFILE_TAG, value: sha256 },
    });
  }
  return profileFromJson(json);
}

/**
 * The profile of a model's training data: its input columns (`features`, in the model's order)
 * and the model's scores on the same rows as the prediction distribution. Columns of `frame` not
 * in `features` (target, row id, left-out columns) are not profiled.
 */
export function buildTrainingProfile(
  frame: Frame,
  input: { readonly features: readonly string[]; readonly scores?: Float64Array } & Omit<
    ProfileOptions,
    "scores" | "binsFrom"
  >,
): ReferenceProfile {
  const columns = input.features.map((name) => {
    const c = frame.columns.find((col) => col.name === name);
    if (c === undefined) {
      throw new InvalidParameterError(`feature "${name}" is not a column of the training data`, {
        details: { field: "features", value: name, rule: "a column of the data" },
      });
    }
    return c;
  });
  const { features: _features, ...options } = input;
  return buildReferenceProfile({ nRows: frame.nRows, columns }, options);
}
