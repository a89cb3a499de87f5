import type { MetadataDb } from "../store/index.js";
import { aliasMethods } from "./sql/aliases.js";
import { modelMethods } from "./sql/models.js";
import { registryContext, type RegistryStoreDeps } from "./sql/shared.js";
import { stageMethods } from "./sql/stages.js";
import { versionMethods } from "./sql/versions.js";
import { webhookMethods } from "./sql/webhooks.js";
import type { RegistryStore } from "./types.js";

export { canonicalStage, checkAlias } from "./sql/shared.js";
export type { RegistryStoreDeps } from "./sql/shared.js";

/**
 * The RegistryStore over the metadata database, with MLflow's semantics (deleted versions keep
 * their number; aliases; legacy stages with archive_existing_versions) plus alias history and
 * webhooks. Each mutation commits with its audit row; webhooks go out after the commit.
 */
export function createRegistryStore(metadata: MetadataDb, deps: RegistryStoreDeps = {}): RegistryStore {
  const ctx = registryContext(metadata, deps);
  return {
    ...modelMethods(ctx),
    ...versionMethods(ctx),
    ...stageMethods(ctx),
    ...aliasMethods(ctx),
    ...webhookMethods(ctx),
  };
}
