import { postgresStores } from "../store/backends.js";
import { runReviewedDecisionsSuite } from "./reviewed-decisions-suite.js";

runReviewedDecisionsSuite("PostgreSQL", postgresStores);
