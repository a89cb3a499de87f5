import type { Clock } from "./runtime/index.js";
import { loadConfig } from "./config.js";
import type { KeelConfig } from "./config.js";
import { NotFoundError } from "./errors.js";
import { openStores } from "./open-stores.js";
import type { Stores } from "./open-stores.js";
import { artifactStorePath } from "./tracking/index.js";
import type { Actor, Metric, Run, RunStatus, Tag } from "./tracking/index.js";

/** A run being logged in-process: the same store the server and the CLI use, without HTTP. */
export interface ActiveRun {
  readonly runId: string;
  readonly experimentId: string;
  readonly artifactUri: string;
  logParam(key: string, value: string | number | boolean): Promise<void>;
  logParams(params: Readonly<Record<string, string | number | boolean>>): Promise<void>;
  /** `step` defaults to 0, the time to now. */
  logMetric(key: string, value: number, step?: number): Promise<void>;
  /** Many metrics at one step in one atomic batch. */
  logMetrics(metrics: Readonly<Record<string, number>>, step?: number): Promise<void>;
  setTag(key: string, value: string): Promise<void>;
  /** Stores bytes as `path` under the run's artifacts (checksummed, atomic). */
  logArtifact(path: string, bytes: Uint8Array): Promise<void>;
  /** The run as stored: params, latest metrics, tags. */
  get(): Promise<Run>;
  /** Marks the run FINISHED (or the given status) with its end time. */
  end(status?: RunStatus): Promise<void>;
}

export interface KeelOptions {
  /** Where the embedded store lives (default ./keel-data). */
  readonly dataDir?: string;
  /** `sqlite:///path` or `postgresql://...`; overrides dataDir for metadata. */
  readonly backendStoreUri?: string;
  /** Environment to read KEEL_* settings from; pass `process.env` to honour it. Default: none. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Recorded as the actor in the audit log and the runs' user. */
  readonly user?: string;
  readonly clock?: Clock;
}

export interface Keel {
  readonly config: KeelConfig;
  readonly stores: Stores;
  /** Starts a run in `experiment` (a name, created when missing). */
  startRun(options?: {
    experiment?: string;
    runName?: string;
    tags?: Readonly<Record<string, string>>;
  }): Promise<ActiveRun>;
  close(): Promise<void>;
}

/**
 * Opens keel's stores in-process (migrating them) for the library API:
 * `const keel = await openKeel(); const run = await keel.startRun({ experiment: "loan" });`.
 */
export async function openKeel(options: KeelOptions = {}): Promise<Keel> {
  const config = loadConfig({
    flags: { dataDir: options.dataDir, backendStoreUri: options.backendStoreUri },
    env: options.env ?? {},
  });
  const clock = options.clock ?? Date.now;
  const stores = openStores({
    backendStoreUri: config.backendStoreUri,
    artifactRoot: config.artifactRoot,
    s3: config.s3,
    clock,
    ...(config.webhookSecret === undefined ? {} : { webhookSecret: config.webhookSecret }),
  });
  await stores.migrate();
  const actor: Actor = { userId: options.user ?? "library" };
  const { tracking, artifacts } = stores;

  async function experimentId(name: string): Promise<string> {
    try {
      return (await tracking.getExperimentByName(name)).experimentId;
    } catch (e) {
      if (e instanceof NotFoundError) return tracking.createExperiment(name, undefined, [], actor);
      throw e;
    }
  }

  return {
    config,
    stores,
    async startRun(runOptions = {}) {
      const expId = runOptions.experiment === undefined ? "0" : await experimentId(runOptions.experiment);
      const tags: Tag[] = Object.entries(runOptions.tags ?? {}).map(([key, value]) => ({ key, value }));
      const run = await tracking.createRun(
        {
          experimentId: expId,
          userId: actor.userId,
          tags,
          ...(runOptions.runName === undefined ? {} : { runName: runOptions.runName }),
        },
        actor,
      );
      const runId = run.info.runId;
      const artifactRoot = artifactStorePath(run.info.artifactUri);
      const metric = (key: string, value: number, step: number): Metric => ({ key, value, step, timestamp: clock() });
      return {
        runId,
        experimentId: expId,
        artifactUri: run.info.artifactUri,
        logParam: (key, value) => tracking.logParam(runId, { key, value: String(value) }, actor),
        logParams: (params) =>
          tracking.logBatch(
            runId,
            { params: Object.entries(params).map(([key, value]) => ({ key, value: String(value) })) },
            actor,
          ),
        logMetric: (key, value, step = 0) => tracking.logMetric(runId, metric(key, value, step), actor),
        logMetrics: (metrics, step = 0) =>
          tracking.logBatch(
            runId,
            { metrics: Object.entries(metrics).map(([key, value]) => metric(key, value, step)) },
            actor,
          ),
        setTag: (key, value) => tracking.setTag(runId, { key, value }, actor),
        async logArtifact(path, bytes) {
          await artifacts.putFile(`${artifactRoot}/${path.replace(/^\/+/, "")}`, bytes);
        },
        get: () => tracking.getRun(runId),
        async end(status = "FINISHED") {
          await tracking.updateRun(runId, { status, endTime: clock() }, actor);
        },
      };
    },
    close: () => stores.close(),
  };
}
