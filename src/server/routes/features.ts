import type { KeelConfig } from "../../config.js";
import { UnavailableError } from "../../errors.js";
import {
  createFeatureRegistry,
  createFeatureStore,
  openOnlineStore,
  type FeatureStore,
  type FeatureValue,
  type OnlineFeaturesResponse,
  type PushTarget,
} from "../../features/index.js";
import { eventTime } from "../../monitoring/index.js";
import type { Clock } from "../../runtime/index.js";
import type { MetadataDb } from "../../store/index.js";
import { specError } from "../../spec-fields.js";
import type { RoutePlugin } from "../app-deps.js";
import { Input } from "../input.js";
import { parseJsonBody, sendJson } from "../json-body.js";

/** The feature store over a metadata database and the online store of `config`. */
export function openFeatureStore(metadata: MetadataDb, config: KeelConfig, clock?: Clock): FeatureStore {
  return createFeatureStore({
    registry: createFeatureRegistry(metadata, clock !== undefined ? { clock } : {}),
    online: openOnlineStore({ redisUrl: config.redisUrl, dataDir: config.dataDir }),
    clock: clock ?? Date.now,
    eventTime,
  });
}

const PUSH_TARGETS: readonly PushTarget[] = ["online", "offline", "online_and_offline"];

/** `{"applicant_id": [1, 2], …}`: one array per join key or request field. */
function entityColumns(input: Input): Record<string, readonly FeatureValue[]> {
  const raw = input.rawValue("entities");
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw specError("entities", raw ?? null, "must be an object of arrays, one per join key");
  }
  return raw as Record<string, readonly FeatureValue[]>;
}

function dataframe(input: Input): Record<string, unknown> {
  const raw = input.rawValue("df");
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw specError("df", raw ?? null, "must be an object of columns (arrays of equal length)");
  }
  return raw as Record<string, unknown>;
}

function featureViews(input: Input): { featureViews?: string[] } {
  return input.has("feature_views") ? { featureViews: input.stringList("feature_views") } : {};
}

/**
 * Feast's feature server (docs/features.md): `POST /get-online-features`, `/push`, `/materialize`,
 * `/materialize-incremental`, over the feature repository applied to this server's metadata store
 * and the online store of its config (Redis when `redisUrl` is set, else SQLite in the data dir).
 */
export const featureRoutes: RoutePlugin = async (app, deps) => {
  const { config, stores, clock } = deps;
  // The model server's feature store when there is one (its owner closes it), else one of our own.
  let featureStore: FeatureStore | undefined = deps.features;
  const features = (): FeatureStore => {
    if (featureStore === undefined) {
      if (stores.metadata === undefined) {
        throw new UnavailableError("features: this server has no metadata store for the feature registry");
      }
      featureStore = openFeatureStore(stores.metadata, config, clock);
    }
    return featureStore;
  };
  app.addHook("onClose", async () => {
    if (featureStore !== deps.features) await featureStore?.close();
  });

  // The online read is a hot path: its own scope with a plain JSON parser, the answer written as text.
  await app.register((hot, _opts, done) => {
    hot.removeContentTypeParser("application/json");
    hot.addContentTypeParser("application/json", { parseAs: "string" }, parseJsonBody);
    hot.post("/get-online-features", { config: { role: "reader" } }, (req, reply) => {
      let pending: Promise<OnlineFeaturesResponse>;
      try {
        const input = Input.of(req);
        const featureService = input.string("feature_service");
        const fullFeatureNames = input.boolean("full_feature_names");
        pending = features().getOnlineFeatures({
          ...(input.has("features") ? { features: input.stringList("features") } : {}),
          ...(featureService !== undefined ? { featureService } : {}),
          entities: entityColumns(input),
          ...(fullFeatureNames !== undefined ? { fullFeatureNames } : {}),
        });
      } catch (e) {
        pending = Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
      pending.then(
        (answer) => sendJson(reply, JSON.stringify(answer)),
        (e: unknown) => void reply.send(e),
      );
    });
    done();
  });

  app.post("/push", async (req) => {
    const input = Input.of(req);
    const to = input.oneOf("to", PUSH_TARGETS) ?? "online";
    const rows = await features().push(input.requiredString("push_source_name"), dataframe(input), to);
    return { rows_written: rows };
  });

  app.post("/materialize", async (req) => {
    const input = Input.of(req);
    const start = eventTime(input.rawValue("start_ts"), "start_ts");
    const end = eventTime(input.rawValue("end_ts"), "end_ts");
    return { materialized: await features().materialize({ start, end, ...featureViews(input) }) };
  });

  app.post("/materialize-incremental", async (req) => {
    const input = Input.of(req);
    const end = eventTime(input.rawValue("end_ts"), "end_ts");
    return { materialized: await features().materializeIncremental({ end, ...featureViews(input) }) };
  });
};
