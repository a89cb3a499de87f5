/**
 * The inference log: one record per scored request, written by serving, read by monitoring.
 * Appends are batched; `durability: "sync"` resolves only once the records are on disk.
 */
export type OutputValues = Readonly<Record<string, string | number | boolean | null>>;

/** A shadow model's answer for the row of the record it rides in. */
export interface ShadowScore {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly outputs: OutputValues;
  readonly latencyMs: number;
}

/** One input's share of a decision: its value and its SHAP contribution to the margin. */
export interface ReasonCode {
  readonly feature: string;
  readonly value: string | number | boolean | null;
  readonly contribution: number;
}

export type FeatureValues = Readonly<Record<string, string | number | boolean | null>>;

export interface InferenceRecord {
  readonly requestId: string;
  /** Epoch milliseconds when the request was received. */
  readonly time: number;
  readonly endpoint: string;
  readonly modelName: string;
  readonly modelVersion: string;
  /** Which route served it: "champion", "challenger", "shadow", "canary", "fallback", "direct". */
  readonly route: string;
  /** Business key for joining delayed labels (e.g. applicant id), when the request carried one. */
  readonly entityId?: string;
  /** Raw input features of the row, as received. */
  readonly features: Readonly<Record<string, string | number | boolean | null>>;
  /** Model outputs of the row, e.g. `{ score: 0.13, decision: "approve" }`. */
  readonly outputs: OutputValues;
  readonly latencyMs: number;
  /**
   * Written only: shadow models' answers on the same row, stored with it so a shadow costs no
   * record of its own (features are not stored twice). Readers never see this field: `query`
   * returns each shadow answer as a record of its own, route "shadow", with the row's request id,
   * time, endpoint, entity and features.
   */
  readonly shadows?: readonly ShadowScore[];
  /**
   * Decision-record fields (docs/decisions.md), set by serving: the caller's token name, the
   * scoring artifact's sha256, the decision threshold, the inputs as scored (only when they differ
   * from `features`), and the top reason codes when the decision was explained.
   */
  readonly caller?: string;
  readonly artifactSha256?: string;
  readonly threshold?: number;
  readonly scored?: FeatureValues;
  readonly reasons?: readonly ReasonCode[];
}

/**
 * Route of the record of a request the endpoint refused (input the signature or a business limit
 * does not allow): the raw inputs and, in `outputs.refused`, why. An event, not a prediction.
 */
export const REFUSED_ROUTE = "refused";

/**
 * Whether a record is a prediction a client was answered with: not a shadow's answer (never
 * returned), not a `canary_rollback` event record and not a refused request.
 */
export function isServedPrediction(r: InferenceRecord): boolean {
  return r.route !== "shadow" && r.route !== "canary_rollback" && r.route !== REFUSED_ROUTE;
}

/**
 * What tells records apart: a request id alone does not, since a request's shadow records share
 * it (paging by time uses this to skip records already read).
 */
export function inferenceRecordKey(r: InferenceRecord): string {
  return `${r.requestId}\u0000${r.route}\u0000${r.modelName}\u0000${r.modelVersion}`;
}

export interface InferenceQuery {
  readonly endpoint?: string | undefined;
  readonly modelName?: string | undefined;
  readonly modelVersion?: string | undefined;
  readonly route?: string | undefined;
  /** Inclusive lower bound on `time`. */
  readonly from?: number | undefined;
  /** Exclusive upper bound on `time`. */
  readonly to?: number | undefined;
  readonly requestIds?: readonly string[] | undefined;
  readonly entityId?: string | undefined;
  /** At most this many records (default 10,000), in order of time then request id. */
  readonly limit?: number | undefined;
}

export interface AppendOptions {
  /** sync: written out now, resolving once on disk; async (default): written with the next batch. */
  readonly durability?: "sync" | "async";
  /**
   * An async append resolves once its records are buffered, unless this is set: then once their
   * batch has committed, rejecting when it failed (serving counts records written only then).
   */
  readonly awaitCommit?: boolean;
}

/**
 * A log that keeps the records of a failed async write to write them again reports it: `held`
 * after each failed attempt (its error, the records now held and when it tries again), `resumed`
 * once a write succeeds again (every held record written, in order).
 */
export type WriteRetryEvent =
  | { readonly kind: "held"; readonly error: unknown; readonly heldRecords: number; readonly retryInMs: number }
  | { readonly kind: "resumed"; readonly written: number };

export interface InferenceLog {
  append(records: readonly InferenceRecord[], options?: AppendOptions): Promise<void>;
  query(query: InferenceQuery): Promise<readonly InferenceRecord[]>;
  /** Write out whatever is buffered. */
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Listen for failed async writes held for retry, and for the write that resumes them. */
  onWriteRetry?(listener: (event: WriteRetryEvent) => void): void;
}
