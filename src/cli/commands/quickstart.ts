import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import type { KeelConfig } from "../../config.js";
import type { Frame, Signature } from "../../data/index.js";
import { writeFileAtomic, generateLoanApplications } from "../../data/index.js";
import { InvalidStateError } from "../../errors.js";
import { DEFAULT_CHAMPION_WINDOWS } from "../../monitoring/index.js";
import {
  createFeatureRegistry,
  entityInputs,
  featureService,
  loadFeatureRepo,
  materializeIncremental,
  openOnlineStore,
  type FeatureRegistry,
  type FeatureRepo,
} from "../../features/index.js";
import type { Stores } from "../../open-stores.js";
import {
  readTrainingSet,
  runPipelineFile,
  type PipelineDefinitionInput,
  type PipelineResult,
} from "../../pipeline/index.js";
import { CHAMPION_ALIAS, promoteAlias } from "../../registry/index.js";
import { proposeSuite } from "../../validate/index.js";
import { configFor, globalOptions, positiveInt } from "../context.js";
import type { CliContext } from "../context.js";
import { startKeelServer, untilSignal } from "../serve.js";
import { withStores } from "../stores.js";
import { asInputError, renderResult, stepLine } from "./pipeline.js";
import {
  QUICKSTART_FEATURE_SERVICE,
  QUICKSTART_FEATURES_END,
  entityExample,
  entityOipRequest,
  writeQuickstartFeatures,
} from "./quickstart-features.js";

export const QUICKSTART_MODEL = "loan-default";
/** The generator's seed: the same rows on every machine. */
const SEED = 7;
const DEFAULT_ROWS = 20_000;
const ACTOR = "keel-quickstart";

/**
 * The quickstart's pipeline: a GBDT on the point-in-time training set of the loan applications
 * (features from the feature service as of each application's time), credit score constrained to
 * lower the predicted default risk, the seed's gates plus demographic parity across regions, and a
 * monotonicity behaviour test. `training` names the rows (default: the feature service's training
 * set; `{data}` trains on a file of finished features instead). The threshold is the bank's
 * decision cut-off: an application whose predicted default probability reaches it is declined.
 */
export function quickstartPipeline(
  training: { data: string } | { trainingSet: { featureService: string; entityDf: string } } = {
    trainingSet: { featureService: QUICKSTART_FEATURE_SERVICE, entityDf: "loan-applications.csv" },
  },
): PipelineDefinitionInput {
  return {
    name: "loan-default",
    experiment: "loan-default",
    ...training,
    target: "default",
    positive: "1",
    idColumn: "applicant_id",
    validate: { suite: "suite.json" },
    split: { kind: "random", validFraction: 0.2, seed: SEED, stratify: true },
    train: {
      model: "gbdt",
      params: {
        n_estimators: 150,
        max_depth: 4,
        learning_rate: 0.1,
        min_child_weight: 5,
        seed: SEED,
        monotone_constraints: { credit_score: -1 },
      },
    },
    evaluate: { threshold: 0.1 },
    gates: [
      { gate: "auc", min: 0.82 },
      { gate: "ks", min: 0.3 },
      { gate: "fnr", max: 0.15 },
      { gate: "auc_vs_champion", minDelta: -0.005 },
      { gate: "demographic_parity", segment: "region", maxGap: 0.1 },
    ],
    behaviourTests: [{ test: "monotonic", feature: "credit_score", direction: "decreasing" }],
    register: { model: QUICKSTART_MODEL, alias: "challenger" },
  };
}

/** Writes `text` to `file` through a temporary name, unless the file already holds exactly it. */
async function writeIfChanged(file: string, text: string): Promise<void> {
  const current = await readFile(file, "utf8").catch(() => undefined);
  if (current === text) return;
  await writeFileAtomic(file, text);
}

/** The endpoint serving the model by applicant id: the feature service's features looked up per request. */
export function quickstartServing(model: string): unknown {
  return { endpoints: [{ name: model, model, featureService: QUICKSTART_FEATURE_SERVICE }] };
}

interface QuickstartFeatures {
  readonly registry: FeatureRegistry;
  readonly repo: FeatureRepo;
  /** The point-in-time training set, as the pipeline reads it. */
  readonly training: Frame;
  /** The feature names the service answers with. */
  readonly served: readonly string[];
}

/** Registers the feature repository (an unchanged file records nothing) and builds its training set. */
async function applyQuickstartFeatures(stores: Stores, repoFile: string, dir: string): Promise<QuickstartFeatures> {
  const registry = createFeatureRegistry(stores.metadata);
  const repo = await loadFeatureRepo(repoFile);
  await registry.apply(repo, { sourceFile: repoFile, actor: ACTOR });
  const spec = quickstartPipeline().trainingSet as { featureService: string; entityDf: string };
  const set = await readTrainingSet(spec, dir, registry, "applicant_id");
  const service = featureService(repo, QUICKSTART_FEATURE_SERVICE, "feature_service");
  return { registry, repo, training: set.frame, served: entityInputs(repo, service.features).served };
}

/** Loads each applicant's latest record into the online store; a rerun finds nothing new. */
async function materializeQuickstart(
  stores: Stores,
  config: KeelConfig,
  features: QuickstartFeatures,
): Promise<number> {
  const online = openOnlineStore({ redisUrl: config.redisUrl, dataDir: config.dataDir });
  try {
    const done = await materializeIncremental(features.repo, features.registry, online, {
      end: Date.parse(QUICKSTART_FEATURES_END),
    });
    return done.reduce((n, d) => n + d.rows, 0);
  } finally {
    await online.close();
  }
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

export function curlLine(url: string, body: unknown): string {
  return `curl -s ${url} -H 'content-type: application/json' -d ${shellQuote(JSON.stringify(body))}`;
}

interface QuickstartFlags {
  serve: boolean;
  port?: string;
  rows?: number;
}

/**
 * `keel quickstart [--no-serve] [--port N] [--rows N]` (the store and files go to `--data-dir`):
 * generates the loan applications, proposes a validation suite, writes and runs the pipeline,
 * registers the model as champion and serves it.
 */
export function quickstartCommand(program: Command, ctx: CliContext): void {
  program
    .command("quickstart")
    .description("generate loan data, validate it, train and gate a model, register it as champion and serve it")
    .option("--no-serve", "do everything but serving, then exit")
    .option("--port <port>", "port to serve on, 0 for any free port (env KEEL_PORT, default 5000)")
    .option("--rows <n>", `loan applications to generate (default ${DEFAULT_ROWS})`, positiveInt("--rows"))
    .action(async (opts: QuickstartFlags, cmd: Command) => {
      const started = Date.now();
      const config = configFor(cmd, ctx, { port: opts.port });
      const json = globalOptions(cmd).json === true;
      const say = (line: string) => {
        if (!json) ctx.out(line);
      };
      const rows = opts.rows ?? DEFAULT_ROWS;
      const dir = path.join(config.dataDir, "quickstart");
      await mkdir(dir, { recursive: true });

      const frame = generateLoanApplications({ rows, seed: SEED, driftMonths: 0 });
      const files = await writeQuickstartFeatures(frame, dir, SEED, writeIfChanged);
      const pipelineFile = path.join(dir, "pipeline.json");
      await writeIfChanged(pipelineFile, JSON.stringify(quickstartPipeline(), null, 2) + "\n");
      const suiteFile = path.join(dir, "suite.json");
      say(`keel quickstart: ${rows} synthetic loan applications (seed ${SEED})`);
      say(`  features  ${files.repoFile} (source ${path.basename(files.events)})`);
      say(`  data      ${files.entityDf} (labelled applications)`);
      say(`  suite     ${suiteFile} (proposed from the training set)`);
      say(`  pipeline  ${pipelineFile}`);

      await withStores(config, async (stores) => {
        const features = await applyQuickstartFeatures(stores, files.repoFile, dir);
        await writeIfChanged(suiteFile, JSON.stringify(proposeSuite(features.training), null, 2) + "\n");
        let result: PipelineResult;
        try {
          result = await runPipelineFile(
            pipelineFile,
            {
              tracking: stores.tracking,
              registry: stores.registry,
              artifacts: stores.artifacts,
              features: features.registry,
              actor: { userId: ACTOR },
            },
            {
              reuseIdenticalVersion: true,
              tags: { "keel.trigger": "quickstart" },
              onStep: (e) => e.phase === "end" && say(stepLine(e)),
            },
          );
        } catch (e) {
          throw asInputError(e);
        }
        if (result.status === "failed" || result.registered === undefined) {
          if (json) ctx.out(JSON.stringify(result, null, 2));
          else say(renderResult(result));
          throw new InvalidStateError(
            `quickstart pipeline failed at ${result.failedStep ?? "a step"}: ${result.failure ?? ""}`,
          );
        }
        const registered = result.registered;
        const model = await stores.registry.getRegisteredModel(registered.name);
        const champion = model.aliases.find((a) => a.alias === CHAMPION_ALIAS)?.version ?? null;
        if (champion !== registered.version) {
          await promoteAlias(stores.registry, {
            name: registered.name,
            version: registered.version,
            approver: ACTOR,
            reason:
              champion === null
                ? `keel quickstart: version ${registered.version} passed every gate and behaviour test`
                : `keel quickstart rerun: version ${registered.version} passed every gate, including AUC against version ${champion}`,
          });
        }
        say(renderResult(result));
        say(`alias champion → ${registered.name} version ${registered.version}`);
        const online = await materializeQuickstart(stores, config, features);
        say(`materialized ${online} applicant records into the online store (features by applicant_id)`);
        const mv = await stores.registry.getModelVersion(registered.name, registered.version);
        const signature = mv.signature as Signature;
        const record = entityExample(features.training, signature, features.served);
        const summary = {
          features: files.repoFile,
          data: files.entityDf,
          suite: suiteFile,
          pipeline: pipelineFile,
          result,
          champion: registered.version,
          example: record,
          seconds: (Date.now() - started) / 1000,
        };
        if (!opts.serve) {
          if (json) ctx.out(JSON.stringify(summary, null, 2));
          say(`done in ${summary.seconds.toFixed(1)} s; serve it with: keel server --data-dir ${config.dataDir}`);
          return;
        }
        const servingFile = path.join(dir, "serving.json");
        await writeIfChanged(servingFile, JSON.stringify(quickstartServing(registered.name), null, 2) + "\n");
        // The champion is monitored as every champion is (hourly and daily drift, data-quality and
        // prediction-drift windows under the default alert rules), plus the skew of its features.
        const keel = await startKeelServer(stores, config, ctx, {
          servingConfig: servingFile,
          monitoring: {
            models: [
              {
                name: registered.name,
                windows: DEFAULT_CHAMPION_WINDOWS,
                skew: { featureService: QUICKSTART_FEATURE_SERVICE },
              },
            ],
            delayMinutes: 5,
          },
        });
        const server = keel.server;
        const predictUrl = `${server.url}/api/keel/endpoints/${registered.name}/predict`;
        const inferUrl = `${server.url}/v2/models/${registered.name}/infer`;
        if (json) {
          ctx.out(
            JSON.stringify({ ...summary, url: server.url, predict: predictUrl, infer: inferUrl, record }, null, 2),
          );
        }
        say(`serving ${registered.name} version ${registered.version} (champion) by applicant_id — Ctrl-C stops it`);
        say(`  UI    ${server.url}/   (runs, registry, monitoring, endpoints)`);
        say(`  open  ${server.url}/v2/models/${registered.name}   (model metadata, Open Inference Protocol V2)`);
        say(`  try   ${curlLine(predictUrl, { records: [record] })}`);
        say(`  OIP   ${curlLine(inferUrl, entityOipRequest(record, signature))}`);
        say(`listening on ${server.url}`);
        await untilSignal();
        await keel.close();
      });
    });
}
