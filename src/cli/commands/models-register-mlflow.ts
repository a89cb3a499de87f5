import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import type { KeelConfig } from "../../config.js";
import type { Signature } from "../../data/index.js";
import { InvalidParameterError, NotFoundError } from "../../errors.js";
import { detectModelFormat, loadPredictor } from "../../learn/index.js";
import { MLMODEL_FILE, parseMlmodel, signatureFromInputExample, type MlflowModelFile } from "../../registry/index.js";
import type { Tag } from "../../tracking/index.js";
import { print, type CliContext } from "../context.js";
import { withStores } from "../stores.js";

const CLI_ACTOR = { userId: "cli" };

/** `keel models register`'s flags. */
export interface RegisterFlags {
  name: string;
  alias?: string;
  description?: string;
}

/** Every file under a folder, as paths relative to it (`/`-separated). */
async function folderFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === "" ? e.name : `${prefix}/${e.name}`;
    if (e.isDirectory()) out.push(...(await folderFiles(dir, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

/** The folder's signature: MLmodel's column-based one, else one read from its input example. */
async function folderSignature(dir: string, m: MlflowModelFile): Promise<Signature | undefined> {
  if (m.signature !== undefined) return m.signature;
  if (m.inputExample === undefined || m.tensorInputs !== undefined) return undefined;
  if (path.isAbsolute(m.inputExample) || m.inputExample.split(/[\\/]/).includes("..")) {
    throw new InvalidParameterError(
      `${dir}/${MLMODEL_FILE}: saved_input_example_info.artifact_path ${JSON.stringify(m.inputExample)} must be a path inside the folder`,
      { details: { field: "saved_input_example_info.artifact_path", value: m.inputExample } },
    );
  }
  const file = path.join(dir, m.inputExample);
  const text = await readFile(file, "utf8").catch(() => undefined);
  return text === undefined ? undefined : signatureFromInputExample(JSON.parse(text) as unknown, file);
}

interface OpenedModel {
  readonly format: string;
  readonly task: string;
  readonly signature: Signature;
  readonly sha256: string;
}

/** Opens the servable flavor's model file as serving will, checking it against the signature. */
async function openFolderModel(
  dir: string,
  modelFile: string,
  declared: Signature | undefined,
  m: MlflowModelFile,
): Promise<OpenedModel> {
  const file = path.join(dir, modelFile);
  const bytes = await readFile(file).catch((e: unknown) => {
    throw new NotFoundError(`${file}: the model file MLmodel names cannot be read (${(e as Error).message})`, {
      details: { field: "flavors.data", value: modelFile },
    });
  });
  const { format } = detectModelFormat(bytes, file);
  const names = declared?.inputs.map((c) => c.name);
  const predictor = await loadPredictor(bytes, names === undefined ? {} : { featureNames: names });
  try {
    const own = predictor.signature;
    const width = m.tensorInputs?.length === 1 ? m.tensorInputs[0]?.shape[1] : undefined;
    if (width !== undefined && width > 0 && width !== own.inputs.length) {
      throw new InvalidParameterError(
        `${dir}/${MLMODEL_FILE}: signature.inputs[0] has ${width} columns but the model takes ${own.inputs.length}`,
        {
          details: {
            field: "signature.inputs[0].tensor-spec.shape",
            value: width,
            rule: `must be [-1, ${own.inputs.length}]`,
          },
        },
      );
    }
    if (declared !== undefined) {
      const missing = own.inputs.filter((c) => !declared.inputs.some((d) => d.name === c.name)).map((c) => c.name);
      if (missing.length > 0) {
        throw new InvalidParameterError(
          `${dir}/${MLMODEL_FILE}: the signature lacks the model's inputs ${missing.join(", ")}`,
          { details: { field: "signature.inputs", value: missing.join(", "), rule: "must name every model input" } },
        );
      }
    }
    return {
      format,
      task: predictor.task,
      signature: declared ?? own,
      sha256: createHash("sha256").update(bytes).digest("hex"),
    };
  } finally {
    await predictor.close();
  }
}

/**
 * `keel models register DIR`: an MLflow model directory. Its `MLmodel` picks the flavor keel
 * serves (xgboost, lightgbm, onnx, keel), whose model file is opened first; the whole folder is
 * stored under `models/<name>/<sha256>/` and the version's source names that folder, its checksum
 * the model file, its signature MLmodel's. A folder whose flavors keel cannot run (a pickled
 * scikit-learn model, a custom pyfunc) still registers, tagged `keel.servable=false`, and the
 * command says which flavor and what to do.
 */
export async function registerMlflowFolder(
  cmd: Command,
  ctx: CliContext,
  config: KeelConfig,
  dir: string,
  flags: RegisterFlags,
): Promise<void> {
  const mlmodelText = await readFile(path.join(dir, MLMODEL_FILE), "utf8").catch(() => {
    throw new InvalidParameterError(`${dir}: a directory must be an MLflow model folder (no ${MLMODEL_FILE} file)`, {
      details: { field: "file", value: dir, rule: `a model file or a folder with an ${MLMODEL_FILE} file` },
    });
  });
  const m = parseMlmodel(mlmodelText, dir);
  const declared = await folderSignature(dir, m);
  const serving = m.serving;
  const opened = "notServable" in serving ? undefined : await openFolderModel(dir, serving.modelFile, declared, m);
  const signature = opened?.signature ?? declared;
  const folderSha = opened?.sha256 ?? createHash("sha256").update(mlmodelText).digest("hex");
  const flavor = "notServable" in serving ? m.flavors.join(",") : serving.flavor;
  const tags: Tag[] = [
    { key: "keel.mlflow_flavor", value: flavor },
    { key: "keel.source_file", value: path.basename(dir) },
    ...(opened === undefined
      ? [
          { key: "keel.servable", value: "false" },
          { key: "keel.not_servable_reason", value: (serving as { notServable: string }).notServable },
        ]
      : [
          { key: "keel.model_format", value: opened.format },
          { key: "keel.task", value: opened.task },
        ]),
    ...(m.runId === undefined ? [] : [{ key: "keel.mlflow_run_id", value: m.runId }]),
    ...(m.modelId === undefined ? [] : [{ key: "keel.mlflow_model_id", value: m.modelId }]),
  ];
  const version = await withStores(config, async (s) => {
    const base = `models/${encodeURIComponent(flags.name)}/${folderSha}`;
    for (const rel of await folderFiles(dir))
      await s.artifacts.putFile(`${base}/${rel}`, await readFile(path.join(dir, rel)));
    const mv = await s.registry.createModelVersion(
      {
        name: flags.name,
        source: `mlflow-artifacts:/${base}`,
        ...(opened === undefined ? {} : { checksum: opened.sha256 }),
        ...(signature === undefined ? {} : { signature }),
        ...(flags.description === undefined ? {} : { description: flags.description }),
        tags,
      },
      CLI_ACTOR,
    );
    if (flags.alias !== undefined) await s.registry.setAlias(flags.name, flags.alias, mv.version, CLI_ACTOR);
    return s.registry.getModelVersion(flags.name, mv.version);
  });
  const notServable = "notServable" in serving ? serving.notServable : undefined;
  print(
    cmd,
    ctx,
    {
      name: version.name,
      version: version.version,
      flavor,
      servable: notServable === undefined,
      ...(notServable === undefined ? {} : { reason: notServable }),
      ...(opened === undefined ? {} : { format: opened.format, task: opened.task }),
      checksum: version.checksum,
      source: version.source,
      aliases: version.aliases,
      ...(signature === undefined ? {} : { signature }),
    },
    () =>
      [
        `registered ${version.name} version ${version.version} (MLflow flavor ${flavor}${opened ? `, ${opened.format}, ${opened.task}` : ""})`,
        ...(notServable === undefined ? [] : [`not servable: ${notServable}`]),
        ...(version.checksum === undefined ? [] : [`sha256:  ${version.checksum}`]),
        `source:  ${version.source}`,
        ...(signature === undefined ? [] : [`inputs:  ${signature.inputs.map((c) => c.name).join(", ")}`]),
        ...(version.aliases.length > 0 ? [`aliases: ${version.aliases.join(", ")}`] : []),
      ].join("\n"),
  );
}
