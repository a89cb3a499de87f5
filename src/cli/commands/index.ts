import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { auditCommand } from "./audit.js";
import { experimentsCommand } from "./experiments.js";
import { migrateCommand } from "./migrate.js";
import { modelsCommand } from "./models.js";
import { runsCommand } from "./runs.js";
import { serverCommand } from "./server.js";
import { tokensCommand } from "./tokens.js";
import { driftCommand } from "./drift.js";
import { trainCommand } from "./train.js";
import { predictCommand } from "./predict.js";
import { modelsRegisterCommand } from "./models-register.js";
import { promoteCommand } from "./promote.js";
import { labelsCommand } from "./labels.js";
import { validateCommand } from "./validate.js";
import { pipelineCommand } from "./pipeline.js";
import { retrainCommand } from "./retrain.js";
import { quickstartCommand } from "./quickstart.js";
import { evaluateCommand } from "./evaluate.js";
import { featuresCommand } from "./features.js";
import { explainCommand } from "./explain.js";
import { rolloutCommand } from "./rollout.js";

/** Adds one command (or subcommands of a group) to the program. */
export type CommandRegistrar = (program: Command, ctx: CliContext) => void;

/** Every command of the `keel` CLI, registered in this order. Append your entry. */
export const commands: readonly CommandRegistrar[] = [
  serverCommand,
  migrateCommand,
  experimentsCommand,
  runsCommand,
  modelsCommand,
  auditCommand,
  tokensCommand,
  driftCommand,
  trainCommand,
  predictCommand,
  modelsRegisterCommand,
  promoteCommand,
  labelsCommand,
  validateCommand,
  pipelineCommand,
  retrainCommand,
  quickstartCommand,
  evaluateCommand,
  featuresCommand,
  explainCommand,
  rolloutCommand,
];
