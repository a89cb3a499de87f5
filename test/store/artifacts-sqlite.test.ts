import { sqliteStores } from "./backends.js";
import { runArtifactStoreSuite } from "./artifact-store-suite.js";

runArtifactStoreSuite("SQLite", sqliteStores, (t) => t.artifactRoot);
