import { runAlertStoreSuite } from "./alert-store-suite.js";
import { postgresStores } from "./backends.js";

runAlertStoreSuite("PostgreSQL", postgresStores);
