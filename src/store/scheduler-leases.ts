import type { Clock, Lease, LeaseFactory } from "../runtime/index.js";
import type { MetadataDb } from "./metadata-db.js";

/** Who holds a scheduled job's lease, until when, and the job's checkpoint. */
export interface StoredLease {
  readonly job: string;
  readonly holder: string;
  readonly acquiredAt: number;
  readonly expiresAt: number;
  readonly checkpoint: string | undefined;
}

export interface LeaseStore {
  /** The lease of `job` held in the name of `holder` (a replica's id), granted for `ttlMs` at a time. */
  lease(job: string, holder: string, ttlMs: number): Lease;
  /** Every job's lease, by job name. */
  list(): Promise<StoredLease[]>;
}

/** Default lease period: a replica that dies hands its jobs over within this. */
export const DEFAULT_LEASE_TTL_MS = 15_000;

/**
 * Leases in the metadata database (`scheduler_leases`, migration 0150). Taking a lease is one
 * conditional UPDATE — to this holder, if it is free, expired or already this holder's — which
 * both SQLite and PostgreSQL apply atomically, so two replicas asking at once get one grant.
 * Expiry compares the replicas' clocks: keep them synchronised (NTP) well within the period.
 */
export function createLeaseStore(metadata: MetadataDb, options: { clock?: Clock } = {}): LeaseStore {
  const clock = options.clock ?? Date.now;
  return {
    lease(job, holder, ttlMs) {
      return {
        job,
        ttlMs,
        async acquire() {
          const now = clock();
          return metadata.query(async (db) => {
            await db
              .insertInto("scheduler_leases")
              .values({ job, holder, acquired_at: now, expires_at: now + ttlMs, checkpoint: null })
              .onConflict((oc) => oc.column("job").doNothing())
              .execute();
            const taken = await db
              .updateTable("scheduler_leases")
              .set((eb) => ({
                // A holder renewing keeps its first grant time; a new holder starts its own.
                acquired_at: eb.case().when("holder", "=", holder).then(eb.ref("acquired_at")).else(now).end(),
                holder,
                expires_at: now + ttlMs,
              }))
              .where("job", "=", job)
              .where((eb) => eb.or([eb("holder", "=", holder), eb("expires_at", "<=", now)]))
              .executeTakeFirst();
            if (Number(taken.numUpdatedRows) === 0) return undefined;
            const row = await db
              .selectFrom("scheduler_leases")
              .select("checkpoint")
              .where("job", "=", job)
              .executeTakeFirst();
            return { checkpoint: row?.checkpoint ?? undefined };
          });
        },
        async save(checkpoint) {
          const r = await metadata.query((db) =>
            db
              .updateTable("scheduler_leases")
              .set({ checkpoint })
              .where("job", "=", job)
              .where("holder", "=", holder)
              .where("expires_at", ">", clock())
              .executeTakeFirst(),
          );
          return Number(r.numUpdatedRows) > 0;
        },
        async release() {
          await metadata.query((db) =>
            db
              .updateTable("scheduler_leases")
              .set({ expires_at: 0 })
              .where("job", "=", job)
              .where("holder", "=", holder)
              .execute(),
          );
        },
      };
    },
    async list() {
      const rows = await metadata.query((db) => db.selectFrom("scheduler_leases").selectAll().orderBy("job").execute());
      return rows.map((r) => ({
        job: r.job,
        holder: r.holder,
        acquiredAt: Number(r.acquired_at),
        expiresAt: Number(r.expires_at),
        checkpoint: r.checkpoint ?? undefined,
      }));
    },
  };
}

/** The lease factory of one replica: every job's lease in the name of `holder`. */
export function leasesFor(store: LeaseStore, holder: string, ttlMs = DEFAULT_LEASE_TTL_MS): LeaseFactory {
  return (job) => store.lease(job, holder, ttlMs);
}
