import { InvalidStateError } from "../errors.js";
import { CHAMPION_ALIAS, promoteAlias, type RegistryStore } from "../registry/index.js";
import type { Clock, Lease, Logger } from "../runtime/index.js";
import type { CanaryAction, CanaryStore, InferenceRecord, StoredCanary } from "../store/index.js";
import type { CanaryGateSpec } from "./endpoint-config.js";
import type { Binding, EndpointRegistry, EndpointRuntime } from "./endpoint-registry.js";
import type { ServingMetrics } from "./metrics.js";
import type { PredictionLog } from "./prediction-log.js";
import { advanceCanary, canaryPercent, startCanary, type CanarySchedule, type CanaryState } from "./router.js";

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

/** What the server's gate evaluation is asked: the canary against the champion since it started. */
export interface CanaryGateRequest {
  readonly endpoint: string;
  readonly modelName: string;
  readonly championVersion: string;
  readonly canaryVersion: string;
  /** Epoch ms: the canary's start and now, the window of its evidence. */
  readonly from: number;
  readonly to: number;
  readonly gate: CanaryGateSpec;
}

export interface CanaryGateDecision {
  readonly decision: "advance" | "hold" | "rollback";
  readonly reason: string;
  /** The report the decision rests on, stored with it in the audit log. */
  readonly evidence?: unknown;
}

export interface RolloutOptions {
  /** Alert tiers that roll a running canary back in `handleAlert` (default retrain and page). */
  readonly canaryRollbackTiers?: readonly string[];
  /** Canary rollback hook: true while an alert is firing on the endpoint. */
  readonly isAlertFiring?: (endpoint: string) => boolean | Promise<boolean>;
  /**
   * Where canaries are kept (resumed after a restart, every decision audited) and the registry
   * whose `champion` alias a finished canary moves. Without them a canary is held in memory and
   * never reaches 100%: finishing needs a recorded approval.
   */
  readonly canaries?: { readonly store: CanaryStore; readonly registry: RegistryStore } | undefined;
  /** Evaluates an endpoint's canary gate (`challenger_beats_champion`) before each advance. */
  readonly canaryGate?: ((request: CanaryGateRequest) => Promise<CanaryGateDecision>) | undefined;
  /**
   * With several replicas: canaries advance only on the replica holding this lease (the others
   * take up each decision from the store). Without it this process always decides.
   */
  readonly canaryLease?: Lease | undefined;
  /** False on a replica that must never make scheduled canary decisions (no `scheduler` role). */
  readonly decidesCanaries?: boolean;
  readonly logger?: Logger;
}

const HOLD_RETRY_MS = 60_000;

type RollbackTrigger = "alert" | "error_rate" | "manual" | "gate";

/** Who canary decisions that no person made are recorded under. */
export const SERVING_ACTOR = "keel-serving";

/**
 * Canary rollouts: a canary starts when a binding brings a new canary version (or resumes where
 * the canary store left it), steps through its schedule on each registry sync — through its gate
 * when it has one — and is rolled back on errors, on a firing alert, on a failed gate or by hand.
 * Entering a 100% step, or finishing, needs an approval of the version (`keel rollout approve`):
 * finishing moves the `champion` alias through the audited promotion path in the approver's name.
 */
export class RolloutController {
  private persisting: Promise<void> = Promise.resolve();

  constructor(
    private readonly endpoints: EndpointRegistry,
    private readonly metrics: ServingMetrics,
    private readonly log: PredictionLog,
    private readonly clock: Clock,
    private readonly options: RolloutOptions,
  ) {}

  /** An endpoint is about to serve `next`: a new canary version starts over, or resumes its stored state. */
  async rebind(ep: EndpointRuntime, old: Binding | undefined, next: Binding): Promise<void> {
    if (old?.canary?.version === next.canary?.version && ep.canary !== undefined) return;
    const schedule = ep.config.canary?.schedule;
    ep.canaryRequests = 0;
    ep.canaryErrors = 0;
    if (next.canary === undefined || schedule === undefined) {
      ep.canary = undefined;
      return;
    }
    const stored = ep.canaryStartsOver ? undefined : await this.options.canaries?.store.get(ep.config.name);
    ep.canaryStartsOver = false;
    if (stored?.modelName === next.canary.name && stored.modelVersion === next.canary.version) {
      ep.canary = stateOf(stored);
    } else {
      ep.canary = startCanary(this.clock());
      this.persist(ep, next.canary.name, next.canary.version, "start", "canary started", {
        steps: schedule.steps,
        step_seconds: schedule.stepMs / 1000,
      });
    }
    this.metrics.canaryTraffic.set(
      { endpoint: ep.config.name, model_version: next.canary.version },
      canaryPercent(ep.canary, schedule),
    );
  }

  /** Whether this replica makes the scheduled canary decisions now (it holds the canary lease). */
  async decides(): Promise<boolean> {
    if (this.options.decidesCanaries === false) return false;
    const lease = this.options.canaryLease;
    if (lease === undefined) return true;
    try {
      return (await lease.acquire()) !== undefined;
    } catch (e) {
      this.options.logger?.error({ err: e }, "serving: the canary lease could not be read");
      return false;
    }
  }

  /**
   * Take up the stored state of the endpoint's canary when a decision elsewhere (another replica,
   * `keel rollout`) changed it: the store, not this process, is the canary's record. Waits for this
   * process's own decisions to be stored first, so it never reads back an older state.
   */
  async adopt(ep: EndpointRuntime): Promise<void> {
    const store = this.options.canaries?.store;
    const canary = ep.binding?.canary;
    const schedule = ep.config.canary?.schedule;
    if (store === undefined || canary === undefined || ep.canary === undefined || schedule === undefined) return;
    await this.persisting;
    let stored: StoredCanary | undefined;
    try {
      stored = await store.get(ep.config.name);
    } catch (e) {
      this.options.logger?.error({ err: e }, `serving: the canary of endpoint ${ep.config.name} could not be read`);
      return;
    }
    if (stored?.modelName !== canary.name || stored.modelVersion !== canary.version) return;
    const next = stateOf(stored);
    if (sameState(ep.canary, next)) return;
    ep.canary = next;
    ep.canaryRequests = 0;
    ep.canaryErrors = 0;
    this.metrics.canaryTraffic.set(
      { endpoint: ep.config.name, model_version: canary.version },
      canaryPercent(next, schedule),
    );
  }

  /**
   * Advance a running canary on its schedule, or roll it back (error rate, firing alert, failed
   * gate). Returns true when the canary finished and moved the `champion` alias.
   */
  async step(ep: EndpointRuntime): Promise<boolean> {
    const schedule = ep.config.canary?.schedule;
    const canary = ep.binding?.canary;
    const state = ep.canary;
    if (state?.status !== "running" || schedule === undefined || canary === undefined) return false;
    const alertFiring = this.options.isAlertFiring ? await this.options.isAlertFiring(ep.config.name) : false;
    const observed = { requests: ep.canaryRequests, errors: ep.canaryErrors, alert_firing: alertFiring };
    const now = this.clock();
    const next = advanceCanary(state, schedule, { now, alertFiring, ...observed });
    if (next === state) return false;
    if (next.status === "rolled_back") {
      this.set(ep, next, observed, alertFiring ? "alert" : "error_rate");
      return false;
    }
    if (state.retryAt !== undefined && now < state.retryAt) return false;
    const gate = await this.gate(ep, state, now);
    if (gate?.decision === "rollback") {
      this.set(ep, { status: "rolled_back", at: now, reason: gate.reason }, gate.evidence, "gate");
      return false;
    }
    if (gate?.decision === "hold") {
      this.hold(ep, state, gate.reason, gate.evidence);
      return false;
    }
    const evidence = { ...observed, ...(gate ? { gate: gate.reason, report: gate.evidence } : {}) };
    if (next.status === "running" && canaryPercent(next, schedule) < 100) {
      this.set(ep, next, evidence);
      return false;
    }
    return this.finish(ep, state, next, schedule, evidence);
  }

  /** Entering 100% or finishing: only with an approval; finishing promotes in the approver's name. */
  private async finish(
    ep: EndpointRuntime,
    state: CanaryState & { status: "running" },
    next: CanaryState,
    schedule: CanarySchedule,
    evidence: Record<string, unknown>,
  ): Promise<boolean> {
    const canary = ep.binding?.canary;
    const canaries = this.options.canaries;
    if (canary === undefined) return false;
    const approval = await canaries?.store.approval(canary.name, canary.version);
    if (canaries === undefined || approval === undefined) {
      const reason = `awaiting approval: version ${canary.version} of ${canary.name} may not take 100% of traffic or become champion until an approver approves it (keel rollout approve)`;
      this.hold(ep, state, reason, evidence);
      return false;
    }
    const approved = { approver: approval.approver, reason: approval.reason, approved_at: approval.approvedAt };
    if (next.status === "running") {
      this.set(ep, next, { ...evidence, approval: approved });
      return false;
    }
    let fromVersion: string | null = null;
    try {
      const move = await promoteAlias(canaries.registry, {
        name: canary.name,
        version: canary.version,
        alias: CHAMPION_ALIAS,
        approver: approval.approver,
        reason: `canary on endpoint ${ep.config.name} finished its schedule (${schedule.steps.join(" → ")}%); approved: ${approval.reason}`,
      });
      fromVersion = move.fromVersion;
    } catch (e) {
      // Already champion (a restart between the move and its record): the canary is done all the same.
      if (!(e instanceof InvalidStateError)) throw e;
      const champion = await canaries.registry.getVersionByAlias(canary.name, CHAMPION_ALIAS).catch(() => undefined);
      if (champion?.version !== canary.version) throw e;
    }
    this.set(ep, next, { ...evidence, approval: approved, previous_champion: fromVersion });
    return true;
  }

  private async gate(
    ep: EndpointRuntime,
    state: CanaryState & { status: "running" },
    now: number,
  ): Promise<CanaryGateDecision | undefined> {
    const spec = ep.config.canary?.gate;
    const b = ep.binding;
    if (spec === undefined || b?.canary === undefined) return undefined;
    if (this.options.canaryGate === undefined)
      return { decision: "hold", reason: `${spec.gate}: this server does not evaluate canary gates` };
    return this.options.canaryGate({
      endpoint: ep.config.name,
      modelName: b.canary.name,
      championVersion: b.champion.version,
      canaryVersion: b.canary.version,
      from: state.startedAt,
      to: now,
      gate: spec,
    });
  }

  /** Keep the canary at its step; the hold is recorded once per reason, not on every sync. */
  private hold(
    ep: EndpointRuntime,
    state: CanaryState & { status: "running" },
    reason: string,
    evidence: unknown,
  ): void {
    const schedule = ep.config.canary?.schedule;
    // A held canary's evidence is read again after a step's time, at most a minute.
    const retryAt = this.clock() + Math.min(schedule?.stepMs ?? HOLD_RETRY_MS, HOLD_RETRY_MS);
    ep.canary = { ...state, held: reason, retryAt };
    if (state.held === reason) return;
    const canary = ep.binding?.canary;
    if (canary !== undefined) this.persist(ep, canary.name, canary.version, "hold", reason, evidence);
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
    this.set(ep, { status: "rolled_back", at: this.clock(), reason }, { trigger }, trigger);
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

  /** Resolves once every canary decision made so far is stored. */
  idle(): Promise<void> {
    return this.persisting;
  }

  /** Gives the canary lease up (a clean shutdown), so another replica decides without waiting for it to expire. */
  async release(): Promise<void> {
    await this.options.canaryLease?.release().catch((e: unknown) => {
      this.options.logger?.error({ err: e }, "serving: the canary lease could not be released");
    });
  }

  private set(
    ep: EndpointRuntime,
    next: CanaryState,
    evidence: unknown,
    /** What rolled it back, when `next` is a rollback. */
    trigger: RollbackTrigger = "manual",
  ): void {
    ep.canary = next;
    ep.canaryRequests = 0;
    ep.canaryErrors = 0;
    const canary = ep.binding?.canary;
    const schedule = ep.config.canary?.schedule;
    if (canary === undefined || schedule === undefined) return;
    const name = ep.config.name;
    const percent = canaryPercent(next, schedule);
    this.metrics.canaryTraffic.set({ endpoint: name, model_version: canary.version }, percent);
    if (next.status === "running") {
      this.persist(ep, canary.name, canary.version, "advance", `canary advanced to ${percent}%`, evidence);
      return;
    }
    if (next.status === "promoted") {
      this.persist(ep, canary.name, canary.version, "promote", "canary finished: champion alias moved", evidence);
      return;
    }
    this.persist(ep, canary.name, canary.version, "rollback", next.reason, evidence);
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

  /** Store the endpoint's canary state with a decision, in order, in the background. */
  private persist(
    ep: EndpointRuntime,
    modelName: string,
    modelVersion: string,
    action: CanaryAction,
    reason: string,
    evidence: unknown,
  ): void {
    const store = this.options.canaries?.store;
    const state = ep.canary;
    const schedule = ep.config.canary?.schedule;
    if (store === undefined || state === undefined || schedule === undefined) return;
    const now = this.clock();
    const running = state.status === "running" ? state : undefined;
    const row = {
      endpoint: ep.config.name,
      modelName,
      modelVersion,
      status: state.status,
      step: running?.step ?? schedule.steps.length - 1,
      startedAt: running?.startedAt ?? now,
      stepStartedAt: state.status === "running" ? state.stepStartedAt : state.at,
      ...(running?.held !== undefined ? { reason: running.held } : {}),
      ...(state.status === "rolled_back" ? { reason: state.reason } : {}),
    };
    const decision = {
      at: now,
      action,
      step: row.step,
      percent: canaryPercent(state, schedule),
      reason,
      ...(evidence !== undefined ? { evidence } : {}),
    };
    this.persisting = this.persisting
      .then(() => store.record(row, decision, SERVING_ACTOR))
      .then(
        () => undefined,
        (e: unknown) =>
          this.options.logger?.error(
            { err: e },
            `serving: the canary decision on endpoint ${ep.config.name} could not be stored`,
          ),
      );
  }
}

/** The in-memory state of a stored canary. */
function stateOf(s: StoredCanary): CanaryState {
  if (s.status === "promoted") return { status: "promoted", at: s.updatedAt };
  if (s.status === "rolled_back") return { status: "rolled_back", at: s.updatedAt, reason: s.reason ?? "rolled back" };
  return {
    status: "running",
    step: s.step,
    stepStartedAt: s.stepStartedAt,
    startedAt: s.startedAt,
    ...(s.reason !== undefined ? { held: s.reason } : {}),
  };
}

/** Whether two canary states record the same decision (a hold's retry time is this process's own). */
function sameState(a: CanaryState, b: CanaryState): boolean {
  if (a.status !== b.status) return false;
  if (a.status !== "running" || b.status !== "running") return true;
  return a.step === b.step && a.stepStartedAt === b.stepStartedAt && a.held === b.held;
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
