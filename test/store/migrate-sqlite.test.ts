import { freshSqliteUri } from "./backends.js";
import { runMigrateSuite } from "./migrate-suite.js";

runMigrateSuite("SQLite", freshSqliteUri);
