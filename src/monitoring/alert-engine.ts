/**
 * The alert engine: evaluates the rule table over the stored observations, records fired and
 * resolved alerts in the alert history, delivers them to the sinks, and tells listeners (the
 * retraining policy listens for retrain-tier alerts). Evaluations are serialised, so two runs
 * never open the same alert twice.
 */
import { SerialQueue, silentLogger, systemClock, type Clock, type Logger } from "../runtime/index.js";
import { ConflictError } from "../errors.js";
import type { AlertRecord, AlertStore, MonitorObservation, NewAlert, ObservationStore } from "../store/index.js";
import { deliverAlert, sinkAccepts } from "./alert-sinks.js";
import type { AlertEvent, DeliveryResult, SinkConfig } from "./alert-sinks.js";
import {
  DEFAULT_ALERT_RULES,
  DEFAULT_COOLDOWN_MINUTES,
  DEFAULT_MAX_AGE_HOURS,
  dedupKey,
  evaluateAlertRules,
  planAlerts,
} from "./alerts.js";
import type { AlertFinding, AlertRule, AlertTarget, AlertTier } from "./alerts.js";

/** An alert about an event rather than an observation series (a retraining run whose data failed validation). */
export interface RaisedAlert {
  /** Names the kind of event, as a rule id names a rule: part of the dedup key. */
  readonly ruleId: string;
  readonly tier: AlertTier;
  readonly target: AlertTarget;
  readonly summary: string;
  /** The measured value and the limit it broke (e.g. failed expectations, 0). */
  readonly value: number;
  readonly threshold: number;
  readonly detail: Readonly<Record<string, unknown>>;
}

export type AlertListener = (event: AlertEvent) => void | Promise<void>;

export interface AlertEngineOptions {
  readonly observations: ObservationStore;
  readonly alerts: AlertStore;
  /** Default: DEFAULT_ALERT_RULES. */
  readonly rules?: readonly AlertRule[];
  /** Default: the log sink alone. */
  readonly sinks?: readonly SinkConfig[];
  readonly clock?: Clock;
  readonly fetch?: typeof globalThis.fetch;
  /** The log sink's output and delivery failures. */
  readonly logger?: Logger;
  /** Days of observations read for change rules' baselines (default 35). */
  readonly historyDays?: number;
  readonly retryDelayMs?: number;
}

export interface EvaluationResult {
  readonly fired: readonly AlertRecord[];
  readonly resolved: readonly AlertRecord[];
  /** Alerts left open because their condition still holds (deduplicated). */
  readonly stillOpen: number;
  /** Firing findings held back by a rule's cooldown. */
  readonly cooling: readonly AlertFinding[];
  readonly deliveries: readonly DeliveryResult[];
}

const DAY = 86_400_000;

export class AlertEngine {
  readonly rules: readonly AlertRule[];
  readonly sinks: readonly SinkConfig[];
  private readonly listeners = new Set<AlertListener>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly queue = new SerialQueue();

  constructor(private readonly options: AlertEngineOptions) {
    this.rules = options.rules ?? DEFAULT_ALERT_RULES;
    this.sinks = options.sinks ?? [{ type: "log" }];
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
  }

  /** Called with every fired, acknowledged and resolved alert; returns the unsubscribe function. */
  onAlert(listener: AlertListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Evaluates every rule for one model (default: every model) and acts on the outcome. */
  evaluate(modelName?: string): Promise<EvaluationResult> {
    return this.queue.run(() => this.evaluateNow(modelName));
  }

  /**
   * Closes an alert by hand and tells the sinks and listeners; if its rule still holds at the next
   * evaluation, the alert fires again as a new one.
   */
  async resolve(id: string, actor: { readonly userId: string }): Promise<AlertRecord> {
    const after = await this.options.alerts.resolve(id, actor);
    await this.emit({ action: "resolved", alert: after });
    return after;
  }

  /** Marks an alert acknowledged and tells the sinks (PagerDuty: `acknowledge`) and listeners. */
  async acknowledge(id: string, actor: { readonly userId: string }): Promise<AlertRecord> {
    const before = await this.options.alerts.get(id);
    const after = await this.options.alerts.acknowledge(id, actor);
    if (before.status !== after.status) await this.emit({ action: "acknowledged", alert: after });
    return after;
  }

  /**
   * Fires an alert about an event: recorded in the alert history, delivered to the sinks, told to
   * the listeners. While one is open for the same rule and target, it is kept (its last-seen time
   * moves) and undefined is returned.
   */
  raise(alert: RaisedAlert): Promise<AlertRecord | undefined> {
    return this.queue.run(async () => {
      const key = dedupKey(alert.ruleId, alert.target);
      const now = this.clock();
      const open = await this.openAlert(alert.target.modelName, key);
      if (open !== undefined) {
        await this.options.alerts.touch(open.id, now);
        return undefined;
      }
      const fired = await this.fireOnce({
        ruleId: alert.ruleId,
        tier: alert.tier,
        dedupKey: key,
        ...alert.target,
        summary: alert.summary,
        value: alert.value,
        threshold: alert.threshold,
        windowStart: now,
        windowEnd: now,
        detail: alert.detail,
      });
      if (fired !== undefined) await this.emit({ action: "fired", alert: fired });
      return fired;
    });
  }

  /** Resolves the open alert of an event rule and target, when there is one (the condition cleared). */
  settle(ruleId: string, target: AlertTarget): Promise<AlertRecord | undefined> {
    return this.queue.run(async () => {
      const open = await this.openAlert(target.modelName, dedupKey(ruleId, target));
      if (open === undefined) return undefined;
      const resolved = await this.options.alerts.resolve(open.id);
      await this.emit({ action: "resolved", alert: resolved });
      return resolved;
    });
  }

  /**
   * Fires unless another replica fired the same alert meanwhile (the database keeps one unresolved
   * alert per dedup key); then that one is kept, as when this engine finds it open.
   */
  private async fireOnce(alert: NewAlert): Promise<AlertRecord | undefined> {
    try {
      return await this.options.alerts.fire(alert);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      const open = await this.openAlert(alert.modelName, alert.dedupKey);
      if (open === undefined) throw error;
      await this.options.alerts.touch(open.id, this.clock());
      return undefined;
    }
  }

  private async openAlert(modelName: string, key: string): Promise<AlertRecord | undefined> {
    const [open] = await this.options.alerts.list({ modelName, dedupKey: key, unresolved: true, limit: 1 });
    return open;
  }

  private async readObservations(modelName: string | undefined, now: number): Promise<MonitorObservation[]> {
    const from = now - (this.options.historyDays ?? 35) * DAY;
    const out: MonitorObservation[] = [];
    for (const rule of this.rules) {
      if (modelName !== undefined && rule.model !== undefined && rule.model !== modelName) continue;
      const model = modelName ?? rule.model;
      const maxAge = (rule.maxAgeHours ?? DEFAULT_MAX_AGE_HOURS) * 3_600_000;
      out.push(
        ...(await this.options.observations.query({
          ...(model !== undefined ? { modelName: model } : {}),
          kind: rule.kind,
          metric: rule.metric,
          ...(rule.feature !== undefined && rule.feature !== "*" ? { feature: rule.feature } : {}),
          ...(rule.segment !== undefined ? { segment: rule.segment } : {}),
          // threshold and count rules need only recent windows; change rules their baseline too
          from: rule.change !== undefined ? from : now - maxAge - 31 * DAY,
          limit: 100_000,
        })),
      );
    }
    return out;
  }

  private async evaluateNow(modelName: string | undefined): Promise<EvaluationResult> {
    const now = this.clock();
    const observations = await this.readObservations(modelName, now);
    const findings = evaluateAlertRules(this.rules, observations, now).filter(
      (f) => modelName === undefined || f.target.modelName === modelName,
    );
    const maxCooldown = Math.max(DEFAULT_COOLDOWN_MINUTES, ...this.rules.map((r) => r.cooldownMinutes ?? 0)) * 60_000;
    const [unresolved, recent] = await Promise.all([
      this.options.alerts.list({ ...(modelName !== undefined ? { modelName } : {}), unresolved: true, limit: 10_000 }),
      this.options.alerts.list({
        ...(modelName !== undefined ? { modelName } : {}),
        from: now - maxCooldown,
        limit: 10_000,
      }),
    ]);
    const history = new Map([...unresolved, ...recent].map((a) => [a.id, a]));
    const plan = planAlerts(this.rules, findings, [...history.values()], now);
    const fired: AlertRecord[] = [];
    const resolved: AlertRecord[] = [];
    const deliveries: DeliveryResult[] = [];
    for (const f of plan.fire) {
      const alert = await this.fireOnce({
        ruleId: f.ruleId,
        tier: f.tier,
        dedupKey: f.dedupKey,
        ...f.target,
        summary: f.summary,
        value: f.value,
        threshold: f.threshold,
        windowStart: f.windowStart,
        windowEnd: f.windowEnd,
        detail: f.detail,
      });
      if (alert === undefined) continue;
      fired.push(alert);
      deliveries.push(...(await this.emit({ action: "fired", alert })));
    }
    for (const { alert } of plan.still) await this.options.alerts.touch(alert.id, now);
    for (const { alert } of plan.resolve) {
      const r = await this.options.alerts.resolve(alert.id);
      resolved.push(r);
      deliveries.push(...(await this.emit({ action: "resolved", alert: r })));
    }
    return { fired, resolved, stillOpen: plan.still.length, cooling: plan.cooling, deliveries };
  }

  private async emit(event: AlertEvent): Promise<DeliveryResult[]> {
    const deps = {
      fetch: this.options.fetch ?? globalThis.fetch,
      logger: this.logger,
      ...(this.options.retryDelayMs !== undefined ? { retryDelayMs: this.options.retryDelayMs } : {}),
    };
    const results = await Promise.all(
      this.sinks.filter((s) => sinkAccepts(s, event.alert.tier)).map((s) => deliverAlert(s, event, deps)),
    );
    for (const r of results) {
      if (!r.ok) {
        this.logger.warn(
          {},
          `alert ${event.alert.id}: ${r.sink} delivery failed after ${r.attempts} attempts: ${r.error ?? ""}`,
        );
      }
    }
    for (const listener of this.listeners) {
      try {
        await listener(event);
      } catch (e) {
        this.logger.error({}, `alert listener failed on ${event.alert.id}: ${(e as Error).message}`);
      }
    }
    return results;
  }
}
