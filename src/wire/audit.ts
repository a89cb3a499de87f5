/** One row of the audit log (`GET /api/keel/audit`). */
export interface AuditRecordJson {
  seq: number;
  /** Epoch milliseconds. */
  time: number;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  before: unknown;
  after: unknown;
  prev_hash: string;
  hash: string;
}

/** Query of `GET /api/keel/audit`: every filter must match; `before_seq` pages back from the newest. */
export interface AuditQueryJson {
  actor?: string;
  action?: string;
  target_type?: string;
  target_id?: string;
  before_seq?: number;
  limit?: number;
}

/** `GET /api/keel/audit/verify`: the chain recomputed from the first row. */
export interface AuditVerificationJson {
  ok: boolean;
  rows: number;
  broken_at?: number;
  reason?: string;
}

/** `GET /api/keel/whoami`: the caller as the server sees it. */
export interface WhoAmIJson {
  auth_enabled: boolean;
  /** The token's name; null with auth off. */
  name: string | null;
  /** The token's role; with auth off every call is allowed, reported as `admin`. */
  role: string;
}
