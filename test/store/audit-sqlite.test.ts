import { sqliteStores } from "./backends.js";
import { runAuditSuite } from "./audit-suite.js";

runAuditSuite("SQLite", sqliteStores);
