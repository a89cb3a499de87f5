import { postgresStores } from "./backends.js";
import { runLabelStoreSuite } from "./label-store-suite.js";

runLabelStoreSuite("PostgreSQL", postgresStores);
