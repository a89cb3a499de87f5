import { pathToFileURL } from "node:url";
import { InvalidParameterError, InvalidStateError } from "../errors.js";
import type { OnDemandFeatureViewDefinition } from "./definition.js";
import type { FeatureValue } from "./online-store.js";

/**
 * An on-demand transformation: one array per input (the source views' features by name and the
 * request fields), one array per declared output, all of the same length. Pure, so the same code
 * gives the same values offline and online.
 */
export type OnDemandTransform = (
  columns: Readonly<Record<string, readonly FeatureValue[]>>,
) => Readonly<Record<string, readonly FeatureValue[]>>;

/** Imports each transformation module once per loader (a server keeps one loader). */
export function createTransformLoader(): (view: OnDemandFeatureViewDefinition) => Promise<OnDemandTransform> {
  const loaded = new Map<string, Promise<OnDemandTransform>>();
  return (view) => {
    let p = loaded.get(view.module);
    if (p === undefined) {
      p = import(pathToFileURL(view.module).href).then((m: { default?: unknown }) => {
        if (typeof m.default !== "function") {
          throw new InvalidParameterError(
            `on_demand_feature_views.${view.name}.module = ${JSON.stringify(view.module)}: must export a function as default`,
            {
              details: {
                field: `on_demand_feature_views.${view.name}.module`,
                value: view.module,
                rule: "default export must be a function",
              },
            },
          );
        }
        return m.default as OnDemandTransform;
      });
      loaded.set(view.module, p);
    }
    return p;
  };
}

function isValue(v: unknown): v is FeatureValue {
  return v === null || typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v));
}

/** Runs `fn` on `n` rows and checks it returned every declared output, `n` long, of plain values. */
export function runOnDemand(
  view: OnDemandFeatureViewDefinition,
  fn: OnDemandTransform,
  inputs: Readonly<Record<string, readonly FeatureValue[]>>,
  n: number,
): Record<string, readonly FeatureValue[]> {
  const out = fn(inputs);
  const result: Record<string, readonly FeatureValue[]> = {};
  for (const f of view.schema) {
    const col = out[f.name];
    if (!Array.isArray(col) || col.length !== n || !col.every(isValue)) {
      throw new InvalidStateError(
        `on-demand feature view ${view.name}: output ${f.name} must be an array of ${n} numbers, strings, booleans or nulls`,
      );
    }
    result[f.name] = col;
  }
  return result;
}
