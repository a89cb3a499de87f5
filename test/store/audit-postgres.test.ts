import { postgresStores } from "./backends.js";
import { runAuditSuite } from "./audit-suite.js";

runAuditSuite("PostgreSQL", postgresStores);
