import type { AlertStatus } from "../wire/index.js";
/**
 * Alert history: every alert monitoring fired, with its state. An alert is `open` from the time
 * it fires until its condition clears (`resolved`); someone may `acknowledge` it meanwhile.
 * Written by the alert engine, read by the API.
 */
export { ALERT_STATUSES, type AlertStatus } from "../wire/index.js";

export interface AlertRecord {
  readonly id: string;
  readonly ruleId: string;
  /** notify | retrain | page | review | business. */
  readonly tier: string;
  /** Rule + target: at most one alert per key is open at a time. */
  readonly dedupKey: string;
  readonly modelName: string;
  readonly modelVersion?: string;
  readonly endpoint?: string;
  readonly feature?: string;
  readonly segment?: string;
  readonly status: AlertStatus;
  readonly summary: string;
  /** The observed value that crossed the threshold (for count rules: the count). */
  readonly value: number;
  readonly threshold: number;
  /** The monitoring window that fired it (epoch ms, start inclusive, end exclusive). */
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly firedAt: number;
  /** Last evaluation that found the condition still true. */
  readonly lastSeenAt: number;
  readonly resolvedAt?: number;
  readonly acknowledgedAt?: number;
  readonly acknowledgedBy?: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export type NewAlert = Omit<
  AlertRecord,
  "id" | "status" | "firedAt" | "lastSeenAt" | "resolvedAt" | "acknowledgedAt" | "acknowledgedBy"
>;

export interface AlertQuery {
  readonly modelName?: string;
  readonly ruleId?: string;
  readonly tier?: string;
  readonly dedupKey?: string;
  readonly status?: AlertStatus;
  /** Only open or acknowledged alerts. */
  readonly unresolved?: boolean;
  /** Inclusive lower bound on `firedAt`. */
  readonly from?: number;
  /** Exclusive upper bound on `firedAt`. */
  readonly to?: number;
  /** Default 100, at most 10,000. */
  readonly limit?: number;
}

export interface AlertStore {
  /** Records a newly fired alert (status `open`) and its audit row, in one transaction. */
  fire(alert: NewAlert): Promise<AlertRecord>;
  /** The condition still holds: moves `lastSeenAt` (no audit row; nothing changed state). */
  touch(id: string, at: number): Promise<void>;
  /**
   * The condition cleared, or someone closed it by hand (`actor`; default the system). Resolving a
   * resolved alert is refused (InvalidStateError).
   */
  resolve(id: string, actor?: { readonly userId: string }): Promise<AlertRecord>;
  /** Someone is on it; refused for a resolved alert. Acknowledging twice keeps the first. */
  acknowledge(id: string, actor: { readonly userId: string }): Promise<AlertRecord>;
  get(id: string): Promise<AlertRecord>;
  /** Newest first (by `firedAt`, then id). */
  list(query?: AlertQuery): Promise<readonly AlertRecord[]>;
}
