/**
 * Delayed labels: the observed outcome of a scored request (e.g. whether a loan defaulted),
 * arriving days or weeks after the prediction. A label is keyed either by the request id the
 * prediction was logged under, or by a business entity id and the time the outcome happened;
 * monitoring joins labels to the inference log (docs/monitoring.md).
 */
export type LabelKey =
  | { readonly requestId: string; readonly entityId?: undefined }
  | { readonly entityId: string; readonly time: number; readonly requestId?: undefined };

/** One label as written: a key, the outcome (0 or 1) and where it came from. */
export type LabelInput = LabelKey & {
  /** The observed outcome of the binary task: 1 = the positive class (e.g. default), 0 = not. */
  readonly label: number;
  /** Where the label came from (e.g. `api`, `file:defaults-2024-06.csv`); at most 255 characters. */
  readonly source: string;
};

/** A stored label. `time` is present for entity-keyed labels (the outcome's event time). */
export interface StoredLabel {
  readonly requestId?: string;
  readonly entityId?: string;
  /** Epoch milliseconds when the outcome happened (entity-keyed labels). */
  readonly time?: number;
  readonly label: number;
  /** Epoch milliseconds when keel received the label (last change). */
  readonly receivedAt: number;
  readonly source: string;
}

export interface LabelWriteResult {
  /** Keys not stored before. */
  readonly inserted: number;
  /** Keys stored before with a different label: the label was replaced and the change audited. */
  readonly updated: number;
  /** Keys stored before with the same label: nothing changed. */
  readonly unchanged: number;
}

export interface LabelStore {
  /**
   * Writes labels in one transaction. Re-ingesting a key is idempotent: the same label is left as
   * it is; a different label replaces the stored one (its source and received time too) and the
   * change is recorded in the audit log with the old and new value. Within one call the last
   * label of a key wins. One audit row records the batch's counts.
   */
  put(labels: readonly LabelInput[], options: { readonly actor: string }): Promise<LabelWriteResult>;
  /** Labels keyed by any of these request ids. */
  byRequestIds(requestIds: readonly string[]): Promise<readonly StoredLabel[]>;
  /** Labels keyed by any of these entity ids (every event time). */
  byEntityIds(entityIds: readonly string[]): Promise<readonly StoredLabel[]>;
  /**
   * Which keys have a logged prediction to join to: a request-id key when the inference log holds
   * that request id, an entity key when it holds a prediction for the entity at or before `time`.
   * `result[i]` is 1 for a match of `keys[i]`, else 0.
   */
  matchInferenceLog(keys: readonly LabelKey[]): Promise<Uint8Array>;
}
