import { runAlertStoreSuite } from "./alert-store-suite.js";
import { sqliteStores } from "./backends.js";

runAlertStoreSuite("SQLite", sqliteStores);
