/**
 * One feature's distribution in a window of the inference log next to its reference (the training
 * data's profile saved with the version): what a drift heatmap cell opens. Numeric features use
 * the profile's display bins (with the under- and overflow slots), categorical ones its
 * categories plus one slot for values the reference never saw.
 */
import { NotFoundError } from "../errors.js";
import { CHAMPION_ALIAS } from "../registry/index.js";
import { displayCounts } from "../stats/index.js";
import type { MonitorJobDeps } from "./monitor-job.js";
import { readWindow } from "./monitor-job.js";
import { loadReferenceProfile } from "./reference-store.js";

export interface FeatureHistogram {
  readonly model: string;
  readonly version: string;
  readonly feature: string;
  readonly kind: "numeric" | "categorical";
  /** One label per slot, e.g. `< 300`, `[300, 355)`, `> 850`, or a category; `(unseen)` last for categories. */
  readonly labels: readonly string[];
  readonly reference: readonly number[];
  readonly current: readonly number[];
  /** Rows of the window (nulls included); nulls are in no slot. */
  readonly currentRows: number;
  readonly currentNulls: number;
}

export interface FeatureHistogramQuery {
  readonly modelName: string;
  readonly feature: string;
  /** Default: the version the `champion` alias points at. */
  readonly version?: string;
  readonly endpoint?: string;
  /** Epoch ms, inclusive. */
  readonly windowStart: number;
  /** Epoch ms, exclusive. */
  readonly windowEnd: number;
}

const UNSEEN = "(unseen)";

function edgeText(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(4).replace(/\.?0+$/, "");
}

/** Labels of [−∞, e₀), [e₀, e₁), …, [e_{k−1}, e_k], (e_k, ∞]. */
export function binLabels(edges: Float64Array): string[] {
  const k = edges.length - 1;
  const labels = [`< ${edgeText(edges[0]!)}`];
  for (let i = 0; i < k; i++) {
    labels.push(`[${edgeText(edges[i]!)}, ${edgeText(edges[i + 1]!)}${i === k - 1 ? "]" : ")"}`);
  }
  labels.push(`> ${edgeText(edges[k]!)}`);
  return labels;
}

export async function featureHistogram(
  deps: Pick<MonitorJobDeps, "registry" | "artifacts" | "inferenceLog">,
  q: FeatureHistogramQuery,
): Promise<FeatureHistogram> {
  const version = q.version ?? (await deps.registry.getVersionByAlias(q.modelName, CHAMPION_ALIAS)).version;
  const profile = await loadReferenceProfile(deps, q.modelName, version);
  const feature = profile.features.find((f) => f.name === q.feature);
  if (feature === undefined) {
    throw new NotFoundError(
      `feature ${JSON.stringify(q.feature)} is not in the reference profile of ${q.modelName} version ${version} (features: ${profile.features.map((f) => f.name).join(", ")})`,
      { details: { field: "feature", value: q.feature } },
    );
  }
  const records = await readWindow(deps.inferenceLog, {
    modelName: q.modelName,
    modelVersion: version,
    from: q.windowStart,
    to: q.windowEnd,
    ...(q.endpoint === undefined ? {} : { endpoint: q.endpoint }),
  });
  const values = records.map((r) => r.features[q.feature]);
  const nulls = values.filter((v) => v === null || v === undefined).length;
  const base = { model: q.modelName, version, feature: q.feature, currentRows: records.length, currentNulls: nulls };
  if (feature.kind === "numeric") {
    const numbers = values.filter((v): v is number => typeof v === "number" && !Number.isNaN(v));
    const sorted = Float64Array.from(numbers).sort();
    return {
      ...base,
      kind: "numeric",
      labels: binLabels(feature.histEdges),
      reference: [...feature.histCounts],
      current: [...displayCounts(sorted, feature.histEdges)],
    };
  }
  const index = new Map(feature.categories.map((c, i) => [c, i]));
  const current = new Array<number>(feature.categories.length + 1).fill(0);
  for (const v of values) {
    if (v === null || v === undefined) continue;
    const i = index.get(String(v)) ?? feature.categories.length;
    current[i]! += 1;
  }
  return {
    ...base,
    kind: "categorical",
    labels: [...feature.categories, UNSEEN],
    reference: [...feature.counts, 0],
    current,
  };
}
