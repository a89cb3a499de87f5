import type { Timers } from "./timers.js";

/**
 * A named lease on a scheduled job, shared by every replica of a deployment: one holder at a time
 * runs the job; a holder that stops renewing (it died) loses the lease when it expires, and the
 * next replica to ask takes it over. The lease carries a checkpoint — how far its job got — so the
 * new holder continues where the old one stopped instead of starting over or running work twice.
 */
export interface Lease {
  /** The job the lease is on, e.g. `monitor-scheduler`. */
  readonly job: string;
  /** How long a grant lasts without renewal (ms). */
  readonly ttlMs: number;
  /** Takes or renews the lease; undefined while another holder has it. */
  acquire(): Promise<LeaseGrant | undefined>;
  /** Stores the job's checkpoint; false when the lease was lost meanwhile (nothing stored). */
  save(checkpoint: string): Promise<boolean>;
  /** Gives the lease up at once (a clean shutdown), so another replica need not wait for expiry. */
  release(): Promise<void>;
}

export interface LeaseGrant {
  /** The checkpoint last saved under the lease, by this holder or an earlier one. */
  readonly checkpoint: string | undefined;
}

/** Opens the lease of a named job; one per process and job. */
export type LeaseFactory = (job: string) => Lease;

/**
 * Runs `work` only while holding `lease`, renewing it every third of its period until `work`
 * settles. Returns `{ ran: false }` without running when another holder has the lease.
 */
export async function whileLeased<T>(
  lease: Lease,
  timers: Timers,
  work: (grant: LeaseGrant) => Promise<T>,
): Promise<{ ran: true; result: T } | { ran: false }> {
  const grant = await lease.acquire();
  if (grant === undefined) return { ran: false };
  let handle: unknown;
  let done = false;
  const renew = () => {
    handle = timers.setTimeout(() => {
      if (done) return;
      // A failed renewal is noticed by the next acquire or save; the work itself goes on.
      void lease.acquire().then(
        () => (done ? undefined : renew()),
        () => (done ? undefined : renew()),
      );
    }, lease.ttlMs / 3);
  };
  renew();
  try {
    return { ran: true, result: await work(grant) };
  } finally {
    done = true;
    timers.clearTimeout(handle);
  }
}
