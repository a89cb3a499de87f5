import { sqliteStores } from "./backends.js";
import { runObservationStoreSuite } from "./observation-store-suite.js";

runObservationStoreSuite("SQLite", sqliteStores);
