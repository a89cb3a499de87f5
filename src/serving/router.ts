/**
 * Traffic-policy rules as pure functions: a stable hash bucket per key, the champion / challenger /
 * canary split, and the canary state machine (clock passed in, no timers).
 */
export type Route = "champion" | "challenger" | "canary" | "shadow" | "fallback" | "direct";

/** Buckets per 100% — percentages resolve to 0.01%. */
export const BUCKETS = 10_000;

/** FNV-1a (32-bit) of the key's UTF-16 code units, folded to a bucket in [0, BUCKETS). */
export function hashBucket(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % BUCKETS;
}

/** True when `key` falls in the first `percent`% of buckets (sticky: the same key always agrees). */
export function inPercent(key: string, percent: number): boolean {
  return hashBucket(key) < Math.round(percent * (BUCKETS / 100));
}

/**
 * Which route serves a request. The canary takes the lowest buckets, the challenger the next ones,
 * so raising the canary's share never moves a key between champion and challenger.
 */
export function chooseRoute(
  key: string,
  canaryPercent: number,
  challengerPercent: number,
): "champion" | "challenger" | "canary" {
  const b = hashBucket(key);
  const canaryEnd = Math.round(canaryPercent * (BUCKETS / 100));
  if (b < canaryEnd) return "canary";
  if (b < canaryEnd + Math.round(challengerPercent * (BUCKETS / 100))) return "challenger";
  return "champion";
}

export interface CanarySchedule {
  /** Traffic share of each step, ascending, ending at 100 (default 5 → 25 → 100). */
  readonly steps: readonly number[];
  /** How long each step lasts before advancing. */
  readonly stepMs: number;
  /** Roll back when the canary's error rate in the current step passes this (0..1). */
  readonly maxErrorRate: number;
  /** Requests the canary must have served in a step before its error rate counts. */
  readonly minRequests: number;
}

export const DEFAULT_CANARY_STEPS: readonly number[] = [5, 25, 100];

export type CanaryState =
  | {
      readonly status: "running";
      readonly step: number;
      readonly stepStartedAt: number;
      /** When the canary started (the window its evidence is read from). */
      readonly startedAt: number;
      /** Why it is held at this step (a gate not yet passed, an approval missing); absent while it is not. */
      readonly held?: string;
      /** While held: when to look at the evidence again (epoch ms). */
      readonly retryAt?: number;
    }
  | { readonly status: "promoted"; readonly at: number }
  | { readonly status: "rolled_back"; readonly at: number; readonly reason: string };

export interface CanaryObservation {
  readonly now: number;
  /** An alert on this endpoint is firing. */
  readonly alertFiring: boolean;
  /** The canary's requests and errors since its current step started. */
  readonly requests: number;
  readonly errors: number;
}

export function startCanary(now: number): CanaryState {
  return { status: "running", step: 0, stepStartedAt: now, startedAt: now };
}

export function canaryPercent(state: CanaryState, schedule: CanarySchedule): number {
  switch (state.status) {
    case "running":
      return schedule.steps[state.step] ?? 100;
    case "promoted":
      // The `champion` alias carries a promoted canary's version: it gets no canary traffic.
      return 0;
    case "rolled_back":
      return 0;
  }
}

/** Next state: roll back on an alert or a breached error rate, else advance when the step's time is up. */
export function advanceCanary(state: CanaryState, schedule: CanarySchedule, obs: CanaryObservation): CanaryState {
  if (state.status !== "running") return state;
  if (obs.alertFiring) return { status: "rolled_back", at: obs.now, reason: "an alert fired on the endpoint" };
  if (obs.requests >= schedule.minRequests && obs.requests > 0) {
    const rate = obs.errors / obs.requests;
    if (rate > schedule.maxErrorRate) {
      return {
        status: "rolled_back",
        at: obs.now,
        reason: `canary error rate ${rate.toFixed(4)} passed the bound ${schedule.maxErrorRate}`,
      };
    }
  }
  if (obs.now - state.stepStartedAt < schedule.stepMs) return state;
  const next = state.step + 1;
  if (next >= schedule.steps.length || (schedule.steps[state.step] ?? 100) >= 100)
    return { status: "promoted", at: obs.now };
  return { status: "running", step: next, stepStartedAt: obs.now, startedAt: state.startedAt };
}
