import type { FeatureRepo } from "./definition.js";

export type FeatureObjectKind = "entity" | "source" | "feature_view" | "on_demand_feature_view" | "feature_service";

export interface FeatureObjectSummary {
  readonly kind: FeatureObjectKind;
  readonly name: string;
  readonly summary: string;
}

function ttlText(seconds: number | undefined): string {
  return seconds === undefined ? "no ttl" : `ttl ${seconds}s`;
}

/** Every object of a repository, one line each, in the order `keel features list` shows them. */
export function featureObjects(repo: FeatureRepo): FeatureObjectSummary[] {
  return [
    ...repo.entities.map((e) => ({
      kind: "entity" as const,
      name: e.name,
      summary: `join keys ${e.joinKeys.join(", ")}`,
    })),
    ...repo.sources.map((s) => ({
      kind: "source" as const,
      name: s.name,
      summary: `${s.path ?? "query"}, timestamp ${s.timestampField}`,
    })),
    ...repo.featureViews.map((v) => ({
      kind: "feature_view" as const,
      name: v.name,
      summary: `${v.schema.length} features of ${v.entities.join(", ")} from ${v.source}, ${ttlText(v.ttlSeconds)}`,
    })),
    ...repo.onDemandFeatureViews.map((v) => ({
      kind: "on_demand_feature_view" as const,
      name: v.name,
      summary: `${v.schema.length} features from ${v.sources.join(", ")}`,
    })),
    ...repo.featureServices.map((s) => ({
      kind: "feature_service" as const,
      name: s.name,
      summary: `${s.features.length} features`,
    })),
  ];
}

/** The named object with its kind, or undefined. Sources share names with views, so views win. */
export function describeFeatureObject(
  repo: FeatureRepo,
  name: string,
): { kind: FeatureObjectKind; definition: unknown } | undefined {
  const candidates: [FeatureObjectKind, readonly { name: string }[]][] = [
    ["feature_view", repo.featureViews],
    ["on_demand_feature_view", repo.onDemandFeatureViews],
    ["feature_service", repo.featureServices],
    ["entity", repo.entities],
    ["source", repo.sources],
  ];
  for (const [kind, items] of candidates) {
    const found = items.find((x) => x.name === name);
    if (found !== undefined) return { kind, definition: found };
  }
  return undefined;
}
