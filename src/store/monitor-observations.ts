import type { ObservationKind } from "../wire/index.js";
/**
 * Monitoring results as a time series: one observation per (model, window, kind, metric, feature,
 * segment). Monitor jobs (drift, data quality, prediction drift) and delayed-label performance write
 * them; alert rules and the API read them.
 */
export type { ObservationKind } from "../wire/index.js";

export interface MonitorObservation {
  readonly modelName: string;
  /** The model version the window's predictions came from; absent when the window spans versions. */
  readonly modelVersion?: string;
  /** Serving endpoint the predictions were made at, when known. */
  readonly endpoint?: string;
  /** Epoch milliseconds, inclusive. */
  readonly windowStart: number;
  /** Epoch milliseconds, exclusive. */
  readonly windowEnd: number;
  readonly kind: ObservationKind;
  /** What was measured, e.g. `psi`, `ks_p_value`, `null_rate`, `auc_7d`, `demographic_parity_gap`. */
  readonly metric: string;
  /** The input column it concerns, when it concerns one. */
  readonly feature?: string;
  /** The segment it concerns, as `column=value`, when it concerns one. */
  readonly segment?: string;
  readonly value: number;
  /** Band the value falls in, e.g. `stable`, `minor`, `moderate`, `major` for PSI. */
  readonly severity?: string;
  /** Supporting numbers (sample sizes, reference value, bins); small JSON. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface ObservationQuery {
  readonly modelName?: string;
  readonly modelVersion?: string;
  readonly kind?: ObservationKind;
  readonly metric?: string;
  readonly feature?: string;
  readonly segment?: string;
  /** Inclusive lower bound on `windowStart`. */
  readonly from?: number;
  /** Exclusive upper bound on `windowStart`. */
  readonly to?: number;
  /** Default 10,000, at most 100,000. */
  readonly limit?: number;
  /** `asc` (default): oldest window first; `desc`: newest first (e.g. the latest window's values). */
  readonly order?: "asc" | "desc";
}

export interface ObservationStore {
  /**
   * Writes in one transaction. An observation with the key of a stored one (model, version,
   * endpoint, window, kind, metric, feature, segment) replaces it, so re-running a window is idempotent.
   */
  append(observations: readonly MonitorObservation[]): Promise<void>;
  /** Ordered by `windowStart`, then metric, feature and segment (all reversed for `order: "desc"`). */
  query(query: ObservationQuery): Promise<readonly MonitorObservation[]>;
}
