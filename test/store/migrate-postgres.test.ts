import { freshPostgresUri } from "./backends.js";
import { runMigrateSuite } from "./migrate-suite.js";

runMigrateSuite("PostgreSQL", freshPostgresUri);
