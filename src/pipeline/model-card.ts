/**
 * Model cards: a registered version's documentation, generated from what keel recorded — the
 * registry (version, signature, lineage, tags), the pipeline run that trained it (parameters,
 * metrics, gates, behaviour tests, split, validation), the model artifact and its training data
 * (global SHAP importance), and the audit log (approvals, promotions, rollbacks). The card is
 * kept with the version: its JSON as a content-addressed blob named by the tag `keel.model_card`.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Frame, Signature } from "../data/index.js";
import { readTable, takeRows } from "../data/index.js";
import { InvalidParameterError, NotFoundError } from "../errors.js";
import { loadExplainer, meanAbsShap, rankImportance } from "../learn/index.js";
import { artifactFetcher, type ModelVersion, type RegistryStore } from "../registry/index.js";
import type { Clock } from "../runtime/index.js";
import type { AuditRecord } from "../store/index.js";
import { specError } from "../spec-fields.js";
import { artifactStorePath, type ArtifactStore, type Run, type TrackingStore } from "../tracking/index.js";
import type { ModelCardHistoryJson, ModelCardJson } from "../wire/index.js";
import type { BehaviourResult } from "./behaviour.js";
import type { GateResult } from "./gates.js";
import { fileSha256 } from "./lineage.js";
import { TRAINING_DATA_TAGS } from "./training-data.js";

/** Version tag holding the sha256 of the version's model card blob. */
export const MODEL_CARD_TAG = "keel.model_card";
/** The card fields a person fills, kept as version tags `keel.card.<field>`. */
export const CARD_TEXT_FIELDS = ["intended_use", "limitations"] as const;
export type CardTextField = (typeof CARD_TEXT_FIELDS)[number];
const CARD_TEXT_MAX = 5000;
/** Rows of the training data explained for the global importance (evenly spaced). */
export const CARD_IMPORTANCE_ROWS = 2000;

/** One audit row, as the audit log lists it (the card reads all but the chain's hashes). */
export type CardAuditRow = Omit<AuditRecord, "prevHash" | "hash">;

export interface ModelCardSources {
  readonly registry: RegistryStore;
  readonly tracking: TrackingStore;
  readonly artifacts: ArtifactStore;
  /** The audit log's `list`. */
  readonly audit: (q: {
    targetType: string;
    targetId: string;
    afterSeq?: number;
    limit?: number;
  }) => Promise<readonly CardAuditRow[]>;
  readonly clock?: Clock;
}

export type CardHistoryEntry = ModelCardHistoryJson;
/** The card's JSON, as stored with the version and sent by the API. */
export type ModelCard = ModelCardJson;

const tagOf = (tags: readonly { key: string; value: string }[], key: string): string | undefined =>
  tags.find((t) => t.key === key)?.value;

function finite(v: number | undefined): number | null {
  return v !== undefined && Number.isFinite(v) ? v : null;
}

/** A `keel.card.<field>=text` setting as given on the command line or in the API. */
export function parseCardSetting(setting: string): { field: CardTextField; value: string } {
  const at = setting.indexOf("=");
  const field = at < 0 ? setting : setting.slice(0, at);
  if (at < 0 || !(CARD_TEXT_FIELDS as readonly string[]).includes(field)) {
    throw specError("--set", setting, `must be FIELD=TEXT with FIELD one of ${CARD_TEXT_FIELDS.join(", ")}`);
  }
  return { field: field as CardTextField, value: checkCardText(field, setting.slice(at + 1)) };
}

export function checkCardText(field: string, value: unknown): string {
  if (typeof value !== "string" || value.trim() === "" || value.length > CARD_TEXT_MAX) {
    throw specError(field, value ?? null, `must be a non-empty text of at most ${CARD_TEXT_MAX} characters`);
  }
  return value.trim();
}

/** Records the person-filled fields on the version (audited version tags). */
export async function setCardText(
  registry: RegistryStore,
  name: string,
  version: string,
  values: Partial<Record<CardTextField, string>>,
  actor?: { userId: string },
): Promise<void> {
  for (const [field, value] of Object.entries(values)) {
    if (value === undefined) continue;
    await registry.setModelVersionTag(name, version, `keel.card.${field}`, checkCardText(field, value), actor);
  }
}

interface PipelineRecord {
  readonly run?: Run;
  readonly steps: ReadonlyMap<string, Run>;
}

/** The pipeline run that trained the version and its step runs (none when registered by hand). */
async function pipelineRecord(tracking: TrackingStore, runId: string): Promise<PipelineRecord> {
  if (runId === "") return { steps: new Map() };
  let run: Run;
  try {
    run = await tracking.getRun(runId);
  } catch (e) {
    if (e instanceof NotFoundError) return { steps: new Map() };
    throw e;
  }
  const page = await tracking.searchRuns({
    experimentIds: [run.info.experimentId],
    filter: `tags.mlflow.parentRunId = '${runId.replaceAll("'", "''")}'`,
    maxResults: 1000,
  });
  const steps = new Map<string, Run>();
  for (const child of page.items) {
    const step = tagOf(child.data.tags, "keel.step");
    // The last run of a step wins (a step runs once per pipeline run).
    if (step !== undefined) steps.set(step, child);
  }
  return { run, steps };
}

async function stepJson<T>(artifacts: ArtifactStore, run: Run | undefined, file: string): Promise<T | undefined> {
  if (run === undefined) return undefined;
  try {
    const bytes = await artifacts.getFile(`${artifactStorePath(run.info.artifactUri)}/${file}`);
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
}

const metricOf = (run: Run | undefined, key: string): number | null =>
  finite(run?.data.metrics.find((m) => m.key === key)?.value);
const paramOf = (run: Run | undefined, key: string): string | null =>
  run?.data.params.find((p) => p.key === key)?.value ?? null;

/** Alias moves to or from this version, and the version's own lifecycle, oldest first. */
async function history(sources: ModelCardSources, mv: ModelVersion): Promise<CardHistoryEntry[]> {
  const read = async (targetType: string, targetId: string): Promise<CardAuditRow[]> => {
    const out: CardAuditRow[] = [];
    for (;;) {
      const page = await sources.audit({
        targetType,
        targetId,
        limit: 10_000,
        ...(out.length > 0 ? { afterSeq: (out[out.length - 1] as CardAuditRow).seq } : {}),
      });
      out.push(...page);
      if (page.length < 10_000) return out;
    }
  };
  const entries: (CardHistoryEntry & { seq: number })[] = [];
  for (const row of await read("model_version", `${mv.name}/${mv.version}`)) {
    const after = (row.after ?? {}) as Record<string, unknown>;
    const before = (row.before ?? {}) as Record<string, unknown>;
    if (row.action === "model_version.create") {
      entries.push({ ...base(row), detail: `registered version ${mv.version}` });
    } else if (row.action === "model_version.transition_stage") {
      entries.push({ ...base(row), detail: `stage ${text(before.stage) ?? "?"} → ${text(after.stage) ?? "?"}` });
    }
  }
  for (const row of await read("registered_model", mv.name)) {
    const after = (row.after ?? {}) as Record<string, unknown>;
    const before = (row.before ?? {}) as Record<string, unknown>;
    const alias = text(after.alias) ?? text(before.alias) ?? "";
    const to = text(after.version);
    const from = text(before.version);
    if (to !== mv.version && from !== mv.version) continue;
    if (!/\.(set_alias|promote|rollback|delete_alias)$/.test(row.action)) continue;
    const detail =
      row.action.endsWith("delete_alias") || to === null
        ? `alias ${alias} removed from version ${from ?? "?"}`
        : `alias ${alias}: ${from === null ? "not set" : `version ${from}`} → version ${to}`;
    entries.push({
      ...base(row),
      detail,
      ...(typeof after.reason === "string" ? { reason: after.reason } : {}),
    });
  }
  return entries.sort((a, b) => a.seq - b.seq).map(({ seq: _seq, ...e }) => e);
}

/** An audit summary's scalar as text (versions are stored as numbers or strings), else null. */
function text(v: unknown): string | null {
  return typeof v === "string" || typeof v === "number" ? String(v) : null;
}

function base(row: CardAuditRow): { seq: number; time: number; actor: string; action: string } {
  return { seq: row.seq, time: row.time, actor: row.actor, action: row.action };
}

/**
 * The version's training rows: the exact bytes kept with the version in the artifact store (tag
 * `keel.training_data`, checksum-verified) when they are, else the file the lineage names if it
 * still has the recorded sha256; else why not.
 */
async function trainingFrame(sources: ModelCardSources, mv: ModelVersion): Promise<Frame | { unavailable: string }> {
  const dataHash = mv.lineage?.dataHash;
  const kept = tagOf(mv.tags, TRAINING_DATA_TAGS.path);
  if (kept !== undefined && tagOf(mv.tags, TRAINING_DATA_TAGS.expired) === undefined && dataHash !== undefined) {
    const dir = await mkdtemp(path.join(tmpdir(), "keel-model-card-"));
    try {
      const file = path.join(dir, `training-data${path.extname(kept)}`);
      await writeFile(file, await sources.artifacts.getFile(kept));
      if ((await fileSha256(file)) === dataHash) return await readTable(file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const dataPath = mv.lineage?.dataPath;
  if (dataPath === undefined || dataHash === undefined)
    return { unavailable: "the version's lineage names no training data file" };
  const actual = await fileSha256(dataPath).catch(() => undefined);
  if (actual === undefined) return { unavailable: `the training data ${dataPath} cannot be read` };
  if (actual !== dataHash)
    return { unavailable: `the training data ${dataPath} changed since training (sha256 ${actual}, not ${dataHash})` };
  return readTable(dataPath);
}

/** Mean |SHAP| per feature over evenly spaced rows of the version's training data (or why not). */
async function importance(
  sources: ModelCardSources,
  mv: ModelVersion,
  rowsWanted: number,
): Promise<ModelCard["importance"]> {
  const frame = await trainingFrame(sources, mv);
  if ("unavailable" in frame) return frame;
  const dataHash = mv.lineage?.dataHash as string;
  const fetch = artifactFetcher({
    artifacts: sources.artifacts,
    runArtifactUri: async (runId) => (await sources.tracking.getRun(runId)).info.artifactUri,
  });
  let explainer;
  try {
    explainer = await loadExplainer(await fetch(mv));
  } catch (e) {
    if (e instanceof InvalidParameterError) return { unavailable: e.message };
    throw e;
  }
  const n = Math.min(rowsWanted, frame.nRows);
  const rows = Int32Array.from({ length: n }, (_, i) => Math.floor((i * frame.nRows) / n));
  const values = explainer.explain(takeRows(frame, rows));
  const means = meanAbsShap(values, n, explainer.features.length);
  return {
    rows: n,
    dataSha256: dataHash,
    bias: explainer.bias,
    features: rankImportance(explainer.features, means),
  };
}

/** Builds the card of `name` version `version` from the registry, the pipeline run, the artifact and the audit log. */
export async function buildModelCard(
  sources: ModelCardSources,
  name: string,
  version: string,
  options: { importanceRows?: number } = {},
): Promise<ModelCard> {
  const clock = sources.clock ?? Date.now;
  const mv = await sources.registry.getModelVersion(name, version);
  const registered = await sources.registry.getRegisteredModel(name);
  const { run, steps } = await pipelineRecord(sources.tracking, mv.runId);
  const gates = (await stepJson<GateResult[]>(sources.artifacts, steps.get("gates"), "gates.json")) ?? [];
  const behaviour =
    (await stepJson<BehaviourResult[]>(sources.artifacts, steps.get("behaviour"), "behaviour.json")) ?? [];
  const metrics: Record<string, number> = {};
  for (const m of run?.data.metrics ?? []) if (Number.isFinite(m.value)) metrics[m.key] = m.value;
  const split = steps.get("split");
  const validate = steps.get("validate");
  const rowsParam = paramOf(run, "data.rows");
  const thresholdParam = paramOf(run, "threshold");
  const hyperparameters: Record<string, string> = {};
  for (const p of run?.data.params ?? []) if (p.key.startsWith("param.")) hyperparameters[p.key.slice(6)] = p.value;
  const signature: Signature | undefined = mv.signature;
  return {
    format: "keel.model_card.v1",
    generatedAt: clock(),
    model: {
      name,
      version,
      description: mv.description,
      createdAt: mv.creationTimestamp,
      createdBy: mv.userId,
      source: mv.source,
      artifactSha256: mv.checksum ?? null,
      runId: mv.runId === "" ? null : mv.runId,
      aliases: mv.aliases,
      stage: mv.currentStage,
      algorithm: paramOf(run, "model"),
      hyperparameters,
    },
    intendedUse: tagOf(mv.tags, "keel.card.intended_use") ?? (registered.description || null),
    limitations: tagOf(mv.tags, "keel.card.limitations") ?? null,
    trainingData: {
      path: mv.lineage?.dataPath ?? paramOf(run, "data"),
      sha256: mv.lineage?.dataHash ?? null,
      configSha256: mv.lineage?.configHash ?? null,
      codeVersion: mv.lineage?.codeVersion ?? null,
      target: paramOf(run, "target"),
      rows: rowsParam === null ? null : Number(rowsParam),
      split: paramOf(run, "split"),
      trainRows: metricOf(split, "train_rows"),
      validRows: metricOf(split, "valid_rows"),
      splitSha256: split === undefined ? null : (tagOf(split.data.tags, "keel.split_sha256") ?? null),
      timeCutoff: metricOf(split, "time_cutoff"),
      expectations: metricOf(validate, "expectations"),
      failedExpectations: metricOf(validate, "failed_expectations"),
    },
    features: signature?.inputs ?? [],
    metrics,
    threshold: thresholdParam === null ? null : Number(thresholdParam),
    gates,
    fairness: gates
      .filter((g) => g.segments !== undefined)
      .map((g) => ({
        gate: g.gate,
        passed: g.passed,
        gap: g.observed,
        maxGap: g.threshold,
        segments: g.segments ?? [],
      })),
    behaviourTests: behaviour.map(({ counterExamples: _c, ...r }) => r),
    calibration: { ece: finite(metrics.ece), brier: finite(metrics.brier), logLoss: finite(metrics.log_loss) },
    importance: await importance(sources, mv, options.importanceRows ?? CARD_IMPORTANCE_ROWS),
    history: await history(sources, mv),
  };
}

/** Keeps the card with the version: its JSON as a blob, its sha256 in the tag `keel.model_card`. */
export async function saveModelCard(
  sources: Pick<ModelCardSources, "registry" | "artifacts">,
  card: ModelCard,
  actor?: { userId: string },
): Promise<{ sha256: string }> {
  const blob = await sources.artifacts.putBlob(new TextEncoder().encode(JSON.stringify(card)));
  await sources.registry.setModelVersionTag(card.model.name, card.model.version, MODEL_CARD_TAG, blob.sha256, actor);
  return { sha256: blob.sha256 };
}

/** The card kept with the version (checksum-verified); NotFoundError when none was generated. */
export async function loadModelCard(
  sources: Pick<ModelCardSources, "registry" | "artifacts">,
  name: string,
  version: string,
): Promise<ModelCard> {
  const mv = await sources.registry.getModelVersion(name, version);
  const sha256 = tagOf(mv.tags, MODEL_CARD_TAG);
  if (sha256 === undefined) {
    throw new NotFoundError(`model ${name} version ${version} has no model card: generate it with keel models card`, {
      details: { field: "version", value: version, rule: `a version tagged ${MODEL_CARD_TAG}` },
    });
  }
  return JSON.parse(new TextDecoder().decode(await sources.artifacts.getBlob(sha256))) as ModelCard;
}
