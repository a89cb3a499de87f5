/**
 * Runs monitor jobs on a schedule: for each monitored model — every champion unless the config
 * excludes it, and the models it lists — and each cadence (hourly, daily, 4h …), once a window has
 * closed (plus a delay for late log records) its job runs, then the alert rules are evaluated for
 * the model. Windows are aligned to multiples of their length (UTC). The clock and the timer
 * functions are injected, so tests drive time.
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
import type { AlertEngine, EvaluationResult } from "./alert-engine.js";
import { parseSinks } from "./alert-sinks.js";
import type { SinkConfig } from "./alert-sinks.js";
import { parseAlertRules } from "./alerts.js";
import type { AlertRule } from "./alerts.js";
import { runMonitorWindow } from "./monitor-job.js";
import { championThreshold, recordPerformance, windowText, type PerformanceReport } from "./performance.js";
import { parseReviewSla, type ReviewSla } from "./review-sla.js";
import { recordSkew, type SkewCheck, type SkewMonitor } from "./skew-window.js";
import { CHAMPION_ALIAS } from "../registry/index.js";
import type { LabelStore, MonitorObservation } from "../store/index.js";
import type { MonitorJobDeps, MonitorWindowResult, QualityThresholds } from "./monitor-job.js";
import {
  CADENCE_RULE,
  cadenceMs,
  UNIT_MS,
  specArray,
  specError,
  specNumber,
  specNumberValue,
  specObject,
  specRequired,
  specString,
} from "../spec-fields.js";

/**
 * How long a monitor window is: `hourly`, `daily`, or a whole number of minutes, hours or days
 * (`15m`, `4h`, `7d`). Windows are aligned to multiples of their length since the epoch (UTC), so
 * `4h` windows start at 00:00, 04:00, … UTC.
 */
export type Cadence = string;

export { cadenceMs } from "../spec-fields.js";

function lengthOf(cadence: Cadence): number {
  const ms = cadenceMs(cadence);
  if (ms === undefined) throw specError("windows", cadence, CADENCE_RULE);
  return ms;
}

/** Rolling performance windows recorded when the config names none. */
export const DEFAULT_PERFORMANCE_WINDOWS: readonly Cadence[] = ["7d", "30d"];

/** Windows of a champion the config does not list (`windows`). */
export const DEFAULT_CHAMPION_WINDOWS: readonly Cadence[] = ["hourly", "daily"];

export interface MonitoredModel {
  readonly name: string;
  readonly version?: string;
  readonly endpoint?: string;
  readonly windows: readonly Cadence[];
  readonly minDriftRows?: number;
  readonly quality?: Partial<QualityThresholds>;
  /** Training-serving skew of the features its endpoint looks up, each window (needs the scheduler's `skew`). */
  readonly skew?: SkewMonitor;
  /** An LLM gateway route (the name is the route's): its windows run the scheduler's `llm` job. */
  readonly llmRoute?: boolean;
}

/** One monitor window of an LLM gateway route: its requests and the observations written. */
export type LlmWindowCheck = (
  route: string,
  window: { readonly start: number; readonly end: number },
) => Promise<{ readonly requests: number; readonly observations: readonly MonitorObservation[] }>;

export interface MonitoringConfig {
  /** Settings of named models, monitored whether or not they have a champion. */
  readonly models: readonly MonitoredModel[];
  /**
   * Every model whose `champion` alias is set is monitored, with `windows`, unless `models` lists
   * it or `exclude` names it (default true). False: only the listed models.
   */
  readonly champions?: boolean;
  /** Models never monitored: the exceptions. */
  readonly exclude?: readonly string[];
  /** Windows of a champion `models` does not list (default hourly and daily). */
  readonly windows?: readonly Cadence[];
  /**
   * Rolling performance windows on delayed labels (default 7d and 30d): metrics `auc_7d`,
   * `fnr_4h` …, recorded as of window ends on multiples of their length (of a day for longer ones).
   */
  readonly performanceWindows?: readonly Cadence[];
  /** Minutes after a window closes before its job runs, for records still being written (default 5). */
  readonly delayMinutes: number;
  /** Alert rules (default: the seed's table). */
  readonly rules?: readonly AlertRule[];
  /** Alert sinks (default: the log). */
  readonly sinks?: readonly SinkConfig[];
  /** An alert when an endpoint's oldest open review item waits past an SLA (default: none). */
  readonly reviewSla?: ReviewSla;
}

function parseWindows(raw: unknown, field: string): Cadence[] {
  if (!Array.isArray(raw) || raw.length === 0)
    throw specError(field, raw, `must be a non-empty list; each ${CADENCE_RULE}`);
  raw.forEach((w, i) => {
    if (typeof w !== "string" || cadenceMs(w) === undefined) throw specError(`${field}[${i}]`, w, CADENCE_RULE);
  });
  return [...new Set(raw as Cadence[])];
}

/** Validates a monitoring config (the `--monitoring-config` file, parsed JSON). */
export function parseMonitoringConfig(json: unknown): MonitoringConfig {
  const c = specObject(json, "", [
    "models",
    "champions",
    "exclude",
    "windows",
    "performanceWindows",
    "delayMinutes",
    "rules",
    "sinks",
    "reviewSla",
  ]);
  const models = specArray(c.models ?? [], "models").map((raw: unknown, i): MonitoredModel => {
    const p = `models[${i}]`;
    const m = specObject(raw, p, ["name", "version", "endpoint", "windows", "minDriftRows", "quality", "skew"]);
    const name = specRequired(specString(m, "name", p), `${p}.name`);
    const version = specString(m, "version", p);
    const endpoint = specString(m, "endpoint", p);
    const windows = parseWindows(m.windows ?? ["daily"], `${p}.windows`);
    const minDriftRows = specNumber(m, "minDriftRows", p, { integer: true, min: 1 });
    let quality: Partial<QualityThresholds> | undefined;
    if (m.quality !== undefined) {
      const q = specObject(m.quality, `${p}.quality`, ["nullRateFactor", "outOfRangeRate", "volumeDrop"]);
      const out: Record<string, number> = {};
      for (const [k, v] of Object.entries(q)) out[k] = specNumberValue(v, `${p}.quality.${k}`, { min: 0 });
      quality = out;
    }
    let skew: SkewMonitor | undefined;
    if (m.skew !== undefined) {
      const k = specObject(m.skew, `${p}.skew`, ["featureService", "threshold"]);
      const threshold = specNumber(k, "threshold", `${p}.skew`, { min: 0, max: 1 });
      skew = {
        featureService: specRequired(specString(k, "featureService", `${p}.skew`), `${p}.skew.featureService`),
        ...(threshold !== undefined ? { threshold } : {}),
      };
    }
    return {
      name,
      windows,
      ...(skew !== undefined ? { skew } : {}),
      ...(version !== undefined ? { version } : {}),
      ...(endpoint !== undefined ? { endpoint } : {}),
      ...(minDriftRows !== undefined ? { minDriftRows } : {}),
      ...(quality !== undefined ? { quality } : {}),
    };
  });
  if (c.champions !== undefined && typeof c.champions !== "boolean")
    throw specError("champions", c.champions, "must be true or false");
  const exclude = specArray(c.exclude ?? [], "exclude").map((v, i) => {
    if (typeof v !== "string" || v === "") throw specError(`exclude[${i}]`, v, "must be a model name");
    return v;
  });
  return {
    models,
    ...(c.champions !== undefined ? { champions: c.champions } : {}),
    ...(exclude.length > 0 ? { exclude } : {}),
    ...(c.windows !== undefined ? { windows: parseWindows(c.windows, "windows") } : {}),
    ...(c.performanceWindows !== undefined
      ? { performanceWindows: parseWindows(c.performanceWindows, "performanceWindows") }
      : {}),
    delayMinutes: specNumberValue(c.delayMinutes ?? 5, "delayMinutes", { min: 0 }),
    ...(c.rules !== undefined ? { rules: parseAlertRules(c.rules) } : {}),
    ...(c.sinks !== undefined ? { sinks: parseSinks(c.sinks) } : {}),
    ...(c.reviewSla !== undefined ? { reviewSla: parseReviewSla(c.reviewSla) } : {}),
  };
}

/** The last window of `cadence` that closed at or before `t`: [end − length, end). */
export function lastClosedWindow(t: number, cadence: Cadence): { start: number; end: number } {
  const len = lengthOf(cadence);
  const end = Math.floor(t / len) * len;
  return { start: end - len, end };
}

export interface SchedulerOptions {
  readonly jobs: MonitorJobDeps;
  readonly config: MonitoringConfig;
  readonly alerts?: AlertEngine;
  /**
   * Delayed labels. When given, each daily window that runs also records the model's rolling
   * performance (7- and 30-day AUC, precision, recall, … as of the window's end), so rules on
   * `auc_7d` and the like are evaluated on schedule.
   */
  readonly labels?: LabelStore;
  /** The feature store's skew check, run each window for the models whose config asks for `skew`. */
  readonly skew?: SkewCheck;
  /** LLM gateway routes monitored alongside the models, and their window job (alerts evaluated per route). */
  readonly llm?: {
    readonly routes: readonly { readonly route: string; readonly windows: readonly Cadence[] }[];
    readonly run: LlmWindowCheck;
  };
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** Job outcomes and failures. */
  readonly logger?: Logger;
  /**
   * Several replicas: windows run only on the replica holding this lease, which records in it how
   * far each model's windows got, so a replica taking over continues there — each window runs once.
   */
  readonly lease?: Lease;
}

export interface WindowRun {
  readonly model: string;
  readonly cadence: Cadence;
  readonly result?: MonitorWindowResult;
  readonly alerts?: EvaluationResult;
  readonly performance?: readonly PerformanceReport[];
  /** The window's skew observations, one per feature. */
  readonly skew?: readonly MonitorObservation[];
  /** An LLM route's window: its requests and observations. */
  readonly llm?: { readonly requests: number; readonly observations: readonly MonitorObservation[] };
  readonly error?: string;
}

/** Runs a failed window gets in all: the first and two retries, each with a later scheduled run. */
const WINDOW_ATTEMPTS = 3;

interface FailedWindow {
  readonly cadence: Cadence;
  readonly start: number;
  readonly attempts: number;
}

export class MonitorScheduler {
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly logger: Logger;
  /** End of the last window run, per model and cadence. */
  private readonly done = new Map<string, number>();
  /** Windows whose job failed, per model, retried (oldest first) before the model's new windows. */
  private readonly failed = new Map<string, FailedWindow[]>();
  private handle: unknown;
  private readonly queue = new SerialQueue();
  private stopped = true;
  /** The models monitored as of the last run: the listed ones and the champions found then. */
  private monitored: readonly MonitoredModel[];

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.logger = options.logger ?? silentLogger;
    const excluded = new Set(options.config.exclude ?? []);
    this.monitored = [...options.config.models.filter((m) => !excluded.has(m.name)), ...this.llmRoutes];
  }

  private get llmRoutes(): MonitoredModel[] {
    return (this.options.llm?.routes ?? []).map((r) => ({ name: r.route, windows: r.windows, llmRoute: true }));
  }

  private get championWindows(): readonly Cadence[] {
    return this.options.config.champions === false ? [] : (this.options.config.windows ?? DEFAULT_CHAMPION_WINDOWS);
  }

  /** The models monitored now: the listed ones, then every champion the config does not list or exclude. */
  async monitoredModels(): Promise<readonly MonitoredModel[]> {
    const { config } = this.options;
    const excluded = new Set(config.exclude ?? []);
    const listed = [...config.models.filter((m) => !excluded.has(m.name)), ...this.llmRoutes];
    if (config.champions === false) return listed;
    const known = new Set(config.models.map((m) => m.name));
    const champions: MonitoredModel[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.options.jobs.registry.searchRegisteredModels({ maxResults: 1000, pageToken });
      for (const model of page.items) {
        if (known.has(model.name) || excluded.has(model.name)) continue;
        if (model.aliases.some((a) => a.alias === CHAMPION_ALIAS))
          champions.push({ name: model.name, windows: this.championWindows });
      }
      pageToken = page.nextPageToken;
    } while (pageToken !== undefined && pageToken !== "");
    return [...listed, ...champions];
  }

  private get delayMs(): number {
    return this.options.config.delayMinutes * 60_000;
  }

  /** Starts the timer. Windows that closed before the start are not back-filled (`POST /api/keel/monitoring/run` runs any window). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const now = this.clock();
    for (const m of this.monitored) {
      for (const c of m.windows) this.done.set(`${m.name}\u0000${c}`, lastClosedWindow(now - this.delayMs, c).end);
    }
    for (const c of this.championWindows) this.done.set(`\u0000${c}`, lastClosedWindow(now - this.delayMs, c).end);
    this.arm();
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.handle !== undefined) this.timers.clearTimeout(this.handle);
    this.handle = undefined;
    await this.queue.idle();
    await this.options.lease?.release().catch(() => undefined);
  }

  /** When the next window is due (epoch ms); champions are looked for when a champion window closes. */
  nextDue(): number {
    let next = Number.POSITIVE_INFINITY;
    const due = (key: string, c: Cadence) => {
      const last = this.done.get(key) ?? lastClosedWindow(this.clock(), c).end;
      next = Math.min(next, last + lengthOf(c) + this.delayMs);
    };
    for (const m of this.monitored) for (const c of m.windows) due(`${m.name}\u0000${c}`, c);
    for (const c of this.championWindows) due(`\u0000${c}`, c);
    return next;
  }

  private arm(): void {
    if (this.stopped) return;
    const due = this.nextDue();
    // No monitored models: nothing is ever due. (Node fires setTimeout(fn, Infinity) after 1 ms.)
    if (!Number.isFinite(due)) return;
    const wait = Math.max(0, due - this.clock());
    this.handle = this.timers.setTimeout(() => {
      this.handle = undefined;
      void this.runDue().finally(() => this.arm());
    }, wait);
  }

  /**
   * Runs every window that has closed (and waited out the delay) since the last run. Calls queue
   * behind the one in progress (the timer's or another caller's), so no window runs twice.
   */
  runDue(): Promise<WindowRun[]> {
    return this.queue.run(() => this.runLeased());
  }

  /**
   * With a lease: the holder takes up the stored progress and runs what is due; another replica
   * only moves its own marks past the windows the holder runs, ready to continue from the stored
   * progress if it is handed the lease.
   */
  private async runLeased(): Promise<WindowRun[]> {
    const lease = this.options.lease;
    if (lease === undefined) return this.runClosedWindows();
    let outcome;
    try {
      outcome = await whileLeased(lease, this.timers, async (grant) => {
        this.takeUp(grant.checkpoint);
        return this.runClosedWindows();
      });
    } catch (e) {
      this.logger.error(
        {},
        `monitoring: the scheduler lease could not be taken: ${e instanceof Error ? e.message : String(e)}`,
      );
      return [];
    }
    if (outcome.ran) return outcome.result;
    const now = this.clock();
    for (const key of this.done.keys()) {
      const cadence = key.slice(key.indexOf("\u0000") + 1);
      this.done.set(key, lastClosedWindow(now - this.delayMs, cadence).end);
    }
    return [];
  }

  /** Each window mark of the lease's checkpoint replaces this replica's own. */
  private takeUp(checkpoint: string | undefined): void {
    if (checkpoint === undefined) return;
    try {
      for (const [key, end] of Object.entries(JSON.parse(checkpoint) as Record<string, number>)) {
        if (typeof end === "number") this.done.set(key, end);
      }
    } catch {
      this.logger.error(
        {},
        "monitoring: the scheduler lease's checkpoint is not readable JSON; continuing from this replica's own marks",
      );
    }
  }

  /** Marks a window done, in the lease's checkpoint too. */
  private async markDone(key: string, end: number): Promise<void> {
    this.done.set(key, end);
    if (this.options.lease === undefined) return;
    const saved = await this.options.lease.save(JSON.stringify(Object.fromEntries(this.done)));
    if (!saved) this.logger.error({}, "monitoring: the scheduler lease was lost while windows ran");
  }

  private async runClosedWindows(): Promise<WindowRun[]> {
    const now = this.clock();
    const runs: WindowRun[] = [];
    try {
      this.monitored = await this.monitoredModels();
    } catch (e) {
      this.logger.error({}, `monitoring: listing champions failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const c of this.championWindows) this.done.set(`\u0000${c}`, lastClosedWindow(now - this.delayMs, c).end);
    for (const m of this.monitored) {
      let ran = false;
      const retries = this.failed.get(m.name) ?? [];
      this.failed.delete(m.name);
      for (const w of retries) {
        if (await this.runWindow(m, w.cadence, w.start, runs, w.attempts + 1)) ran = true;
      }
      const ends: number[] = [];
      for (const cadence of m.windows) {
        const key = `${m.name}\u0000${cadence}`;
        const latest = lastClosedWindow(now - this.delayMs, cadence);
        let from = this.done.get(key) ?? latest.start;
        // one window at a time, oldest first, so volume compares with the window just before
        while (from + lengthOf(cadence) <= latest.end) {
          if (await this.runWindow(m, cadence, from, runs, 1)) {
            ran = true;
            ends.push(from + lengthOf(cadence));
          }
          from += lengthOf(cadence);
          await this.markDone(key, from);
        }
      }
      if (this.options.labels !== undefined && m.llmRoute !== true) {
        for (const [asOf, windows] of this.performanceDue(ends)) {
          await this.recordPerformance(m, asOf, windows, this.options.labels, runs);
        }
      }
      if (ran && this.options.alerts !== undefined) {
        try {
          const alerts = await this.options.alerts.evaluate(m.name);
          runs.push({ model: m.name, cadence: m.windows[0]!, alerts });
        } catch (e) {
          this.logger.error({}, `alerts for ${m.name} failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
    return runs;
  }

  /**
   * Which rolling performance windows to record as of which window ends: each performance window
   * (default 7d and 30d) as of the latest end that ran on a multiple of its length, or of a day for
   * longer ones — daily for 7d, every 4 hours for 4h.
   */
  private performanceDue(ends: readonly number[]): Map<number, number[]> {
    const due = new Map<number, number[]>();
    for (const w of this.options.config.performanceWindows ?? DEFAULT_PERFORMANCE_WINDOWS) {
      const length = lengthOf(w);
      const step = Math.min(length, UNIT_MS.d);
      const asOf = Math.max(...ends.filter((e) => e % step === 0));
      if (!Number.isFinite(asOf)) continue;
      due.set(asOf, [...(due.get(asOf) ?? []), length / UNIT_MS.d]);
    }
    return due;
  }

  /** The model's rolling performance as of a window's end (labels joined to the log). */
  private async recordPerformance(
    m: MonitoredModel,
    asOf: number,
    windowDays: readonly number[],
    labels: LabelStore,
    runs: WindowRun[],
  ): Promise<void> {
    try {
      const performance = await recordPerformance(
        { inferenceLog: this.options.jobs.inferenceLog, labels, observations: this.options.jobs.observations },
        {
          modelName: m.name,
          asOf,
          windows: windowDays,
          ...thresholdOption(await championThreshold(this.options.jobs.registry, m.name)),
        },
      );
      runs.push({
        model: m.name,
        cadence: asOf % UNIT_MS.d === 0 ? "daily" : windowText(Math.min(...windowDays)),
        performance,
      });
      const week = performance[0]?.overall;
      this.logger.info(
        {},
        `performance ${m.name} as of ${new Date(asOf).toISOString()}: ${week?.labelled ?? 0} labelled of ${week?.predictions ?? 0} predictions`,
      );
    } catch (e) {
      this.logger.error(
        {},
        `performance ${m.name} as of ${new Date(asOf).toISOString()} failed: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  /** One window's job; a failure is logged and kept for a retry until its attempts are spent. */
  private async runWindow(
    m: MonitoredModel,
    cadence: Cadence,
    from: number,
    runs: WindowRun[],
    attempt: number,
  ): Promise<boolean> {
    const end = from + lengthOf(cadence);
    const label = `monitor ${m.llmRoute === true ? "LLM route " : ""}${m.name} ${cadence} window ${new Date(from).toISOString()}`;
    try {
      if (m.llmRoute === true) {
        if (this.options.llm === undefined) throw new Error(`LLM route ${m.name} is monitored without an LLM job`);
        const llm = await this.options.llm.run(m.name, { start: from, end });
        runs.push({ model: m.name, cadence, llm });
        this.logger.info({}, `${label}: ${llm.requests} requests${attempt > 1 ? ` (attempt ${attempt})` : ""}`);
        return true;
      }
      const result = await runMonitorWindow(this.options.jobs, {
        modelName: m.name,
        windowStart: from,
        windowEnd: end,
        ...(m.version !== undefined ? { version: m.version } : {}),
        ...(m.endpoint !== undefined ? { endpoint: m.endpoint } : {}),
        ...(m.minDriftRows !== undefined ? { minDriftRows: m.minDriftRows } : {}),
        ...(m.quality !== undefined ? { quality: m.quality } : {}),
      });
      const check = this.options.skew;
      const skew =
        m.skew !== undefined && check !== undefined
          ? await recordSkew(
              check,
              this.options.jobs.observations,
              { modelName: m.name, endpoint: m.endpoint ?? m.name, skew: m.skew },
              { start: from, end },
            )
          : undefined;
      runs.push({ model: m.name, cadence, result, ...(skew !== undefined ? { skew } : {}) });
      this.logger.info({}, `${label}: ${result.rows} rows${attempt > 1 ? ` (attempt ${attempt})` : ""}`);
      return true;
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      runs.push({ model: m.name, cadence, error });
      const retry = attempt < WINDOW_ATTEMPTS;
      this.logger.error(
        {},
        `${label} failed (attempt ${attempt} of ${WINDOW_ATTEMPTS}${retry ? ", retried with the next run" : ", given up"}): ${error}`,
      );
      if (retry)
        this.failed.set(m.name, [...(this.failed.get(m.name) ?? []), { cadence, start: from, attempts: attempt }]);
      return false;
    }
  }
}

function thresholdOption(threshold: number | undefined): { threshold?: number } {
  return threshold === undefined ? {} : { threshold };
}
