/** Feast's feature-server JSON shapes, as keel's `/get-online-features`, `/push` and `/materialize*` speak them. */
export type FeatureValueJson = number | string | boolean | null;

export interface GetOnlineFeaturesRequestJson {
  /** `view:feature` (or view) names; or `feature_service`. */
  features?: string[];
  feature_service?: string;
  /** One array per join key (and request field), one element per entity. */
  entities: Record<string, FeatureValueJson[]>;
  full_feature_names?: boolean;
}

export interface OnlineFeaturesJson {
  metadata: { feature_names: string[] };
  results: {
    values: FeatureValueJson[];
    statuses: ("PRESENT" | "NOT_FOUND" | "OUTSIDE_MAX_AGE")[];
    event_timestamps: string[];
  }[];
}

export interface PushFeaturesRequestJson {
  push_source_name: string;
  /** Column name → values; the source's timestamp column as ISO-8601 text or epoch ms. */
  df: Record<string, FeatureValueJson[]>;
  to?: "online" | "offline" | "online_and_offline";
}

export interface MaterializedJson {
  materialized: { featureView: string; start: number; end: number; rows: number }[];
}
