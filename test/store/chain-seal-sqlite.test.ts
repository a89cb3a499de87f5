import { sqliteStores } from "./backends.js";
import { runChainSealSuite } from "./chain-seal-suite.js";

runChainSealSuite("SQLite", sqliteStores);
