import { postgresStores } from "./backends.js";
import { runChainSealSuite } from "./chain-seal-suite.js";

runChainSealSuite("PostgreSQL", postgresStores);
