/**
 * The ReferenceProfile saved with a registered model version, typed: stats/ builds and reads the
 * profile's JSON, registry/ stores it with the version.
 */
import { loadReferenceProfileJson, saveReferenceProfileJson, type ReferenceProfileDeps } from "../registry/index.js";
import type { ReferenceProfile } from "../stats/index.js";
import { profileFromJson, profileToJson } from "../stats/index.js";

/** Stores `profile` and records it on the version; returns the blob's sha256. Attaching again replaces it. */
export async function attachReferenceProfile(
  deps: ReferenceProfileDeps,
  input: { readonly name: string; readonly version: string; readonly profile: ReferenceProfile },
): Promise<{ sha256: string; bytes: number }> {
  return saveReferenceProfileJson(deps, {
    name: input.name,
    version: input.version,
    json: profileToJson(input.profile),
  });
}

/** The version's reference profile, checksum-verified; NotFoundError when the version has none. */
export async function loadReferenceProfile(
  deps: Pick<ReferenceProfileDeps, "registry" | "artifacts">,
  name: string,
  version: string,
): Promise<ReferenceProfile> {
  return profileFromJson(await loadReferenceProfileJson(deps, name, version));
}
