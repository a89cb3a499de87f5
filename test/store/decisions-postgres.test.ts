import { postgresStores } from "./backends.js";
import { runDecisionStoreSuite } from "./decision-store-suite.js";

runDecisionStoreSuite("PostgreSQL", postgresStores);
