import { sqliteStores } from "../store/backends.js";
import { runTrackingStoreSuite } from "./tracking-store-suite.js";

runTrackingStoreSuite("SQLite", sqliteStores);
