/**
 * Online feature retrieval in the shape of Feast's feature server: join keys first, then one
 * column of values, statuses and event timestamps per feature. TTL is enforced here, at read time,
 * for every backend: a row older than its view's TTL is OUTSIDE_MAX_AGE with a null value.
 */
import type { Clock } from "../runtime/index.js";
import { specError } from "../spec-fields.js";
import {
  featureColumnName,
  type FeatureField,
  type FeatureRef,
  type FeatureRepo,
  type FeatureViewDefinition,
  type OnDemandFeatureViewDefinition,
} from "./definition.js";
import { viewJoinKeys } from "./offline.js";
import { runOnDemand, type OnDemandTransform } from "./on-demand.js";
import { entityKey, type FeatureValue, type OnlineStore } from "./online-store.js";

export type FeatureStatus = "PRESENT" | "NOT_FOUND" | "OUTSIDE_MAX_AGE";

export interface OnlineFeaturesRequest {
  readonly features: readonly FeatureRef[];
  /** Join keys (and on-demand views' request fields), one array each, one element per entity. */
  readonly entities: Readonly<Record<string, readonly FeatureValue[]>>;
  readonly fullFeatureNames?: boolean;
}

export interface FeatureVector {
  readonly values: FeatureValue[];
  readonly statuses: FeatureStatus[];
  readonly event_timestamps: string[];
}

export interface OnlineFeaturesResponse {
  readonly metadata: { readonly feature_names: string[] };
  readonly results: FeatureVector[];
}

export interface OnlineFeatureSources {
  readonly repo: FeatureRepo;
  readonly store: OnlineStore;
  /** Epoch milliseconds; the TTL is measured back from it. */
  readonly now: Clock;
  readonly transform: (view: OnDemandFeatureViewDefinition) => Promise<OnDemandTransform>;
}

/** Feast's timestamp for "no event time" (join keys, missing rows). */
const NO_TIME = "1970-01-01T00:00:00Z";

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** One feature view's rows for the request's entities, with TTL applied. */
interface ServedView {
  readonly statuses: FeatureStatus[];
  readonly times: string[];
  readonly values: Readonly<Record<string, FeatureValue>>[];
}

function entityCount(entities: Readonly<Record<string, readonly FeatureValue[]>>): number {
  const entries = Object.entries(entities);
  const first = entries[0];
  if (first === undefined) throw specError("entities", entities, "must give at least one join key");
  for (const [name, values] of entries) {
    if (!Array.isArray(values)) throw specError(`entities.${name}`, values, "must be an array");
    if (values.length !== first[1].length) {
      throw specError(
        `entities.${name}`,
        values.length,
        `must have as many values as entities.${first[0]} (${first[1].length})`,
      );
    }
  }
  return first[1].length;
}

async function serveView(
  src: OnlineFeatureSources,
  view: FeatureViewDefinition,
  entities: Readonly<Record<string, readonly FeatureValue[]>>,
  n: number,
): Promise<ServedView> {
  const keys = viewJoinKeys(src.repo, view);
  const columns = keys.map((k) => {
    const col = entities[k];
    if (col === undefined) {
      throw specError("entities", Object.keys(entities), `must include join key ${k} of feature view ${view.name}`);
    }
    return col;
  });
  const rows = await src.store.read(
    view.name,
    Array.from({ length: n }, (_, i) => entityKey(columns.map((c) => c[i] as FeatureValue))),
  );
  const now = src.now();
  const out: ServedView = { statuses: [], times: [], values: [] };
  rows.forEach((row, i) => {
    const missingKey = columns.some((c) => c[i] === null || c[i] === undefined);
    if (row === undefined || missingKey) {
      out.statuses.push("NOT_FOUND");
      out.times.push(NO_TIME);
      out.values.push({});
    } else if (view.ttlSeconds !== undefined && now - row.eventTime > view.ttlSeconds * 1000) {
      out.statuses.push("OUTSIDE_MAX_AGE");
      out.times.push(rfc3339(row.eventTime));
      out.values.push({});
    } else {
      out.statuses.push("PRESENT");
      out.times.push(rfc3339(row.eventTime));
      out.values.push(row.values);
    }
  });
  return out;
}

/** The on-demand view's outputs, computed on the served values of its sources and the request fields. */
async function serveOnDemand(
  src: OnlineFeatureSources,
  view: OnDemandFeatureViewDefinition,
  served: ReadonlyMap<string, ServedView>,
  entities: Readonly<Record<string, readonly FeatureValue[]>>,
  n: number,
): Promise<Record<string, readonly FeatureValue[]>> {
  const inputs: Record<string, readonly FeatureValue[]> = {};
  for (const s of view.sources) {
    const fv = src.repo.featureViews.find((v) => v.name === s) as FeatureViewDefinition;
    const rows = served.get(s) as ServedView;
    for (const f of fv.schema) inputs[f.name] = rows.values.map((r) => r[f.name] ?? null);
  }
  for (const f of view.requestFields) {
    const col = entities[f.name];
    if (col === undefined) {
      throw specError(
        "entities",
        Object.keys(entities),
        `must include request field ${f.name} of on-demand feature view ${view.name}`,
      );
    }
    inputs[f.name] = col;
  }
  return runOnDemand(view, await src.transform(view), inputs, n);
}

/** What an online request for `features` must carry: the join keys and the on-demand views' request fields. */
export interface EntityInputs {
  readonly joinKeys: readonly string[];
  readonly requestFields: readonly FeatureField[];
  /** The names the features are answered under (without full feature names). */
  readonly served: readonly string[];
}

export function entityInputs(repo: FeatureRepo, features: readonly FeatureRef[]): EntityInputs {
  const joinKeys = new Set<string>();
  const requestFields = new Map<string, FeatureField>();
  for (const r of features) {
    const odfv = repo.onDemandFeatureViews.find((v) => v.name === r.view);
    const views = odfv === undefined ? [r.view] : odfv.sources;
    for (const name of views) {
      const view = repo.featureViews.find((v) => v.name === name) as FeatureViewDefinition;
      for (const k of viewJoinKeys(repo, view)) joinKeys.add(k);
    }
    for (const f of odfv?.requestFields ?? []) requestFields.set(f.name, f);
  }
  return {
    joinKeys: [...joinKeys],
    requestFields: [...requestFields.values()],
    served: features.map((r) => featureColumnName(r, false)),
  };
}

export async function getOnlineFeatures(
  src: OnlineFeatureSources,
  req: OnlineFeaturesRequest,
): Promise<OnlineFeaturesResponse> {
  const n = entityCount(req.entities);
  const onDemand = new Map<string, OnDemandFeatureViewDefinition>();
  const viewNames = new Set<string>();
  for (const r of req.features) {
    const odfv = src.repo.onDemandFeatureViews.find((v) => v.name === r.view);
    if (odfv === undefined) viewNames.add(r.view);
    else {
      onDemand.set(odfv.name, odfv);
      for (const s of odfv.sources) viewNames.add(s);
    }
  }
  const served = new Map<string, ServedView>();
  for (const name of viewNames) {
    const view = src.repo.featureViews.find((v) => v.name === name) as FeatureViewDefinition;
    served.set(name, await serveView(src, view, req.entities, n));
  }
  const computed = new Map<string, Record<string, readonly FeatureValue[]>>();
  for (const [name, view] of onDemand) computed.set(name, await serveOnDemand(src, view, served, req.entities, n));

  const joinKeys = new Set(src.repo.entities.flatMap((e) => e.joinKeys));
  const names: string[] = [];
  const results: FeatureVector[] = [];
  for (const [key, values] of Object.entries(req.entities)) {
    if (!joinKeys.has(key)) continue;
    names.push(key);
    results.push({
      values: [...values],
      statuses: values.map(() => "PRESENT"),
      event_timestamps: values.map(() => NO_TIME),
    });
  }
  for (const r of req.features) {
    names.push(featureColumnName(r, req.fullFeatureNames));
    const view = served.get(r.view);
    if (view !== undefined) {
      results.push({
        values: view.values.map((v) => v[r.feature] ?? null),
        statuses: [...view.statuses],
        event_timestamps: [...view.times],
      });
      continue;
    }
    const values = [...((computed.get(r.view) as Record<string, readonly FeatureValue[]>)[r.feature] ?? [])];
    results.push({
      values,
      statuses: values.map((v) => (v === null ? "NOT_FOUND" : "PRESENT")),
      event_timestamps: values.map(() => NO_TIME),
    });
  }
  return { metadata: { feature_names: names }, results };
}
