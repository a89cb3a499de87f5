import { sqliteStores } from "./backends.js";
import { runDecisionStoreSuite } from "./decision-store-suite.js";

runDecisionStoreSuite("SQLite", sqliteStores);
