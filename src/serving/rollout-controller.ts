import type { Clock } from "../runtime/index.js";
import type { InferenceRecord } from "../store/index.js";
import type { Binding, EndpointRegistry, EndpointRuntime } from "./endpoint-registry.js";
import type { ServingMetrics } from "./metrics.js";
import type { PredictionLog } from "./prediction-log.js";
import { advanceCanary, canaryPercent, startCanary, type CanaryState } from "./router.js";

/** An alert as the alert engine raises it; `handleAlert` decides which canaries it concerns. */
export interface ServingAlert {
  /** The registered model the alert is about. */
  readonly modelName: string;
  /** Set when the alert concerns one version: only a canary of that version is rolled back. */
  readonly modelVersion?: string;
  /** Set when the alert concerns one endpoint's traffic. */
  readonly endpoint?: string;
  /** notify, retrain, page, ... */
  readonly tier: string;
  /** The rule that fired, for the reason recorded with the rollback. */
  readonly rule?: string;
  readonly message?: string;
}

/** A canary taken out of traffic. */
export interface CanaryRollback {
  readonly endpoint: string;
  readonly modelName: string;
  readonly modelVersion: string;
  readonly reason: string;
}

export interface RolloutOptions {
  /** Alert tiers that roll a running canary back in `handleAlert` (default retrain and page). */
  readonly canaryRollbackTiers?: readonly string[];
  /** Canary rollback hook: true while an alert is firing on the endpoint. */
  readonly isAlertFiring?: (endpoint: string) => boolean | Promise<boolean>;
}

/**
 * Canary rollouts: a canary starts when a binding brings a new canary version, steps through its
 * schedule on each registry sync, and is rolled back on errors, on a firing alert or by hand.
 */
export class RolloutController {
  constructor(
    private readonly endpoints: EndpointRegistry,
    private readonly metrics: ServingMetrics,
    private readonly log: PredictionLog,
    private readonly clock: Clock,
    private readonly options: RolloutOptions,
  ) {}

  /** An endpoint is about to serve `next`: a new canary version (or none yet) starts over. */
  rebind(ep: EndpointRuntime, old: Binding | undefined, next: Binding): void {
    if (old?.canary?.version === next.canary?.version && ep.canary !== undefined) return;
    const schedule = ep.config.canary?.schedule;
    ep.canary = next.canary ? startCanary(this.clock()) : undefined;
    if (next.canary && schedule)
      this.metrics.canaryTraffic.set(
        { endpoint: ep.config.name, model_version: next.canary.version },
        canaryPercent(ep.canary as CanaryState, schedule),
      );
    ep.canaryRequests = 0;
    ep.canaryErrors = 0;
  }

  /** Advance a running canary on its schedule, or roll it back (error rate, firing alert). */
  async step(ep: EndpointRuntime): Promise<void> {
    const schedule = ep.config.canary?.schedule;
    if (ep.canary === undefined || schedule === undefined || ep.canary.status !== "running") return;
    const alertFiring = this.options.isAlertFiring ? await this.options.isAlertFiring(ep.config.name) : false;
    const next = advanceCanary(ep.canary, schedule, {
      now: this.clock(),
      alertFiring,
      requests: ep.canaryRequests,
      errors: ep.canaryErrors,
    });
    if (next !== ep.canary) this.set(ep, next, alertFiring ? "alert" : "error_rate");
  }

  /**
   * Take an endpoint's running canary out of traffic now: its share drops to 0, its requests go
   * back to the champion (or challenger), `keel_serving_canary_rollbacks_total` counts it and the
   * inference log records the decision (route `canary_rollback`). Returns undefined when the
   * endpoint has no running canary.
   */
  rollback(endpoint: string, reason: string, trigger: "alert" | "manual"): CanaryRollback | undefined {
    const ep = this.endpoints.require(endpoint);
    const canary = ep.binding?.canary;
    if (ep.canary?.status !== "running" || canary === undefined) return undefined;
    this.set(ep, { status: "rolled_back", at: this.clock(), reason }, trigger);
    return { endpoint, modelName: canary.name, modelVersion: canary.version, reason };
  }

  /**
   * The alert engine's entry point. An alert of a rollback tier (default retrain, page) rolls back
   * every running canary it concerns: on the alert's endpoint when it names one, else on every
   * endpoint serving its model; when the alert names a version, only a canary of that version.
   */
  handleAlert(alert: ServingAlert): CanaryRollback[] {
    const tiers = this.options.canaryRollbackTiers ?? ["retrain", "page"];
    if (!tiers.includes(alert.tier)) return [];
    const reason = `${alert.tier} alert${alert.rule !== undefined ? ` ${alert.rule}` : ""} on model ${alert.modelName}${
      alert.modelVersion !== undefined ? ` v${alert.modelVersion}` : ""
    }${alert.message !== undefined ? `: ${alert.message}` : ""}`;
    const out: CanaryRollback[] = [];
    for (const [name, ep] of this.endpoints.endpoints) {
      if (!concerns(alert, name, ep)) continue;
      const r = this.rollback(name, reason, "alert");
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  private set(ep: EndpointRuntime, next: CanaryState, trigger: "alert" | "error_rate" | "manual"): void {
    ep.canary = next;
    ep.canaryRequests = 0;
    ep.canaryErrors = 0;
    const canary = ep.binding?.canary;
    const schedule = ep.config.canary?.schedule;
    if (canary === undefined || schedule === undefined) return;
    const name = ep.config.name;
    this.metrics.canaryTraffic.set({ endpoint: name, model_version: canary.version }, canaryPercent(next, schedule));
    if (next.status !== "rolled_back") return;
    this.metrics.canaryRollbacks.inc({ endpoint: name, model_version: canary.version, trigger });
    const record: InferenceRecord = {
      requestId: `canary-rollback:${name}:${canary.version}:${next.at}`,
      time: next.at,
      endpoint: name,
      modelName: canary.name,
      modelVersion: canary.version,
      route: "canary_rollback",
      features: {},
      outputs: { trigger, reason: next.reason },
      latencyMs: 0,
    };
    this.log.appendEvent(record, `serving: the canary rollback on endpoint ${name} could not be logged`);
  }
}

/** Whether an alert concerns an endpoint's running canary. */
function concerns(alert: ServingAlert, name: string, ep: EndpointRuntime): boolean {
  const canary = ep.binding?.canary;
  if (canary === undefined || ep.canary?.status !== "running") return false;
  if (alert.endpoint !== undefined && alert.endpoint !== name) return false;
  if (alert.endpoint === undefined && ep.config.model !== alert.modelName && canary.name !== alert.modelName)
    return false;
  return alert.modelVersion === undefined || (canary.name === alert.modelName && canary.version === alert.modelVersion);
}
