import { sqliteStores } from "./backends.js";
import { runTraceStoreSuite } from "./trace-store-suite.js";

runTraceStoreSuite("SQLite", sqliteStores);
