/**
 * Runs monitor jobs on a schedule: for each configured model and cadence (hourly, daily), once a
 * window has closed (plus a delay for late log records) its job runs, then the alert rules are
 * evaluated for the model. Windows are aligned to UTC hours and days. The clock and the timer
 * functions are injected, so tests drive time.
 */
import { silentLogger, systemClock, systemTimers, type Clock, type Logger, type Timers } from "../runtime/index.js";
import type { AlertEngine, EvaluationResult } from "./alert-engine.js";
import { parseSinks } from "./alert-sinks.js";
import type { SinkConfig } from "./alert-sinks.js";
import { parseAlertRules } from "./alerts.js";
import type { AlertRule } from "./alerts.js";
import { runMonitorWindow } from "./monitor-job.js";
import { recordPerformance, type PerformanceReport } from "./performance.js";
import { recordSkew, type SkewCheck, type SkewMonitor } from "./skew-window.js";
import type { LabelStore, MonitorObservation } from "../store/index.js";
import type { MonitorJobDeps, MonitorWindowResult, QualityThresholds } from "./monitor-job.js";
import {
  specArray,
  specError,
  specNumber,
  specNumberValue,
  specObject,
  specRequired,
  specString,
} from "../spec-fields.js";

export type Cadence = "hourly" | "daily";
export const CADENCE_MS: Readonly<Record<Cadence, number>> = { hourly: 3_600_000, daily: 86_400_000 };

export interface MonitoredModel {
  readonly name: string;
  readonly version?: string;
  readonly endpoint?: string;
  readonly windows: readonly Cadence[];
  readonly minDriftRows?: number;
  readonly quality?: Partial<QualityThresholds>;
  /** Training-serving skew of the features its endpoint looks up, each window (needs the scheduler's `skew`). */
  readonly skew?: SkewMonitor;
}

export interface MonitoringConfig {
  readonly models: readonly MonitoredModel[];
  /** Minutes after a window closes before its job runs, for records still being written (default 5). */
  readonly delayMinutes: number;
  /** Alert rules (default: the seed's table). */
  readonly rules?: readonly AlertRule[];
  /** Alert sinks (default: the log). */
  readonly sinks?: readonly SinkConfig[];
}

/** Validates a monitoring config (the `--monitoring-config` file, parsed JSON). */
export function parseMonitoringConfig(json: unknown): MonitoringConfig {
  const c = specObject(json, "", ["models", "delayMinutes", "rules", "sinks"]);
  const models = specArray(specRequired(c.models, "models"), "models").map((raw: unknown, i): MonitoredModel => {
    const p = `models[${i}]`;
    const m = specObject(raw, p, ["name", "version", "endpoint", "windows", "minDriftRows", "quality", "skew"]);
    const name = specRequired(specString(m, "name", p), `${p}.name`);
    const version = specString(m, "version", p);
    const endpoint = specString(m, "endpoint", p);
    const windows = m.windows ?? ["daily"];
    if (!Array.isArray(windows) || windows.length === 0 || !windows.every((w) => w === "hourly" || w === "daily")) {
      throw specError(`${p}.windows`, windows, "must be a non-empty list of hourly, daily");
    }
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
      windows: [...new Set(windows as Cadence[])],
      ...(skew !== undefined ? { skew } : {}),
      ...(version !== undefined ? { version } : {}),
      ...(endpoint !== undefined ? { endpoint } : {}),
      ...(minDriftRows !== undefined ? { minDriftRows } : {}),
      ...(quality !== undefined ? { quality } : {}),
    };
  });
  return {
    models,
    delayMinutes: specNumberValue(c.delayMinutes ?? 5, "delayMinutes", { min: 0 }),
    ...(c.rules !== undefined ? { rules: parseAlertRules(c.rules) } : {}),
    ...(c.sinks !== undefined ? { sinks: parseSinks(c.sinks) } : {}),
  };
}

/** The last window of `cadence` that closed at or before `t`: [end − length, end). */
export function lastClosedWindow(t: number, cadence: Cadence): { start: number; end: number } {
  const len = CADENCE_MS[cadence];
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
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** Job outcomes and failures. */
  readonly logger?: Logger;
}

export interface WindowRun {
  readonly model: string;
  readonly cadence: Cadence;
  readonly result?: MonitorWindowResult;
  readonly alerts?: EvaluationResult;
  readonly performance?: readonly PerformanceReport[];
  /** The window's skew observations, one per feature. */
  readonly skew?: readonly MonitorObservation[];
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
  private running: Promise<unknown> = Promise.resolve();
  private stopped = true;

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.logger = options.logger ?? silentLogger;
  }

  private get delayMs(): number {
    return this.options.config.delayMinutes * 60_000;
  }

  /** Starts the timer. Windows that closed before the start are not back-filled (`POST /api/keel/monitoring/run` runs any window). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const now = this.clock();
    for (const m of this.options.config.models) {
      for (const c of m.windows) this.done.set(`${m.name}\u0000${c}`, lastClosedWindow(now - this.delayMs, c).end);
    }
    this.arm();
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.handle !== undefined) this.timers.clearTimeout(this.handle);
    this.handle = undefined;
    await this.running.catch(() => undefined);
  }

  /** When the next window is due (epoch ms). */
  nextDue(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const m of this.options.config.models) {
      for (const c of m.windows) {
        const last = this.done.get(`${m.name}\u0000${c}`) ?? lastClosedWindow(this.clock(), c).end;
        next = Math.min(next, last + CADENCE_MS[c] + this.delayMs);
      }
    }
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
    const run = this.running.catch(() => undefined).then(() => this.runClosedWindows());
    this.running = run;
    return run;
  }

  private async runClosedWindows(): Promise<WindowRun[]> {
    const now = this.clock();
    const runs: WindowRun[] = [];
    for (const m of this.options.config.models) {
      let ran = false;
      const retries = this.failed.get(m.name) ?? [];
      this.failed.delete(m.name);
      for (const w of retries) {
        if (await this.runWindow(m, w.cadence, w.start, runs, w.attempts + 1)) ran = true;
      }
      let performanceAsOf: number | undefined;
      for (const cadence of m.windows) {
        const key = `${m.name}\u0000${cadence}`;
        const latest = lastClosedWindow(now - this.delayMs, cadence);
        let from = this.done.get(key) ?? latest.start;
        // one window at a time, oldest first, so volume compares with the window just before
        while (from + CADENCE_MS[cadence] <= latest.end) {
          if (await this.runWindow(m, cadence, from, runs, 1)) {
            ran = true;
            if (cadence === "daily") performanceAsOf = from + CADENCE_MS.daily;
          }
          from += CADENCE_MS[cadence];
          this.done.set(key, from);
        }
      }
      if (performanceAsOf !== undefined && this.options.labels !== undefined) {
        await this.recordPerformance(m, performanceAsOf, this.options.labels, runs);
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

  /** The model's rolling performance as of a daily window's end (labels joined to the log). */
  private async recordPerformance(
    m: MonitoredModel,
    asOf: number,
    labels: LabelStore,
    runs: WindowRun[],
  ): Promise<void> {
    try {
      const performance = await recordPerformance(
        { inferenceLog: this.options.jobs.inferenceLog, labels, observations: this.options.jobs.observations },
        { modelName: m.name, asOf },
      );
      runs.push({ model: m.name, cadence: "daily", performance });
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
    const end = from + CADENCE_MS[cadence];
    const label = `monitor ${m.name} ${cadence} window ${new Date(from).toISOString()}`;
    try {
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
