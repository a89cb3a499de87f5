import { sqliteStores } from "./backends.js";
import { runUserStoreSuite } from "./user-store-suite.js";

runUserStoreSuite("SQLite", sqliteStores);
