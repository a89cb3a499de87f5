export type * from "./types.js";
export { createTrackingStore } from "./sql-tracking-store.js";
export type { TrackingStoreDeps } from "./sql-tracking-store.js";
export { parseFilter, parseOrderBy } from "./filter.js";
export type { Comparison, FilterEntity, FilterOp, OrderTerm } from "./filter.js";
export { LIMITS as TRACKING_LIMITS } from "./validate.js";
export { ARTIFACTS_SCHEME, artifactStorePath } from "./artifact-uri.js";
export type { ArtifactStore } from "../store/artifacts.js";
