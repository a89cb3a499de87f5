import { sqliteStores } from "../store/backends.js";
import { runReviewedDecisionsSuite } from "./reviewed-decisions-suite.js";

runReviewedDecisionsSuite("SQLite", sqliteStores);
