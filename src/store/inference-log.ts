/**
 * The inference log: one record per scored request, written by serving, read by monitoring.
 * Appends are batched; `durability: "sync"` resolves only once the records are on disk.
 */
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
  readonly outputs: Readonly<Record<string, string | number | boolean | null>>;
  readonly latencyMs: number;
}

export interface InferenceQuery {
  readonly endpoint?: string;
  readonly modelName?: string;
  readonly modelVersion?: string;
  readonly route?: string;
  /** Inclusive lower bound on `time`. */
  readonly from?: number;
  /** Exclusive upper bound on `time`. */
  readonly to?: number;
  readonly requestIds?: readonly string[];
  readonly entityId?: string;
  readonly limit?: number;
}

export interface InferenceLog {
  append(records: readonly InferenceRecord[], options?: { durability?: "sync" | "async" }): Promise<void>;
  query(query: InferenceQuery): Promise<readonly InferenceRecord[]>;
  /** Write out whatever is buffered. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
