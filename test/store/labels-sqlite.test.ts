import { sqliteStores } from "./backends.js";
import { runLabelStoreSuite } from "./label-store-suite.js";

runLabelStoreSuite("SQLite", sqliteStores);
