import { postgresStores } from "../store/backends.js";
import { runRegistryStoreSuite } from "./registry-store-suite.js";

runRegistryStoreSuite("PostgreSQL", postgresStores);
