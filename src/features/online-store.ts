/**
 * The online store: the latest feature row of every entity, per feature view, for low-latency
 * reads. Backends store and return rows; TTL is enforced by the reader (`online.ts`), the same way
 * for every backend.
 */
export type FeatureValue = number | string | boolean | null;

/** One entity's row of one feature view. */
export interface OnlineRow {
  /** `entityKey(joinKeyValues)`. */
  readonly entityKey: string;
  /** Event time of the row, epoch milliseconds. */
  readonly eventTime: number;
  readonly values: Readonly<Record<string, FeatureValue>>;
}

export interface StoredOnlineRow {
  readonly eventTime: number;
  readonly values: Readonly<Record<string, FeatureValue>>;
}

export interface OnlineStore {
  /**
   * Writes rows of `view`. A stored row is replaced unless it is newer than the written one, so a
   * write repeated (or replayed after a crash) changes nothing. On SQLite all batches commit
   * together or not at all; on Redis each batch commits atomically.
   */
  write(view: string, batches: AsyncIterable<readonly OnlineRow[]> | Iterable<readonly OnlineRow[]>): Promise<number>;
  /** The stored rows of `view` for `entityKeys`, in order; undefined where there is none. */
  read(view: string, entityKeys: readonly string[]): Promise<(StoredOnlineRow | undefined)[]>;
  close(): Promise<void>;
}

/**
 * The store key of an entity from its join-key values, in the view's join-key order. Values are
 * compared as text, so `1001` and `"1001"` are the same applicant.
 */
export function entityKey(values: readonly FeatureValue[]): string {
  return values.length === 1 ? String(values[0]) : JSON.stringify(values.map((v) => String(v)));
}
