/**
 * Evaluation datasets, versioned on the model registry the way prompts are: a dataset is a
 * registered model tagged `keel.llm.dataset = true`, each version an immutable model version whose
 * examples are one content-addressed blob (canonical JSONL) in the artifact store, named by its
 * sha256 in the version's tags. The registry's searches leave datasets out unless asked, so they
 * never show up as models.
 */
import { DataIntegrityError, InvalidParameterError } from "../../errors.js";
import { IS_DATASET_TAG } from "../../registry/index.js";
import type { ModelVersion, RegisteredModel, RegistryStore } from "../../registry/index.js";
import { specError } from "../../spec-fields.js";
import type { ArtifactStore } from "../../store/index.js";
import type { Actor, Page, Tag } from "../../tracking/index.js";
import type { EvalExampleJson } from "../../wire/index.js";

export { IS_DATASET_TAG };
export const DATASET_DIGEST_TAG = "keel.dataset.sha256";
export const DATASET_EXAMPLES_TAG = "keel.dataset.examples";
/** The `source` of a dataset version (its examples are the blob named by `DATASET_DIGEST_TAG`). */
export const DATASET_SOURCE = "keel-dataset";
export const MAX_DATASET_EXAMPLES = 100_000;

/** One example: the prompt's variables, optionally the expected output, free metadata, tags and a human label. */
export interface EvalExample {
  readonly id: string;
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly reference?: unknown;
  readonly metadata?: Readonly<Record<string, unknown>>;
  readonly tags?: readonly string[];
  /** A person's score for the example's `reference` or output, for checking a judge (see `calibrateJudge`). */
  readonly humanLabel?: number;
}

export interface DatasetVersion {
  readonly name: string;
  readonly version: string;
  /** sha256 of the canonical JSONL of the examples. */
  readonly digest: string;
  readonly exampleCount: number;
  readonly description: string;
  readonly aliases: readonly string[];
  readonly creationTimestamp: number;
  readonly userId: string;
}

export interface Dataset {
  readonly name: string;
  readonly creationTimestamp: number;
  readonly aliases: readonly { alias: string; version: string }[];
}

const NAME_RULE = /^[a-zA-Z0-9_.-]+$/;
const EXAMPLE_FIELDS = ["id", "inputs", "reference", "metadata", "tags", "human_label"];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An example from its JSON form (`id`?, `inputs`, `reference`?, `metadata`?, `tags`?, `human_label`?); `at` names it in errors. */
export function checkExample(json: unknown, at: string, defaultId: string): EvalExample {
  if (!isObject(json)) throw specError(at, json, "must be an object with inputs");
  const extra = Object.keys(json).find((k) => !EXAMPLE_FIELDS.includes(k));
  if (extra !== undefined)
    throw specError(`${at}.${extra}`, json[extra], `unknown field; allowed: ${EXAMPLE_FIELDS.join(", ")}`);
  const { id, inputs, reference, metadata, tags, human_label: label } = json;
  if (id !== undefined && (typeof id !== "string" || id === "") && typeof id !== "number") {
    throw specError(`${at}.id`, id, "must be a non-empty string or a number");
  }
  if (!isObject(inputs)) throw specError(`${at}.inputs`, inputs, "must be an object of prompt variables");
  if (metadata !== undefined && !isObject(metadata)) throw specError(`${at}.metadata`, metadata, "must be an object");
  if (tags !== undefined && !(Array.isArray(tags) && tags.every((t) => typeof t === "string"))) {
    throw specError(`${at}.tags`, tags, "must be a list of strings");
  }
  if (label !== undefined && (typeof label !== "number" || !Number.isFinite(label))) {
    throw specError(`${at}.human_label`, label, "must be a finite number");
  }
  return {
    id: id === undefined ? defaultId : String(id),
    inputs,
    ...(reference === undefined || reference === null ? {} : { reference }),
    ...(metadata === undefined ? {} : { metadata }),
    ...(tags === undefined ? {} : { tags }),
    ...(label === undefined ? {} : { humanLabel: label }),
  };
}

/** Checks a list of examples: at least one, at most `MAX_DATASET_EXAMPLES`, ids unique. */
export function checkExamples(json: unknown, field = "examples"): EvalExample[] {
  if (!Array.isArray(json) || json.length === 0) throw specError(field, json, "must be a non-empty list of examples");
  if (json.length > MAX_DATASET_EXAMPLES) {
    throw specError(field, `${json.length} examples`, `at most ${MAX_DATASET_EXAMPLES} examples per version`);
  }
  const seen = new Set<string>();
  return json.map((e: unknown, i) => {
    const example = checkExample(e, `${field}[${i}]`, String(i + 1));
    if (seen.has(example.id)) throw specError(`${field}[${i}].id`, example.id, "must be unique in the dataset");
    seen.add(example.id);
    return example;
  });
}

/** The JSON form of an example (as read by `checkExample`). */
export function exampleJson(e: EvalExample): EvalExampleJson {
  return {
    id: e.id,
    inputs: { ...e.inputs },
    ...(e.reference === undefined ? {} : { reference: e.reference }),
    ...(e.metadata === undefined ? {} : { metadata: { ...e.metadata } }),
    ...(e.tags === undefined ? {} : { tags: [...e.tags] }),
    ...(e.humanLabel === undefined ? {} : { human_label: e.humanLabel }),
  };
}

/** Examples from JSONL text: one JSON example per non-blank line. */
export function examplesFromJsonl(text: string, file = "jsonl"): EvalExample[] {
  const rows: unknown[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      rows.push(JSON.parse(line));
    } catch (e) {
      throw specError(`${file}:${i + 1}`, line.slice(0, 80), `must be a JSON object (${(e as Error).message})`);
    }
  });
  return checkExamples(rows, file);
}

/**
 * Examples from CSV rows (header first): the columns `id`, `reference`, `human_label` and `tags`
 * (`;`-separated) are those fields; `metadata.<key>` columns make the metadata; every other
 * column is an input variable (text, as written).
 */
export function examplesFromCsvRows(rows: readonly (readonly string[])[], file = "csv"): EvalExample[] {
  const [header, ...body] = rows;
  if (header === undefined || header.length === 0) throw specError(file, null, "must start with a header row");
  const json = body
    .filter((r) => !(r.length === 1 && r[0] === ""))
    .map((r, i) => {
      if (r.length !== header.length) {
        throw specError(`${file}:${i + 2}`, `${r.length} cells`, `must have ${header.length} cells like the header`);
      }
      const e: Record<string, unknown> = { inputs: {} };
      const inputs = e.inputs as Record<string, unknown>;
      header.forEach((col, j) => {
        const cell = r[j] as string;
        if (col === "id" || col === "reference") e[col] = cell;
        else if (col === "human_label") e.human_label = cell === "" ? undefined : Number(cell);
        else if (col === "tags") e.tags = cell === "" ? [] : cell.split(";").map((t) => t.trim());
        else if (col.startsWith("metadata.")) e.metadata = { ...(e.metadata as object), [col.slice(9)]: cell };
        else inputs[col] = cell;
      });
      return e;
    });
  return checkExamples(json, file);
}

/** The canonical JSONL of the examples (the stored bytes; their sha256 is the version's digest). */
export function examplesJsonl(examples: readonly EvalExample[]): string {
  return examples.map((e) => JSON.stringify(exampleJson(e))).join("\n") + "\n";
}

function tagValue(tags: readonly Tag[], key: string): string | undefined {
  return tags.find((t) => t.key === key)?.value;
}

function toDatasetVersion(mv: ModelVersion): DatasetVersion {
  const digest = tagValue(mv.tags, DATASET_DIGEST_TAG);
  if (tagValue(mv.tags, IS_DATASET_TAG) !== "true" || digest === undefined) {
    throw new InvalidParameterError(`${JSON.stringify(mv.name)} version ${mv.version} is not a dataset version`, {
      details: { field: "dataset", value: mv.name, rule: "must name an evaluation dataset" },
    });
  }
  return {
    name: mv.name,
    version: mv.version,
    digest,
    exampleCount: Number(tagValue(mv.tags, DATASET_EXAMPLES_TAG) ?? "0"),
    description: mv.description,
    aliases: mv.aliases,
    creationTimestamp: mv.creationTimestamp,
    userId: mv.userId,
  };
}

function toDataset(model: RegisteredModel): Dataset {
  return { name: model.name, creationTimestamp: model.creationTimestamp, aliases: model.aliases };
}

export interface DatasetStores {
  readonly registry: RegistryStore;
  readonly artifacts: ArtifactStore;
}

/** Registers a new, immutable version of dataset `name` (creating the dataset on its first version). */
export async function createDatasetVersion(
  stores: DatasetStores,
  input: { readonly name: string; readonly examples: unknown; readonly description?: string | undefined },
  actor?: Actor,
): Promise<DatasetVersion> {
  if (typeof input.name !== "string" || !NAME_RULE.test(input.name)) {
    throw specError("name", input.name, "must be letters, digits, '_', '.' or '-'");
  }
  if (input.description !== undefined && typeof input.description !== "string") {
    throw specError("description", input.description, "must be a string");
  }
  const examples = checkExamples(input.examples);
  const existing = await stores.registry.searchRegisteredModels({
    filter: `name = '${input.name}' and tags.\`${IS_DATASET_TAG}\` = 'true'`,
  });
  if (existing.items.length === 0) {
    // A model or prompt of that name makes this fail with RESOURCE_ALREADY_EXISTS.
    await stores.registry.createRegisteredModel(input.name, "", [{ key: IS_DATASET_TAG, value: "true" }], actor);
  }
  const bytes = new TextEncoder().encode(examplesJsonl(examples));
  const blob = await stores.artifacts.putBlob(bytes);
  const mv = await stores.registry.createModelVersion(
    {
      name: input.name,
      source: DATASET_SOURCE,
      description: input.description ?? "",
      tags: [
        { key: IS_DATASET_TAG, value: "true" },
        { key: DATASET_DIGEST_TAG, value: blob.sha256 },
        { key: DATASET_EXAMPLES_TAG, value: String(examples.length) },
      ],
    },
    actor,
  );
  return toDatasetVersion(mv);
}

/** Version `ref` of dataset `name`: a number, an alias, or `latest`. */
export async function getDatasetVersion(
  registry: RegistryStore,
  name: string,
  ref = "latest",
): Promise<DatasetVersion> {
  if (ref === "latest") {
    const versions = await listDatasetVersions(registry, name);
    const newest = versions[0];
    if (newest === undefined) throw specError("dataset", name, "has no versions");
    return newest;
  }
  const mv = /^\d+$/.test(ref)
    ? await registry.getModelVersion(name, ref)
    : await registry.getVersionByAlias(name, ref);
  return toDatasetVersion(mv);
}

/** The examples of a dataset version, checked against the version's digest. */
export async function readDatasetExamples(stores: DatasetStores, version: DatasetVersion): Promise<EvalExample[]> {
  const bytes = await stores.artifacts.getBlob(version.digest);
  const examples = examplesFromJsonl(new TextDecoder().decode(bytes), `${version.name}@${version.version}`);
  if (examples.length !== version.exampleCount) {
    throw new DataIntegrityError(
      `dataset ${version.name}@${version.version} holds ${examples.length} examples, its version says ${version.exampleCount}`,
    );
  }
  return examples;
}

export async function getDataset(registry: RegistryStore, name: string): Promise<Dataset> {
  const model = await registry.getRegisteredModel(name);
  if (tagValue(model.tags, IS_DATASET_TAG) !== "true") {
    throw new InvalidParameterError(`${JSON.stringify(name)} is a registered model, not a dataset`, {
      details: { field: "name", value: name, rule: "must name an evaluation dataset" },
    });
  }
  return toDataset(model);
}

export async function listDatasets(
  registry: RegistryStore,
  query: { maxResults?: number | undefined; pageToken?: string | undefined } = {},
): Promise<Page<Dataset>> {
  const page = await registry.searchRegisteredModels({ ...query, filter: `tags.\`${IS_DATASET_TAG}\` = 'true'` });
  return { ...page, items: page.items.map(toDataset) };
}

/** Every version of a dataset, newest first. */
export async function listDatasetVersions(registry: RegistryStore, name: string): Promise<DatasetVersion[]> {
  await getDataset(registry, name);
  const out: DatasetVersion[] = [];
  let pageToken: string | undefined;
  do {
    const page = await registry.searchModelVersions({
      filter: `name = '${name.replace(/'/g, "\\'")}' and tags.\`${IS_DATASET_TAG}\` = 'true'`,
      maxResults: 1000,
      pageToken,
    });
    out.push(...page.items.map(toDatasetVersion));
    pageToken = page.nextPageToken;
  } while (pageToken !== undefined);
  return out.sort((a, b) => Number(b.version) - Number(a.version));
}
