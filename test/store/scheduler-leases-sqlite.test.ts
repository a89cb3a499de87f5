import { sqliteStores } from "./backends.js";
import { runLeaseStoreSuite } from "./scheduler-leases-suite.js";

runLeaseStoreSuite("SQLite", sqliteStores);
