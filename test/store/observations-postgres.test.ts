import { postgresStores } from "./backends.js";
import { runObservationStoreSuite } from "./observation-store-suite.js";

runObservationStoreSuite("PostgreSQL", postgresStores);
