import { sqliteStores } from "../store/backends.js";
import { runRegistryStoreSuite } from "./registry-store-suite.js";

runRegistryStoreSuite("SQLite", sqliteStores);
