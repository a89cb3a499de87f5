/**
 * The feature store as a server (or a library user) holds it: the applied repository, re-read from
 * the registry every few seconds like Feast's registry cache, the online store, and the
 * transformation modules, imported once.
 */
import type { Clock } from "../runtime/index.js";
import { featureService, requestedFeatures, type FeatureRepo } from "./definition.js";
import { materialize, materializeIncremental, type MaterializeResult } from "./materialize.js";
import { createTransformLoader } from "./on-demand.js";
import { entityInputs, getOnlineFeatures, type EntityInputs, type OnlineFeaturesResponse } from "./online.js";
import type { FeatureValue, OnlineStore } from "./online-store.js";
import { pushToOnlineStore } from "./push.js";
import { pushToOfflineStore } from "./push-offline.js";
import type { FeatureRegistry } from "./registry.js";

/** How long an applied repository is served before the registry is asked again. */
const REPO_REFRESH_MS = 5000;

export interface OnlineFeaturesQuery {
  /** `view:feature` or view names; or `featureService`. */
  readonly features?: readonly string[];
  readonly featureService?: string;
  readonly entities: Readonly<Record<string, readonly FeatureValue[]>>;
  readonly fullFeatureNames?: boolean;
}

export type PushTarget = "online" | "offline" | "online_and_offline";

export interface FeatureStore {
  /** The applied repository (cached for a few seconds). */
  repo(): Promise<FeatureRepo>;
  getOnlineFeatures(query: OnlineFeaturesQuery): Promise<OnlineFeaturesResponse>;
  /** The join keys and request fields a request for a feature service carries. */
  serviceInputs(featureService: string): Promise<EntityInputs>;
  /**
   * Writes pushed rows to the online store, the source file (offline), or both (the file first).
   * Returns the rows written to the online store (one per feature view and row), or, offline only,
   * the rows appended to the file.
   */
  push(sourceName: string, df: Readonly<Record<string, unknown>>, to: PushTarget): Promise<number>;
  materialize(options: { start: number; end: number; featureViews?: readonly string[] }): Promise<MaterializeResult[]>;
  materializeIncremental(options: { end: number; featureViews?: readonly string[] }): Promise<MaterializeResult[]>;
  close(): Promise<void>;
}

export interface FeatureStoreDeps {
  readonly registry: FeatureRegistry;
  readonly online: OnlineStore;
  /** Epoch milliseconds: TTLs are measured back from it. */
  readonly clock: Clock;
  /** keel's time parser (epoch ms or ISO-8601) for pushed event times. */
  readonly eventTime: (raw: unknown, field: string) => number;
}

export function createFeatureStore(deps: FeatureStoreDeps): FeatureStore {
  const transform = createTransformLoader();
  let cached: { repo: FeatureRepo; at: number } | undefined;
  let pushing: Promise<unknown> = Promise.resolve();

  const store: FeatureStore = {
    async repo() {
      const now = Date.now();
      if (cached === undefined || now - cached.at > REPO_REFRESH_MS) {
        cached = { repo: (await deps.registry.current()).repo, at: now };
      }
      return cached.repo;
    },
    async getOnlineFeatures(q) {
      const repo = await store.repo();
      return getOnlineFeatures(
        { repo, store: deps.online, now: deps.clock, transform },
        {
          features: requestedFeatures(repo, q, { features: "features", featureService: "feature_service" }),
          entities: q.entities,
          ...(q.fullFeatureNames !== undefined ? { fullFeatureNames: q.fullFeatureNames } : {}),
        },
      );
    },
    async serviceInputs(name) {
      const repo = await store.repo();
      return entityInputs(repo, featureService(repo, name, "feature_service").features);
    },
    async push(sourceName, df, to) {
      const repo = await store.repo();
      let written = 0;
      if (to !== "online") {
        // One rewrite of a source file at a time: a second push waits for the first's rename.
        const offline = pushing.then(() => pushToOfflineStore(repo, sourceName, df, deps.eventTime, deps.clock()));
        pushing = offline.catch(() => undefined);
        written = await offline;
      }
      if (to !== "offline") written = await pushToOnlineStore(repo, deps.online, sourceName, df, deps.eventTime);
      return written;
    },
    async materialize(options) {
      return materialize(await store.repo(), deps.registry, deps.online, options);
    },
    async materializeIncremental(options) {
      return materializeIncremental(await store.repo(), deps.registry, deps.online, options);
    },
    close: () => deps.online.close(),
  };
  return store;
}
