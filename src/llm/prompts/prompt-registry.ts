/**
 * The prompt registry, stored as MLflow 3 stores prompts: a registered model tagged
 * `mlflow.prompt.is_prompt = true`, one model version per prompt version with the template in
 * `mlflow.prompt.text`, its kind in `_mlflow_prompt_type` and the pinned model and parameters in
 * `_mlflow_prompt_model_config`; the commit message is the version's description. So MLflow's
 * prompt calls work against keel, versions are immutable (tags are written once, at creation),
 * and aliases move through the registry's approver-gated, audited promotion.
 */
import { InvalidParameterError, InvalidStateError } from "../../errors.js";
import { IS_PROMPT_TAG, promoteAlias } from "../../registry/index.js";
import type { AliasMove, ModelVersion, RegisteredModel, RegistryStore } from "../../registry/index.js";
import { specError } from "../../spec-fields.js";
import type { Actor, Page, Tag } from "../../tracking/index.js";
import { diffLines, versionLines, type DiffLine } from "./diff.js";
import { checkTemplate, templateVariables, type ChatMessage, type PromptTemplate } from "./template.js";

export const PROMPT_TEXT_TAG = "mlflow.prompt.text";
export const PROMPT_TYPE_TAG = "_mlflow_prompt_type";
export const PROMPT_MODEL_CONFIG_TAG = "_mlflow_prompt_model_config";
/** MLflow's `source` of a prompt version (there is no artifact). */
export const PROMPT_SOURCE = "prompt-template";
/** A version tag `keel.gate.<gate>` = `passed` records a passing gate result (see `promotePrompt`). */
export const GATE_TAG_PREFIX = "keel.gate.";

/** Model parameters a version may pin, by their OpenAI names; MLflow's model config names them as in `CONFIG_NAMES`. */
export const PROMPT_PARAMETERS = [
  "temperature",
  "max_tokens",
  "top_p",
  "frequency_penalty",
  "presence_penalty",
  "stop",
  "seed",
] as const;
export type PromptParameter = (typeof PROMPT_PARAMETERS)[number];
export type PromptParameters = Readonly<Partial<Record<PromptParameter, number | string | readonly string[]>>>;
const CONFIG_NAMES: Readonly<Record<PromptParameter, string>> = {
  temperature: "temperature",
  max_tokens: "max_tokens",
  top_p: "top_p",
  frequency_penalty: "frequency_penalty",
  presence_penalty: "presence_penalty",
  stop: "stop_sequences",
  seed: "seed",
};

const NAME_RULE = /^[a-zA-Z0-9_.-]+$/;

export interface PromptVersion {
  readonly name: string;
  readonly version: string;
  readonly template: PromptTemplate;
  readonly type: "text" | "chat";
  readonly variables: readonly string[];
  readonly model?: string;
  readonly parameters: PromptParameters;
  readonly commitMessage: string;
  readonly aliases: readonly string[];
  readonly creationTimestamp: number;
  readonly userId: string;
  readonly tags: readonly Tag[];
}

export interface Prompt {
  readonly name: string;
  readonly description: string;
  readonly creationTimestamp: number;
  readonly aliases: readonly { alias: string; version: string }[];
  readonly tags: readonly Tag[];
}

export interface CreatePromptVersionInput {
  readonly name: string;
  readonly template: unknown;
  readonly model?: string | undefined;
  readonly parameters?: Readonly<Record<string, unknown>> | undefined;
  readonly commitMessage: string;
}

function checkParameters(json: Readonly<Record<string, unknown>>): PromptParameters {
  const out: Partial<Record<PromptParameter, number | string | readonly string[]>> = {};
  for (const [k, v] of Object.entries(json)) {
    if (!(PROMPT_PARAMETERS as readonly string[]).includes(k)) {
      throw specError(`parameters.${k}`, v, `unknown parameter; allowed: ${PROMPT_PARAMETERS.join(", ")}`);
    }
    const key = k as PromptParameter;
    if (key === "stop") {
      if (typeof v === "string" || (Array.isArray(v) && v.every((s) => typeof s === "string"))) out.stop = v;
      else throw specError("parameters.stop", v, "must be a string or a list of strings");
    } else if (typeof v !== "number" || !Number.isFinite(v)) {
      throw specError(`parameters.${k}`, v, "must be a finite number");
    } else out[key] = v;
  }
  return out;
}

function tagValue(tags: readonly Tag[], key: string): string | undefined {
  return tags.find((t) => t.key === key)?.value;
}

function isPromptModel(model: RegisteredModel): boolean {
  return tagValue(model.tags, IS_PROMPT_TAG) === "true";
}

function modelConfigJson(model: string | undefined, parameters: PromptParameters): string | undefined {
  const config: Record<string, unknown> = {};
  if (model !== undefined) config.model_name = model;
  for (const [k, v] of Object.entries(parameters)) config[CONFIG_NAMES[k as PromptParameter]] = v;
  return Object.keys(config).length === 0 ? undefined : JSON.stringify(config);
}

function readModelConfig(text: string | undefined): { model?: string; parameters: PromptParameters } {
  if (text === undefined) return { parameters: {} };
  const config = JSON.parse(text) as Record<string, unknown>;
  const parameters: Record<string, unknown> = {};
  for (const p of PROMPT_PARAMETERS) if (config[CONFIG_NAMES[p]] !== undefined) parameters[p] = config[CONFIG_NAMES[p]];
  const model = typeof config.model_name === "string" ? config.model_name : undefined;
  return { ...(model === undefined ? {} : { model }), parameters: parameters };
}

/** A model version read as a prompt version; InvalidParameterError when it is not one. */
export function toPromptVersion(mv: ModelVersion): PromptVersion {
  const text = tagValue(mv.tags, PROMPT_TEXT_TAG);
  if (tagValue(mv.tags, IS_PROMPT_TAG) !== "true" || text === undefined) {
    throw new InvalidParameterError(
      `${JSON.stringify(mv.name)} version ${mv.version} is a model version, not a prompt`,
      {
        details: { field: "name", value: mv.name, rule: "must name a prompt" },
      },
    );
  }
  const type = tagValue(mv.tags, PROMPT_TYPE_TAG) === "chat" ? "chat" : "text";
  const template: PromptTemplate = type === "chat" ? (JSON.parse(text) as ChatMessage[]) : text;
  return {
    name: mv.name,
    version: mv.version,
    template,
    type,
    variables: templateVariables(template),
    ...readModelConfig(tagValue(mv.tags, PROMPT_MODEL_CONFIG_TAG)),
    commitMessage: mv.description,
    aliases: mv.aliases,
    creationTimestamp: mv.creationTimestamp,
    userId: mv.userId,
    tags: mv.tags,
  };
}

export function toPrompt(model: RegisteredModel): Prompt {
  return {
    name: model.name,
    description: model.description,
    creationTimestamp: model.creationTimestamp,
    aliases: model.aliases,
    tags: model.tags.filter((t) => t.key !== IS_PROMPT_TAG),
  };
}

/** Registers a new, immutable version of prompt `name` (creating the prompt on its first version). */
export async function createPromptVersion(
  registry: RegistryStore,
  input: CreatePromptVersionInput,
  actor?: Actor,
): Promise<PromptVersion> {
  if (typeof input.name !== "string" || !NAME_RULE.test(input.name)) {
    throw specError("name", input.name, "must be letters, digits, '_', '.' or '-'");
  }
  const template = checkTemplate(input.template);
  if (typeof input.commitMessage !== "string" || input.commitMessage.trim() === "") {
    throw specError("commit_message", input.commitMessage, "must be a non-empty string");
  }
  if (input.model !== undefined && (typeof input.model !== "string" || input.model === "")) {
    throw specError("model", input.model, "must be a non-empty string");
  }
  const parameters = checkParameters(input.parameters ?? {});
  const existing = await registry
    .searchRegisteredModels({ filter: `name = '${input.name}' and tags.\`${IS_PROMPT_TAG}\` != 'true'` })
    .then((p) => p.items[0]);
  if (existing !== undefined) {
    throw new InvalidParameterError(`${JSON.stringify(input.name)} is registered as a model, not a prompt`, {
      details: { field: "name", value: input.name, rule: "must not name a registered model" },
    });
  }
  const prompts = await registry.searchRegisteredModels({
    filter: `name = '${input.name}' and tags.\`${IS_PROMPT_TAG}\` = 'true'`,
  });
  if (prompts.items.length === 0)
    await registry.createRegisteredModel(input.name, "", [{ key: IS_PROMPT_TAG, value: "true" }], actor);
  const config = modelConfigJson(input.model, parameters);
  const tags: Tag[] = [
    { key: IS_PROMPT_TAG, value: "true" },
    { key: PROMPT_TEXT_TAG, value: typeof template === "string" ? template : JSON.stringify(template) },
    { key: PROMPT_TYPE_TAG, value: typeof template === "string" ? "text" : "chat" },
    ...(config === undefined ? [] : [{ key: PROMPT_MODEL_CONFIG_TAG, value: config }]),
  ];
  const mv = await registry.createModelVersion(
    { name: input.name, source: PROMPT_SOURCE, description: input.commitMessage.trim(), tags },
    actor,
  );
  return toPromptVersion(mv);
}

/** Version `ref`: a version number, or an alias (`production`, `staging` …). */
export async function getPromptVersion(registry: RegistryStore, name: string, ref: string): Promise<PromptVersion> {
  const mv = /^\d+$/.test(ref)
    ? await registry.getModelVersion(name, ref)
    : await registry.getVersionByAlias(name, ref);
  return toPromptVersion(mv);
}

export async function getPrompt(registry: RegistryStore, name: string): Promise<Prompt> {
  const model = await registry.getRegisteredModel(name);
  if (!isPromptModel(model)) {
    throw new InvalidParameterError(`${JSON.stringify(name)} is a registered model, not a prompt`, {
      details: { field: "name", value: name, rule: "must name a prompt" },
    });
  }
  return toPrompt(model);
}

export async function listPrompts(
  registry: RegistryStore,
  query: { maxResults?: number | undefined; pageToken?: string | undefined } = {},
): Promise<Page<Prompt>> {
  const page = await registry.searchRegisteredModels({ ...query, filter: `tags.\`${IS_PROMPT_TAG}\` = 'true'` });
  return { ...page, items: page.items.map(toPrompt) };
}

/** Every version of a prompt, newest first. */
export async function listPromptVersions(registry: RegistryStore, name: string): Promise<PromptVersion[]> {
  await getPrompt(registry, name);
  const out: PromptVersion[] = [];
  let pageToken: string | undefined;
  do {
    const page = await registry.searchModelVersions({
      filter: `name = '${name.replace(/'/g, "\\'")}' and tags.\`${IS_PROMPT_TAG}\` = 'true'`,
      maxResults: 1000,
      pageToken,
    });
    out.push(...page.items.map(toPromptVersion));
    pageToken = page.nextPageToken;
  } while (pageToken !== undefined);
  return out.sort((a, b) => Number(b.version) - Number(a.version));
}

export async function diffPromptVersions(
  registry: RegistryStore,
  name: string,
  from: string,
  to: string,
): Promise<{ from: PromptVersion; to: PromptVersion; lines: DiffLine[] }> {
  const a = await getPromptVersion(registry, name, from);
  const b = await getPromptVersion(registry, name, to);
  return { from: a, to: b, lines: diffLines(versionLines(a), versionLines(b)) };
}

export interface PromotePromptInput {
  readonly name: string;
  readonly version: string;
  readonly alias: string;
  readonly approver: string;
  readonly reason: string;
}

/**
 * Which gate, by alias, a version must have passed before an alias may point at it
 * (e.g. `{ production: "eval" }`). A gate result is the version tag `keel.gate.<gate>`,
 * written by whatever runs the gate (an evaluation run); only `passed` lets the promotion through.
 */
export type PromptPromotionGates = Readonly<Record<string, string>>;

/**
 * Moves `alias` to `version` through the registry's promotion (approver and reason recorded in the
 * audit log, in the same transaction). When `gates` names a gate for that alias, the version must
 * carry a passing result, and the audit reason records it.
 */
export async function promotePrompt(
  registry: RegistryStore,
  input: PromotePromptInput,
  gates: PromptPromotionGates = {},
): Promise<AliasMove> {
  const version = await getPromptVersion(registry, input.name, input.version);
  const gate = gates[input.alias];
  let reason = input.reason;
  if (gate !== undefined) {
    const result = tagValue(version.tags, GATE_TAG_PREFIX + gate);
    if (result !== "passed") {
      throw new InvalidStateError(
        `prompt ${JSON.stringify(input.name)} version ${version.version} cannot become ${JSON.stringify(input.alias)}: gate ${JSON.stringify(gate)} ${result === undefined ? "has no result" : `is ${JSON.stringify(result)}`}; it must be "passed"`,
        { details: { name: input.name, version: version.version, alias: input.alias, gate, result: result ?? null } },
      );
    }
    reason = `${input.reason} [gate ${gate}: passed]`;
  }
  return promoteAlias(registry, { ...input, version: version.version, reason });
}
