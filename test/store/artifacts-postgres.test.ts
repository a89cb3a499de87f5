import { postgresStores } from "./backends.js";
import { fsArtifacts } from "./artifact-fixtures.js";
import { runArtifactStoreSuite } from "./artifact-store-suite.js";

runArtifactStoreSuite("the file system, index in PostgreSQL", fsArtifacts(postgresStores));
