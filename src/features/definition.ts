/**
 * Feature repository definitions in Feast's vocabulary: entities, sources, feature views,
 * on-demand feature views and feature services. Written as YAML, JSON or a TypeScript object; all
 * go through one parser, so every error names the field, the value and the rule.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parse as parseYaml } from "yaml";
import { tableFormat } from "../data/index.js";
import { NotFoundError } from "../errors.js";
import { specArray, specError, specObject, specRequired, specString } from "../spec-fields.js";

export const FEATURE_DTYPES = ["int64", "float64", "string", "bool"] as const;
export type FeatureDtype = (typeof FEATURE_DTYPES)[number];

export interface FeatureField {
  readonly name: string;
  readonly dtype: FeatureDtype;
}

export interface EntityDefinition {
  readonly name: string;
  readonly joinKeys: readonly string[];
  readonly description?: string;
}

export interface SourceDefinition {
  readonly name: string;
  /** Absolute path of a CSV or Parquet file (resolved against the repository file at parse time). */
  readonly path?: string;
  /** A DuckDB SELECT (it may read files, or PostgreSQL through DuckDB's postgres extension). */
  readonly query?: string;
  readonly timestampField: string;
  /** Breaks ties between rows of one entity with the same event time: the latest created wins. */
  readonly createdTimestampColumn?: string;
}

export interface FeatureViewDefinition {
  readonly name: string;
  readonly entities: readonly string[];
  readonly source: string;
  /** A feature row older than this (seconds) at the time asked for is missing; absent = no limit. */
  readonly ttlSeconds?: number;
  readonly schema: readonly FeatureField[];
}

export interface OnDemandFeatureViewDefinition {
  readonly name: string;
  /** Absolute path of the module whose default export is the transformation. */
  readonly module: string;
  /** Feature views whose features the transformation reads. */
  readonly sources: readonly string[];
  /** Request-time fields the caller sends with the entity keys. */
  readonly requestFields: readonly FeatureField[];
  /** What the transformation returns. */
  readonly schema: readonly FeatureField[];
}

/** One feature, `view:feature`. */
export interface FeatureRef {
  readonly view: string;
  readonly feature: string;
}

/**
 * The column a feature is named by in a training set and in an online response: `feature`, or
 * `view__feature` with full feature names. One function, so the model sees the same names offline
 * and online.
 */
export function featureColumnName(ref: FeatureRef, fullFeatureNames: boolean | undefined): string {
  return fullFeatureNames === true ? `${ref.view}__${ref.feature}` : ref.feature;
}

export interface FeatureServiceDefinition {
  readonly name: string;
  readonly features: readonly FeatureRef[];
}

export interface FeatureRepo {
  readonly entities: readonly EntityDefinition[];
  readonly sources: readonly SourceDefinition[];
  readonly featureViews: readonly FeatureViewDefinition[];
  readonly onDemandFeatureViews: readonly OnDemandFeatureViewDefinition[];
  readonly featureServices: readonly FeatureServiceDefinition[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TTL = /^(\d+)(s|m|h|d|w)$/;
const TTL_UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 } as const;

function checkName(v: unknown, field: string): string {
  if (typeof v !== "string" || !NAME.test(v)) {
    throw specError(field, v, "must be letters, digits and _ (not starting with a digit)");
  }
  return v;
}

function name(obj: Readonly<Record<string, unknown>>, key: string, at: string): string {
  return checkName(specRequired(specString(obj, key, at), `${at}.${key}`), `${at}.${key}`);
}

function names(json: unknown, at: string): string[] {
  const list = specArray(json, at);
  if (list.length === 0) throw specError(at, json, "must name at least one");
  return list.map((v, i) => checkName(v, `${at}[${i}]`));
}

/** `90d`, `12h`, `30m`, `45s`, `2w`, or a whole number of seconds; 0 means no limit. */
export function parseTtl(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  const rule = "must be a duration like 90d, 12h, 30m, 45s, 2w, or whole seconds ≥ 0";
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) throw specError(field, value, rule);
    return value === 0 ? undefined : value;
  }
  const m = typeof value === "string" ? TTL.exec(value) : null;
  if (m === null) throw specError(field, value, rule);
  const seconds = Number(m[1]) * TTL_UNIT_SECONDS[m[2] as keyof typeof TTL_UNIT_SECONDS];
  return seconds === 0 ? undefined : seconds;
}

function parseSchema(json: unknown, at: string): FeatureField[] {
  const list = specArray(json, at);
  if (list.length === 0) throw specError(at, json, "must declare at least one feature");
  const seen = new Set<string>();
  return list.map((item, i) => {
    const p = `${at}[${i}]`;
    const o = specObject(item, p, ["name", "dtype"]);
    const n = name(o, "name", p);
    if (seen.has(n)) throw specError(`${p}.name`, n, "must be unique within the schema");
    seen.add(n);
    const dtype = specRequired(specString(o, "dtype", p), `${p}.dtype`);
    if (!(FEATURE_DTYPES as readonly string[]).includes(dtype)) {
      throw specError(`${p}.dtype`, dtype, `must be one of ${FEATURE_DTYPES.join(", ")}`);
    }
    return { name: n, dtype: dtype as FeatureDtype };
  });
}

function parseSource(item: unknown, p: string, baseDir: string): SourceDefinition {
  const o = specObject(item, p, ["name", "path", "query", "timestamp_field", "created_timestamp_column"]);
  const file = specString(o, "path", p);
  const query = specString(o, "query", p);
  if ((file === undefined) === (query === undefined)) {
    throw specError(`${p}.path`, file ?? null, "give exactly one of path (a CSV or Parquet file) or query (SQL)");
  }
  let resolved: string | undefined;
  if (file !== undefined) {
    resolved = path.resolve(baseDir, file);
    try {
      tableFormat(resolved);
    } catch {
      throw specError(`${p}.path`, file, "must end in .csv, .tsv, .parquet or .pq");
    }
  }
  const created = specString(o, "created_timestamp_column", p);
  return {
    name: name(o, "name", p),
    ...(resolved !== undefined ? { path: resolved } : {}),
    ...(query !== undefined ? { query } : {}),
    timestampField: specRequired(specString(o, "timestamp_field", p), `${p}.timestamp_field`),
    ...(created !== undefined ? { createdTimestampColumn: created } : {}),
  };
}

function parseFeatureView(item: unknown, p: string): FeatureViewDefinition {
  const o = specObject(item, p, ["name", "entities", "source", "ttl", "schema"]);
  const ttlSeconds = parseTtl(o.ttl, `${p}.ttl`);
  return {
    name: name(o, "name", p),
    entities: names(o.entities, `${p}.entities`),
    source: name(o, "source", p),
    ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
    schema: parseSchema(o.schema, `${p}.schema`),
  };
}

function parseOnDemand(item: unknown, p: string, baseDir: string): OnDemandFeatureViewDefinition {
  const o = specObject(item, p, ["name", "module", "sources", "request_schema", "schema"]);
  const module = specRequired(specString(o, "module", p), `${p}.module`);
  const resolved = path.resolve(baseDir, module);
  if (!existsSync(resolved)) throw specError(`${p}.module`, module, "must name an existing module file");
  return {
    name: name(o, "name", p),
    module: resolved,
    sources: names(o.sources, `${p}.sources`),
    requestFields: o.request_schema === undefined ? [] : parseSchema(o.request_schema, `${p}.request_schema`),
    schema: parseSchema(o.schema, `${p}.schema`),
  };
}

/** `view` (all its features) or `view:feature`. */
function parseServiceFeatures(json: unknown, at: string, repo: Omit<FeatureRepo, "featureServices">): FeatureRef[] {
  const list = specArray(json, at);
  if (list.length === 0) throw specError(at, json, "must name at least one feature view or view:feature");
  const out: FeatureRef[] = [];
  list.forEach((ref, i) => {
    const field = `${at}[${i}]`;
    if (typeof ref !== "string") throw specError(field, ref, "must be a string: view or view:feature");
    const [view = "", feature] = ref.split(":", 2);
    const schema = viewSchema(repo, view);
    if (schema === undefined) throw specError(field, ref, "must name a feature view or on-demand feature view");
    if (feature === undefined) {
      for (const f of schema) out.push({ view, feature: f.name });
    } else if (schema.some((f) => f.name === feature)) {
      out.push({ view, feature });
    } else {
      throw specError(field, ref, `must name a feature of ${view} (${schema.map((f) => f.name).join(", ")})`);
    }
  });
  return out;
}

/** The schema of the feature view or on-demand feature view `view`. */
export function viewSchema(
  repo: Pick<FeatureRepo, "featureViews" | "onDemandFeatureViews">,
  view: string,
): readonly FeatureField[] | undefined {
  return (
    repo.featureViews.find((v) => v.name === view)?.schema ??
    repo.onDemandFeatureViews.find((v) => v.name === view)?.schema
  );
}

function checkUniqueNames(repo: Omit<FeatureRepo, "featureServices">, services: readonly { name: string }[]): void {
  const seen = new Map<string, string>();
  const groups: [string, readonly { name: string }[]][] = [
    ["entities", repo.entities],
    ["sources", repo.sources],
    ["feature_views", repo.featureViews],
    ["on_demand_feature_views", repo.onDemandFeatureViews],
    ["feature_services", services],
  ];
  for (const [kind, items] of groups) {
    items.forEach((item, i) => {
      // Sources live in their own namespace (a view is often named after its source).
      const key = kind === "sources" ? `source:${item.name}` : item.name;
      const other = seen.get(key);
      if (other !== undefined) {
        throw specError(`${kind}[${i}].name`, item.name, `must be unique; ${other} has the same name`);
      }
      seen.set(key, `${kind}[${i}]`);
    });
  }
}

function checkReferences(repo: Omit<FeatureRepo, "featureServices">): void {
  repo.featureViews.forEach((v, i) => {
    const p = `feature_views[${i}]`;
    v.entities.forEach((e, j) => {
      const entity = repo.entities.find((x) => x.name === e);
      if (entity === undefined) throw specError(`${p}.entities[${j}]`, e, "must name an entity");
      for (const key of entity.joinKeys) {
        if (v.schema.some((f) => f.name === key)) {
          throw specError(`${p}.schema`, key, `must not declare join key ${key} of entity ${e} as a feature`);
        }
      }
    });
    if (!repo.sources.some((s) => s.name === v.source)) throw specError(`${p}.source`, v.source, "must name a source");
  });
  repo.onDemandFeatureViews.forEach((v, i) => {
    v.sources.forEach((s, j) => {
      if (!repo.featureViews.some((x) => x.name === s)) {
        throw specError(`on_demand_feature_views[${i}].sources[${j}]`, s, "must name a feature view");
      }
    });
  });
}

function list(obj: Readonly<Record<string, unknown>>, key: string): readonly unknown[] {
  return obj[key] === undefined ? [] : specArray(obj[key], key);
}

/** Parses a repository object; relative paths resolve against `baseDir`. */
export function parseFeatureRepo(json: unknown, baseDir: string): FeatureRepo {
  const o = specObject(json, "repository", [
    "entities",
    "sources",
    "feature_views",
    "on_demand_feature_views",
    "feature_services",
  ]);
  const partial = {
    entities: list(o, "entities").map((item, i): EntityDefinition => {
      const p = `entities[${i}]`;
      const e = specObject(item, p, ["name", "join_keys", "description"]);
      const description = specString(e, "description", p);
      return {
        name: name(e, "name", p),
        joinKeys: names(e.join_keys, `${p}.join_keys`),
        ...(description !== undefined ? { description } : {}),
      };
    }),
    sources: list(o, "sources").map((item, i) => parseSource(item, `sources[${i}]`, baseDir)),
    featureViews: list(o, "feature_views").map((item, i) => parseFeatureView(item, `feature_views[${i}]`)),
    onDemandFeatureViews: list(o, "on_demand_feature_views").map((item, i) =>
      parseOnDemand(item, `on_demand_feature_views[${i}]`, baseDir),
    ),
  };
  const serviceItems = list(o, "feature_services").map((item, i) => {
    const p = `feature_services[${i}]`;
    return { p, obj: specObject(item, p, ["name", "features"]) };
  });
  const serviceNames = serviceItems.map(({ p, obj }) => ({ name: name(obj, "name", p) }));
  checkUniqueNames(partial, serviceNames);
  checkReferences(partial);
  const featureServices = serviceItems.map(({ p, obj }, i) => ({
    name: (serviceNames[i] as { name: string }).name,
    features: parseServiceFeatures(obj.features, `${p}.features`, partial),
  }));
  return { ...partial, featureServices };
}

/** Reads a `.yaml`/`.yml`/`.json` repository file, or a TypeScript/JavaScript module whose default export is the object. */
export async function loadFeatureRepo(file: string): Promise<FeatureRepo> {
  if (!existsSync(file))
    throw new NotFoundError(`file ${file} does not exist`, { details: { field: "file", value: file } });
  const ext = path.extname(file).toLowerCase();
  let json: unknown;
  if ([".ts", ".mts", ".js", ".mjs"].includes(ext)) {
    json = ((await import(pathToFileURL(file).href)) as { default?: unknown }).default;
  } else {
    const text = await readFile(file, "utf8");
    try {
      json = ext === ".json" ? JSON.parse(text) : parseYaml(text);
    } catch (e) {
      throw specError("file", file, `must be valid ${ext === ".json" ? "JSON" : "YAML"} (${(e as Error).message})`);
    }
  }
  return parseFeatureRepo(json, path.dirname(path.resolve(file)));
}

/** A stable digest of a parsed repository: applying an unchanged file records no new version. */
export function repoDigest(repo: FeatureRepo): string {
  return createHash("sha256").update(JSON.stringify(repo)).digest("hex");
}

/** The features `refs` names: `view:feature` each, or a whole view by its name. */
export function resolveFeatureRefs(repo: FeatureRepo, refs: readonly string[], field: string): FeatureRef[] {
  return parseServiceFeatures(refs, field, repo);
}

export function featureService(repo: FeatureRepo, service: string, field: string): FeatureServiceDefinition {
  const s = repo.featureServices.find((x) => x.name === service);
  if (s === undefined) {
    throw specError(
      field,
      service,
      `must name a feature service (${repo.featureServices.map((x) => x.name).join(", ") || "none applied"})`,
    );
  }
  return s;
}

/**
 * The features a request names: `features` (`view:feature` or view names) or a feature service,
 * exactly one. `fields` names the two inputs as the caller spells them (CLI flags or JSON keys).
 */
export function requestedFeatures(
  repo: FeatureRepo,
  request: { readonly features?: readonly string[] | undefined; readonly featureService?: string | undefined },
  fields: { readonly features: string; readonly featureService: string },
): FeatureRef[] {
  if ((request.features === undefined) === (request.featureService === undefined)) {
    throw specError(
      fields.features,
      request.features ?? null,
      `give exactly one of ${fields.features} or ${fields.featureService}`,
    );
  }
  if (request.featureService !== undefined) {
    return [...featureService(repo, request.featureService, fields.featureService).features];
  }
  return resolveFeatureRefs(repo, request.features as readonly string[], fields.features);
}
