import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { InvalidParameterError, NotFoundError } from "../../errors.js";
import { detectModelFormat, loadPredictor } from "../../learn/index.js";
import { configFor, group, print } from "../context.js";
import type { CliContext } from "../context.js";
import { withStores } from "../stores.js";
import { registerMlflowFolder, type RegisterFlags } from "./models-register-mlflow.js";
import { MODELS_DESCRIPTION } from "./models.js";

const CLI_ACTOR = { userId: "cli" };
const EXTENSION = { keel: "json", xgboost: "json", lightgbm: "txt", onnx: "onnx" } as const;

/**
 * `keel models register FILE|DIR --name NAME [--alias ALIAS] [--description TEXT]`: registers a
 * model file of any supported format, or an MLflow model directory, as a new version. The file is
 * opened first (so a broken model is refused), stored content-addressed under
 * `models/<name>/<sha256>/model.<ext>`, and the version records its sha256, its signature and its
 * format.
 */
export function modelsRegisterCommand(program: Command, ctx: CliContext): void {
  group(program, "models", MODELS_DESCRIPTION)
    .command("register <file>")
    .description(
      "register a model file (keel, XGBoost JSON/UBJSON/binary, LightGBM text, ONNX) or an MLflow model directory as a new version",
    )
    .requiredOption("--name <name>", "registered model name (created when new)")
    .option("--alias <alias>", "point this alias (e.g. challenger) at the new version")
    .option("--description <text>", "version description")
    .action(async (file: string, flags: RegisterFlags, cmd: Command) => {
      const config = configFor(cmd, ctx);
      const filePath = path.resolve(ctx.cwd, file);
      if (flags.name.trim() === "") {
        throw new InvalidParameterError('--name "": must be a non-empty model name', {
          details: { field: "name", value: flags.name, rule: "non-empty" },
        });
      }
      if ((await stat(filePath).catch(() => undefined))?.isDirectory() === true) {
        await registerMlflowFolder(cmd, ctx, config, filePath, flags);
        return;
      }
      let bytes: Uint8Array;
      try {
        bytes = await readFile(filePath);
      } catch (e) {
        throw new NotFoundError(`model file ${file} cannot be read (${(e as Error).message})`, {
          cause: e,
          details: { field: "file", value: file },
        });
      }
      const { format } = detectModelFormat(bytes, file);
      const predictor = await loadPredictor(bytes);
      const { signature, task } = predictor;
      await predictor.close();
      const version = await withStores(config, async (s) => {
        const sha256 = createHash("sha256").update(bytes).digest("hex");
        const artifactPath = `models/${encodeURIComponent(flags.name)}/${sha256}/model.${EXTENSION[format]}`;
        const stored = await s.artifacts.putFile(artifactPath, bytes);
        const mv = await s.registry.createModelVersion(
          {
            name: flags.name,
            source: `mlflow-artifacts:/${artifactPath}`,
            checksum: stored.sha256,
            signature,
            ...(flags.description === undefined ? {} : { description: flags.description }),
            tags: [
              { key: "keel.model_format", value: format },
              { key: "keel.task", value: task },
              { key: "keel.source_file", value: path.basename(filePath) },
            ],
          },
          CLI_ACTOR,
        );
        if (flags.alias !== undefined) await s.registry.setAlias(flags.name, flags.alias, mv.version, CLI_ACTOR);
        return s.registry.getModelVersion(flags.name, mv.version);
      });
      print(
        cmd,
        ctx,
        {
          name: version.name,
          version: version.version,
          format,
          task,
          checksum: version.checksum,
          source: version.source,
          aliases: version.aliases,
          signature,
        },
        () =>
          [
            `registered ${version.name} version ${version.version} (${format}, ${task})`,
            `sha256:  ${version.checksum ?? ""}`,
            `source:  ${version.source}`,
            `inputs:  ${signature.inputs.map((c) => c.name).join(", ")}`,
            ...(version.aliases.length > 0 ? [`aliases: ${version.aliases.join(", ")}`] : []),
          ].join("\n"),
      );
    });
}
