import { postgresStores } from "./backends.js";
import { runTraceStoreSuite } from "./trace-store-suite.js";

runTraceStoreSuite("PostgreSQL", postgresStores);
