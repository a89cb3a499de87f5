import { postgresStores } from "../store/backends.js";
import { runTrackingStoreSuite } from "./tracking-store-suite.js";

runTrackingStoreSuite("PostgreSQL", postgresStores);
