import type { Clock } from "../runtime/index.js";
import type { MetadataDb } from "../store/index.js";
import { datasetMethods } from "./sql/datasets.js";
import { experimentMethods } from "./sql/experiments.js";
import { loggedModelMethods } from "./sql/logged-models.js";
import { runDataMethods } from "./sql/run-data.js";
import { runMethods } from "./sql/runs.js";
import { trackingContext } from "./sql/shared.js";
import type { TrackingStore } from "./types.js";

export interface TrackingStoreDeps {
  /** Epoch milliseconds; injectable so tests control time. */
  readonly clock?: Clock;
}

/**
 * The TrackingStore over the metadata database (SQLite or PostgreSQL), with MLflow's semantics.
 * Every mutation runs in one transaction together with its audit-log row.
 */
export function createTrackingStore(metadata: MetadataDb, deps: TrackingStoreDeps = {}): TrackingStore {
  const ctx = trackingContext(metadata, deps.clock ?? Date.now);
  return {
    ...experimentMethods(ctx),
    ...runMethods(ctx),
    ...runDataMethods(ctx),
    ...datasetMethods(ctx),
    ...loggedModelMethods(ctx),
  };
}
