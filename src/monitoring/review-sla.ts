/**
 * The review queue's SLA (docs/review.md): when an endpoint's oldest open review item (pending or
 * claimed) has waited longer than the SLA, an alert fires through the alert engine and its sinks,
 * once; it resolves when the queue is back under the SLA. Checked on a timer of its own, since the
 * monitor scheduler ticks only when a monitoring window closes.
 */
import {
  SerialQueue,
  silentLogger,
  systemClock,
  systemTimers,
  whileLeased,
  type Clock,
  type Lease,
  type Logger,
  type Timers,
} from "../runtime/index.js";
import { specError, specNumber, specNumberValue, specObject, specOneOf, specRequired } from "../spec-fields.js";
import type { AlertStore, ReviewStore } from "../store/index.js";
import type { AlertEngine } from "./alert-engine.js";
import { ALERT_TIERS, type AlertTier } from "./alerts.js";

/** The rule id of the review-queue SLA alert (part of its dedup key, as a rule id is). */
export const REVIEW_SLA_ALERT = "review_queue_sla";

export interface ReviewSla {
  /** How long the oldest open item may wait, in minutes, on every endpoint `endpoints` does not name. */
  readonly minutes: number;
  /** Per-endpoint SLAs in minutes. */
  readonly endpoints?: Readonly<Record<string, number>>;
  /** Default `notify`. */
  readonly tier?: AlertTier;
  /** Minutes between checks (default 1). */
  readonly checkMinutes?: number;
}

/** Validates the monitoring config's `reviewSla`. */
export function parseReviewSla(json: unknown): ReviewSla {
  const p = "reviewSla";
  const s = specObject(json, p, ["minutes", "endpoints", "tier", "checkMinutes"]);
  const minutes = specRequired(specNumber(s, "minutes", p, { positive: true }), `${p}.minutes`);
  const tier = specOneOf(s, "tier", p, ALERT_TIERS);
  const checkMinutes = specNumber(s, "checkMinutes", p, { positive: true });
  let endpoints: Record<string, number> | undefined;
  if (s.endpoints !== undefined) {
    if (typeof s.endpoints !== "object" || s.endpoints === null || Array.isArray(s.endpoints))
      throw specError(`${p}.endpoints`, s.endpoints, "must be an object of endpoint name to minutes");
    endpoints = {};
    for (const [name, v] of Object.entries(s.endpoints))
      endpoints[name] = specNumberValue(v, `${p}.endpoints.${name}`, { positive: true });
  }
  return {
    minutes,
    ...(endpoints !== undefined ? { endpoints } : {}),
    ...(tier !== undefined ? { tier } : {}),
    ...(checkMinutes !== undefined ? { checkMinutes } : {}),
  };
}

export interface ReviewSlaOptions {
  readonly sla: ReviewSla;
  readonly queue: Pick<ReviewStore, "stats" | "list">;
  readonly alerts: AlertEngine;
  /** The alert history, to find the SLA alerts still open (also those fired before a restart). */
  readonly alertStore: AlertStore;
  readonly clock?: Clock;
  readonly timers?: Timers;
  readonly logger?: Logger;
  /** Several replicas: checks run only on the replica holding this lease. */
  readonly lease?: Lease;
}

/** One endpoint's state at a check. */
export interface ReviewSlaState {
  readonly endpoint: string;
  /** How long its oldest open item has waited (ms); 0 when none is open. */
  readonly oldestAgeMs: number;
  readonly slaMs: number;
  readonly breached: boolean;
}

export class ReviewSlaMonitor {
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly logger: Logger;
  private handle: unknown;
  private readonly queue = new SerialQueue();
  private stopped = true;

  constructor(private readonly options: ReviewSlaOptions) {
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.logger = options.logger ?? silentLogger;
  }

  private slaMs(endpoint: string): number {
    return (this.options.sla.endpoints?.[endpoint] ?? this.options.sla.minutes) * 60_000;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.arm();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.handle !== undefined) this.timers.clearTimeout(this.handle);
    this.handle = undefined;
    await this.queue.idle();
    await this.options.lease?.release().catch(() => undefined);
  }

  private arm(): void {
    if (this.stopped) return;
    this.handle = this.timers.setTimeout(
      () => {
        this.handle = undefined;
        void this.check()
          .catch((e: unknown) =>
            this.logger.error({}, `review SLA check failed: ${e instanceof Error ? e.message : String(e)}`),
          )
          .finally(() => this.arm());
      },
      (this.options.sla.checkMinutes ?? 1) * 60_000,
    );
  }

  /**
   * Raises the alert of every endpoint past its SLA and settles those back under it; calls queue.
   * With a lease held by another replica, nothing is checked here and the result is empty.
   */
  check(): Promise<ReviewSlaState[]> {
    return this.queue.run(async () => {
      const lease = this.options.lease;
      if (lease === undefined) return this.checkNow();
      const outcome = await whileLeased(lease, this.timers, () => this.checkNow());
      return outcome.ran ? outcome.result : [];
    });
  }

  private async checkNow(): Promise<ReviewSlaState[]> {
    const now = this.clock();
    const { alerts, alertStore, queue, sla } = this.options;
    const stats = await queue.stats(now);
    const states: ReviewSlaState[] = stats.endpoints.map((e) => {
      const oldestAgeMs = e.oldestOpenAt === null ? 0 : now - e.oldestOpenAt;
      const slaMs = this.slaMs(e.endpoint);
      return { endpoint: e.endpoint, oldestAgeMs, slaMs, breached: oldestAgeMs > slaMs };
    });
    for (const s of states.filter((x) => x.breached)) {
      const oldest = await this.oldestOpen(s.endpoint);
      if (oldest === undefined) continue;
      const minutes = Math.floor(s.oldestAgeMs / 60_000);
      await alerts.raise({
        ruleId: REVIEW_SLA_ALERT,
        tier: sla.tier ?? "notify",
        target: { modelName: oldest.modelName, endpoint: s.endpoint },
        summary: `review queue of ${s.endpoint}: the oldest open item (${oldest.requestId}) has waited ${minutes} min, past the SLA of ${s.slaMs / 60_000} min`,
        value: s.oldestAgeMs / 60_000,
        threshold: s.slaMs / 60_000,
        detail: { endpoint: s.endpoint, request_id: oldest.requestId, queued_at: oldest.queuedAt },
      });
    }
    const breached = new Set(states.filter((x) => x.breached).map((x) => x.endpoint));
    const open = await alertStore.list({ ruleId: REVIEW_SLA_ALERT, unresolved: true, limit: 10_000 });
    for (const a of open) {
      if (a.endpoint === undefined || breached.has(a.endpoint)) continue;
      await alerts.settle(REVIEW_SLA_ALERT, { modelName: a.modelName, endpoint: a.endpoint });
    }
    return states;
  }

  /** The endpoint's oldest pending or claimed item. */
  private async oldestOpen(endpoint: string) {
    const [pending] = await this.options.queue.list({ endpoint, status: "pending", limit: 1 });
    const [claimed] = await this.options.queue.list({ endpoint, status: "claimed", limit: 1 });
    if (pending === undefined || claimed === undefined) return pending ?? claimed;
    return claimed.queuedAt < pending.queuedAt ? claimed : pending;
  }
}
