import { readFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { KeelLlmClient } from "../../client/index.js";
import type {
  EvalComparisonJson,
  EvalExampleJson,
  EvalRunJson,
  EvaluatorSpecJson,
  JudgeCalibrationJson,
} from "../../client/index.js";
import type { KeelConfig } from "../../config.js";
import { InvalidStateError } from "../../errors.js";
import {
  calibrateJudge,
  checkEvaluatorSpecs,
  compareEvalRuns,
  createDatasetVersion,
  exampleJson,
  examplesFromCsvRows,
  examplesFromJsonl,
  gatewayChat,
  getDataset,
  getDatasetVersion,
  listDatasets,
  listDatasetVersions,
  readDatasetExamples,
  runEvaluation,
  thresholdFailures,
} from "../../llm/index.js";
import {
  calibrationJson,
  datasetJson,
  datasetVersionJson,
  evalComparisonJson,
  evalRunJson,
  readLlmConfig,
  splitDatasetRef,
  splitPromptRef,
  startLlm,
} from "../../server/index.js";
import { parseCsv } from "../../serving/index.js";
import { specError } from "../../spec-fields.js";
import { configFor, group, isoTime, print, serverClient, table } from "../context.js";
import type { CliContext } from "../context.js";
import { LLM_GROUP } from "./llm-monitor.js";
import { withStores, type Stores } from "../stores.js";

type EvalApi = Pick<
  KeelLlmClient,
  | "createDatasetVersion"
  | "listDatasets"
  | "getDataset"
  | "getDatasetExamples"
  | "runEvaluation"
  | "compareEvaluations"
  | "calibrateJudge"
>;

const CLI_ACTOR = { userId: "cli" };

/** The local store's evaluation API in the server's JSON shapes; runs need the gateway of `--llm-config`. */
function localApi(stores: Stores, gateway: () => Promise<ReturnType<typeof startLlm>>): EvalApi {
  return {
    createDatasetVersion: async (q) =>
      datasetVersionJson(
        await createDatasetVersion(
          stores,
          { name: q.name, examples: q.examples, description: q.description },
          CLI_ACTOR,
        ),
      ),
    listDatasets: async (q = {}) => {
      const page = await listDatasets(stores.registry, { maxResults: q.max_results, pageToken: q.page_token });
      return { datasets: page.items.map(datasetJson) };
    },
    getDataset: async (name) => ({
      dataset: datasetJson(await getDataset(stores.registry, name)),
      versions: (await listDatasetVersions(stores.registry, name)).map(datasetVersionJson),
    }),
    getDatasetExamples: async (name, ref) => {
      const v = await getDatasetVersion(stores.registry, name, ref);
      return {
        dataset_version: datasetVersionJson(v),
        examples: (await readDatasetExamples(stores, v)).map(exampleJson),
      };
    },
    runEvaluation: async (q) => {
      const llm = await gateway();
      try {
        const result = await runEvaluation(
          {
            ...stores,
            gateway: llm.services.gateway as NonNullable<typeof llm.services.gateway>,
            prices: llm.services.config?.prices ?? {},
            routes: Object.keys(llm.services.config?.routes ?? {}),
            actor: CLI_ACTOR,
          },
          {
            dataset: splitDatasetRef(q.dataset, "--dataset"),
            prompt: splitPromptRef(q.prompt, "--prompt"),
            route: q.route,
            evaluators: checkEvaluatorSpecs(q.evaluators, "--evaluators"),
            judgeRoute: q.judge_route,
            experimentName: q.experiment_name,
          },
        );
        return evalRunJson(result);
      } finally {
        llm.close();
      }
    },
    compareEvaluations: async (q) => evalComparisonJson(await compareEvalRuns(stores, q.run_a, q.run_b)),
    calibrateJudge: async (q) => {
      const llm = await gateway();
      try {
        const call = gatewayChat(llm.services.gateway as NonNullable<typeof llm.services.gateway>, q.route, "cli");
        const result = await calibrateJudge(
          { registry: stores.registry, artifacts: stores.artifacts, call, actor: CLI_ACTOR },
          {
            judge: q.judge,
            dataset: splitDatasetRef(q.dataset, "--dataset"),
            minScore: q.min_score,
            maxScore: q.max_score,
            passThreshold: q.pass_threshold,
            minKappa: q.min_kappa,
            minAgreement: q.min_agreement,
          },
        );
        return calibrationJson(result);
      } finally {
        llm.close();
      }
    },
  };
}

/** Runs `fn` against the server at the tracking URI when one is configured, else the local store. */
async function withApi<T>(
  config: KeelConfig,
  ctx: CliContext,
  llmConfig: string | undefined,
  fn: (api: EvalApi) => Promise<T>,
): Promise<T> {
  const keel = serverClient(config);
  if (keel !== undefined) return fn(new KeelLlmClient(keel));
  return withStores(config, (stores) =>
    fn(
      localApi(stores, async () => {
        if (llmConfig === undefined)
          throw specError("--llm-config", null, "is needed to call the gateway without a server");
        const file = path.resolve(ctx.cwd, llmConfig);
        return startLlm({ registry: stores.registry, traces: stores.traces }, await readLlmConfig(file, ctx.env));
      }),
    ),
  );
}

function readExamples(file: string, cwd: string): EvalExampleJson[] {
  const csv = /\.csv$/i.test(file);
  if (!csv && !/\.jsonl$/i.test(file)) throw specError("--file", file, "must be a .jsonl or .csv file");
  let text: string;
  try {
    text = readFileSync(path.resolve(cwd, file), "utf8");
  } catch (e) {
    throw specError("--file", file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return (csv ? examplesFromCsvRows(parseCsv(text), file) : examplesFromJsonl(text, file)).map(exampleJson);
}

function readEvaluators(names: string | undefined, file: string | undefined, cwd: string): EvaluatorSpecJson[] {
  const specs: EvaluatorSpecJson[] = (names ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (file !== undefined) {
    const doc: unknown = parseYaml(readFileSync(path.resolve(cwd, file), "utf8"));
    if (!Array.isArray(doc)) throw specError("--evaluators-file", file, "must hold a list of evaluators");
    specs.push(...(doc as EvaluatorSpecJson[]));
  }
  if (specs.length === 0) throw specError("--evaluators", null, "give --evaluators and/or --evaluators-file");
  return specs;
}

/** Fails (exit 1) when run `r` misses a threshold of `alias`'s evaluation gate in the LLM config. */
async function checkGate(alias: string, llmConfig: string | undefined, r: EvalRunJson, ctx: CliContext): Promise<void> {
  if (llmConfig === undefined) throw specError("--llm-config", null, "is needed to read the gate of --gate");
  const gate = (await readLlmConfig(path.resolve(ctx.cwd, llmConfig), ctx.env)).evalGates[alias];
  if (gate === undefined)
    throw specError("--gate", alias, "must name an alias with an evaluation gate in --llm-config");
  const { failures } = thresholdFailures(r.metrics, gate.thresholds, r.run_id);
  if (failures.length > 0) {
    throw new InvalidStateError(`run ${r.run_id} does not meet gate ${gate.gate} of ${alias}: ${failures.join("; ")}`, {
      details: { run_id: r.run_id, failures },
    });
  }
}

const fmt = (x: number | null | undefined) =>
  x === null || x === undefined ? "-" : Number(x.toPrecision(6)).toString();

function describeRun(r: EvalRunJson): string {
  const lines = [
    `run ${r.run_id}: ${r.prompt.name}@${r.prompt.version} on ${r.dataset.name}@${r.dataset.version} (${r.examples.length} examples)`,
    table(
      ["METRIC", "VALUE"],
      Object.entries(r.metrics).map(([k, v]) => [k, fmt(v)]),
    ),
  ];
  return lines.join("\n");
}

function describeComparison(c: EvalComparisonJson): string {
  return [
    `B = ${c.run_b} against A = ${c.run_a} on ${c.dataset}`,
    table(
      [
        "EVALUATOR",
        "N",
        "MEAN A",
        "MEAN B",
        "B-A",
        "PASS A",
        "PASS B",
        "SIGN p",
        "MCNEMAR p",
        "WILCOXON p",
        "PAIRED t p",
      ],
      c.evaluators.map((e) => [
        e.evaluator,
        String(e.n),
        fmt(e.mean_a),
        fmt(e.mean_b),
        fmt(e.mean_difference),
        fmt(e.pass_rate_a),
        fmt(e.pass_rate_b),
        fmt(e.sign_test.p_value),
        fmt(e.mcnemar.p_value),
        fmt(e.wilcoxon.p_value),
        fmt(e.paired_t?.p_value),
      ]),
    ),
  ].join("\n");
}

function describeCalibration(c: JudgeCalibrationJson): string {
  return `judge ${c.judge} on ${c.dataset}: ${c.passed ? "passed" : "failed"} (n=${c.n}, errors=${c.errors}, agreement=${fmt(c.agreement)}, kappa=${fmt(c.kappa)})`;
}

const num = (flag: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) throw specError(flag, v, "must be a number");
  return n;
};

/** `keel llm datasets create|list|show`. */
function datasetCommands(llm: Command, ctx: CliContext): void {
  const datasets = llm.command("datasets").description("evaluation datasets: versioned examples on the registry");
  datasets
    .command("create <name>")
    .description("register a new version of a dataset from a JSONL or CSV file")
    .requiredOption("--file <file>", "a .jsonl file of examples, or a .csv file (header row; columns are inputs)")
    .option("-m, --message <text>", "description of the version")
    .action(async (name: string, flags: { file: string; message?: string }, cmd: Command) => {
      const examples = readExamples(flags.file, ctx.cwd);
      const v = await withApi(configFor(cmd, ctx), ctx, undefined, (api) =>
        api.createDatasetVersion({
          name,
          examples,
          ...(flags.message === undefined ? {} : { description: flags.message }),
        }),
      );
      print(cmd, ctx, v, () => `created ${v.name} v${v.version} (${v.example_count} examples, sha256 ${v.digest})`);
    });

  datasets
    .command("list")
    .description("evaluation datasets and their aliases")
    .action(async (_: unknown, cmd: Command) => {
      const page = await withApi(configFor(cmd, ctx), ctx, undefined, (api) => api.listDatasets({ max_results: 1000 }));
      print(cmd, ctx, page, () =>
        table(
          ["NAME", "ALIASES", "CREATED"],
          page.datasets.map((d) => [
            d.name,
            d.aliases.map((a) => `${a.alias}=v${a.version}`).join(" "),
            isoTime(d.creation_timestamp),
          ]),
        ),
      );
    });

  datasets
    .command("show <ref>")
    .description("a dataset's versions (NAME), or one version's examples (NAME@VERSION, NAME@ALIAS)")
    .action(async (ref: string, _: unknown, cmd: Command) => {
      const { name, ref: at } = splitDatasetRef(ref, "ref");
      const config = configFor(cmd, ctx);
      if (!ref.includes("@")) {
        const d = await withApi(config, ctx, undefined, (api) => api.getDataset(name));
        print(cmd, ctx, d, () =>
          table(
            ["VERSION", "EXAMPLES", "SHA256", "CREATED", "DESCRIPTION"],
            d.versions.map((v) => [
              v.version,
              String(v.example_count),
              v.digest.slice(0, 12),
              isoTime(v.creation_timestamp),
              v.description,
            ]),
          ),
        );
        return;
      }
      const d = await withApi(config, ctx, undefined, (api) => api.getDatasetExamples(name, at));
      print(cmd, ctx, d, () =>
        [
          `${d.dataset_version.name} v${d.dataset_version.version}: ${d.dataset_version.example_count} examples, sha256 ${d.dataset_version.digest}`,
          ...d.examples.map((e) => JSON.stringify(e)),
        ].join("\n"),
      );
    });
}

/** `keel llm datasets|eval|compare|calibrate-judge` (docs/llm-evaluation.md). */
export function llmCommand(program: Command, ctx: CliContext): void {
  const llm = group(program, "llm", LLM_GROUP);
  datasetCommands(llm, ctx);

  llm
    .command("eval")
    .description("run a dataset through a gateway route with a prompt version, score it, and log a tracking run")
    .requiredOption("--dataset <ref>", "NAME, NAME@VERSION or NAME@ALIAS")
    .requiredOption("--prompt <ref>", "NAME@VERSION or NAME@ALIAS")
    .requiredOption("--route <route>", "the gateway route the examples go through")
    .option("--evaluators <kinds>", "comma-separated kinds with default options (exact_match,contains …)")
    .option("--evaluators-file <file>", "a YAML/JSON list of evaluators with options ({ kind, name, … })")
    .option("--judge-route <route>", "the route LLM judges call when their spec names none")
    .option("--experiment <name>", "tracking experiment (default llm-evaluation)")
    .option("--llm-config <file>", "LLM config of the gateway (local store; a server uses its own)")
    .option(
      "--gate <alias>",
      "exit 1 unless the run meets the thresholds of the alias's evaluation gate in --llm-config",
    )
    .action(
      async (
        flags: {
          dataset: string;
          prompt: string;
          gate?: string;
          route: string;
          evaluators?: string;
          evaluatorsFile?: string;
          judgeRoute?: string;
          experiment?: string;
          llmConfig?: string;
        },
        cmd: Command,
      ) => {
        const evaluators = readEvaluators(flags.evaluators, flags.evaluatorsFile, ctx.cwd);
        const r = await withApi(configFor(cmd, ctx), ctx, flags.llmConfig, (api) =>
          api.runEvaluation({
            dataset: flags.dataset,
            prompt: flags.prompt,
            route: flags.route,
            evaluators,
            ...(flags.judgeRoute === undefined ? {} : { judge_route: flags.judgeRoute }),
            ...(flags.experiment === undefined ? {} : { experiment_name: flags.experiment }),
          }),
        );
        print(cmd, ctx, r, () => describeRun(r));
        if (flags.gate !== undefined) await checkGate(flags.gate, flags.llmConfig, r, ctx);
      },
    );

  llm
    .command("compare <runA> <runB>")
    .description("paired comparison of two evaluation runs on the same dataset version (B against A)")
    .action(async (runA: string, runB: string, _: unknown, cmd: Command) => {
      const c = await withApi(configFor(cmd, ctx), ctx, undefined, (api) =>
        api.compareEvaluations({ run_a: runA, run_b: runB }),
      );
      print(cmd, ctx, c, () => describeComparison(c));
    });

  llm
    .command("calibrate-judge")
    .description(
      "score a human-labelled dataset with a judge; record agreement and Cohen's kappa on its prompt version",
    )
    .requiredOption("--judge <ref>", "the judge's rubric prompt, NAME@VERSION or NAME@ALIAS")
    .requiredOption("--dataset <ref>", "labelled dataset: inputs.output (and input, context), reference, human_label")
    .requiredOption("--route <route>", "the gateway route the judge calls")
    .option("--min-score <n>", "lowest score the judge may give (default 0)", num("--min-score"))
    .option("--max-score <n>", "highest score the judge may give (default 1)", num("--max-score"))
    .option("--pass-threshold <n>", "compare pass/fail (score >= n) instead of exact scores", num("--pass-threshold"))
    .option("--min-kappa <n>", "Cohen's kappa the judge must reach", num("--min-kappa"))
    .option("--min-agreement <n>", "agreement rate the judge must reach", num("--min-agreement"))
    .option("--llm-config <file>", "LLM config of the gateway (local store; a server uses its own)")
    .action(
      async (
        flags: {
          judge: string;
          dataset: string;
          route: string;
          minScore?: number;
          maxScore?: number;
          passThreshold?: number;
          minKappa?: number;
          minAgreement?: number;
          llmConfig?: string;
        },
        cmd: Command,
      ) => {
        const c = await withApi(configFor(cmd, ctx), ctx, flags.llmConfig, (api) =>
          api.calibrateJudge({
            judge: flags.judge,
            dataset: flags.dataset,
            route: flags.route,
            ...(flags.minScore === undefined ? {} : { min_score: flags.minScore }),
            ...(flags.maxScore === undefined ? {} : { max_score: flags.maxScore }),
            ...(flags.passThreshold === undefined ? {} : { pass_threshold: flags.passThreshold }),
            ...(flags.minKappa === undefined ? {} : { min_kappa: flags.minKappa }),
            ...(flags.minAgreement === undefined ? {} : { min_agreement: flags.minAgreement }),
          }),
        );
        print(cmd, ctx, c, () => describeCalibration(c));
        if (!c.passed) {
          throw new InvalidStateError(`judge ${c.judge} did not reach the agreement asked for`, {
            details: { judge: c.judge, kappa: c.kappa, agreement: c.agreement },
          });
        }
      },
    );
}
