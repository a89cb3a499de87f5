/**
 * Serving by entity key: an endpoint that names a feature service takes join keys (and the
 * on-demand views' request fields); the server looks the features up in the online store (TTL
 * enforced on the read), runs the on-demand transformations on them (the code training sets were
 * built with), and hands the signature check a table holding what the model was trained on.
 */
import type { Signature, SignatureColumn, SignatureType } from "../data/index.js";
import type { EntityInputs, FeatureDtype, FeatureStore, FeatureValue } from "../features/index.js";
import type { InputTable, RawValue } from "./input-table.js";

const SIGNATURE_TYPE: Record<FeatureDtype, SignatureType> = {
  int64: "long",
  float64: "double",
  string: "string",
  bool: "boolean",
};

/**
 * The request's table with the feature service's features added, by feature name (a feature the
 * client sent itself is replaced by the served one). Each row's entity is the service's join key
 * when it has one.
 */
export async function withServedFeatures(store: FeatureStore, service: string, table: InputTable): Promise<InputTable> {
  const entities: Record<string, FeatureValue[]> = {};
  for (const [name, values] of table.columns) entities[name] = Array.from(values, (v) => v ?? null);
  const [served, inputs] = await Promise.all([
    store.getOnlineFeatures({ featureService: service, entities }),
    store.serviceInputs(service),
  ]);
  const columns = new Map<string, ArrayLike<RawValue>>(table.columns);
  const sources = new Map(table.sources ?? []);
  served.metadata.feature_names.forEach((name, j) => {
    if (inputs.joinKeys.includes(name)) return;
    columns.set(name, served.results[j]?.values ?? []);
    sources.set(name, `${name} (served by feature service ${service})`);
  });
  const entityColumn = inputs.joinKeys.length === 1 ? inputs.joinKeys[0] : undefined;
  return {
    nRows: table.nRows,
    columns,
    sources,
    ...(table.textual === true ? { textual: true } : {}),
    ...(entityColumn !== undefined ? { entityColumn } : {}),
  };
}

/**
 * What a request to a feature-service endpoint carries, as a signature for the protocol decoders:
 * the request fields with their dtypes, the model's inputs the service does not serve (sent as
 * they are), the model's outputs; join keys, which have no declared type, are listed apart.
 */
export function entityRequestSignature(
  inputs: EntityInputs,
  model: Signature,
): { signature: Signature; joinKeys: readonly string[] } {
  const fields: SignatureColumn[] = inputs.requestFields.map((f) => ({
    name: f.name,
    type: SIGNATURE_TYPE[f.dtype],
    nullable: true,
  }));
  const taken = new Set([...inputs.served, ...inputs.joinKeys, ...fields.map((f) => f.name)]);
  const sent = model.inputs.filter((c) => !taken.has(c.name));
  return { signature: { inputs: [...fields, ...sent], outputs: model.outputs }, joinKeys: inputs.joinKeys };
}
