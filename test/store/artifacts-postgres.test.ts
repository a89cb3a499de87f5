import { postgresStores } from "./backends.js";
import { runArtifactStoreSuite } from "./artifact-store-suite.js";

runArtifactStoreSuite("PostgreSQL", postgresStores, (t) => t.artifactRoot);
