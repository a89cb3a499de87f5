import { postgresStores } from "./backends.js";
import { runUserStoreSuite } from "./user-store-suite.js";

runUserStoreSuite("PostgreSQL", postgresStores);
