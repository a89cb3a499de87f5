import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import type { Frame, Signature } from "../../data/index.js";
import { writeFileAtomic, writeTable, generateLoanApplications } from "../../data/index.js";
import { InvalidStateError } from "../../errors.js";
import { runPipelineFile, type PipelineDefinitionInput, type PipelineResult } from "../../pipeline/index.js";
import { CHAMPION_ALIAS, promoteAlias } from "../../registry/index.js";
import { proposeSuite } from "../../validate/index.js";
import { configFor, globalOptions, positiveInt } from "../context.js";
import type { CliContext } from "../context.js";
import { startKeelServer, untilSignal } from "../serve.js";
import { withStores } from "../stores.js";
import { asInputError, renderResult, stepLine } from "./pipeline.js";

export const QUICKSTART_MODEL = "loan-default";
/** The generator's seed: the same rows on every machine. */
const SEED = 7;
const DEFAULT_ROWS = 20_000;
const ACTOR = "keel-quickstart";

/**
 * The quickstart's pipeline: a GBDT on the loan applications, credit score constrained to lower
 * the predicted default risk, the seed's gates plus demographic parity across regions, and a
 * monotonicity behaviour test. The threshold is the bank's decision cut-off: an application whose
 * predicted default probability reaches it is declined.
 */
export function quickstartPipeline(): PipelineDefinitionInput {
  return {
    name: "loan-default",
    experiment: "loan-default",
    data: "loan-applications.csv",
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

type JsonValue = number | string | boolean;

/**
 * A request record: the first row whose every input lies inside the model's signature (declared
 * ranges and categories, no nulls), so the printed request is one the server accepts.
 */
export function exampleRecord(frame: Frame, signature: Signature): Record<string, JsonValue> {
  for (let r = 0; r < frame.nRows; r++) {
    const rec: Record<string, JsonValue> = {};
    let ok = true;
    for (const input of signature.inputs) {
      const col = frame.columns.find((c) => c.name === input.name);
      if (col === undefined) {
        ok = false;
        break;
      }
      if (col.kind === "numeric") {
        const v = col.values[r] as number;
        if (v !== v || (input.range !== undefined && (v < input.range.min || v > input.range.max))) {
          ok = false;
          break;
        }
        rec[input.name] = input.type === "boolean" ? v !== 0 : v;
      } else {
        const k = col.codes[r] as number;
        const s = k < 0 ? undefined : col.dictionary[k];
        if (s === undefined || (input.categories !== undefined && !input.categories.includes(s))) {
          ok = false;
          break;
        }
        rec[input.name] = s;
      }
    }
    if (ok) return rec;
  }
  throw new InvalidStateError("no row of the data fits the model's signature; cannot build an example request");
}

const OIP_TYPES = { double: "FP64", long: "INT64", boolean: "BOOL", string: "BYTES" } as const;

/** An Open Inference Protocol V2 request body for one record: one tensor per input column. */
export function oipRequest(record: Readonly<Record<string, JsonValue>>, signature: Signature): unknown {
  return {
    id: "quickstart-1",
    inputs: signature.inputs.map((c) => ({
      name: c.name,
      shape: [1],
      datatype: OIP_TYPES[c.type],
      data: [record[c.name] as JsonValue],
    })),
  };
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
      const dataFile = path.join(dir, "loan-applications.csv");
      await writeTable(frame, dataFile);
      const suite = proposeSuite(frame);
      await writeIfChanged(path.join(dir, "suite.json"), JSON.stringify(suite, null, 2) + "\n");
      const pipelineFile = path.join(dir, "pipeline.json");
      await writeIfChanged(pipelineFile, JSON.stringify(quickstartPipeline(), null, 2) + "\n");
      say(`keel quickstart: ${rows} synthetic loan applications (seed ${SEED})`);
      say(`  data      ${dataFile}`);
      say(`  suite     ${path.join(dir, "suite.json")} (proposed from the data)`);
      say(`  pipeline  ${pipelineFile}`);

      await withStores(config, async (stores) => {
        let result: PipelineResult;
        try {
          result = await runPipelineFile(
            pipelineFile,
            {
              tracking: stores.tracking,
              registry: stores.registry,
              artifacts: stores.artifacts,
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
        const mv = await stores.registry.getModelVersion(registered.name, registered.version);
        const signature = mv.signature as Signature;
        const record = exampleRecord(frame, signature);
        const summary = {
          data: dataFile,
          suite: path.join(dir, "suite.json"),
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
        // The champion is monitored as every champion is: hourly and daily drift, data-quality and
        // prediction-drift windows over the inference log, under the default alert rules.
        const keel = await startKeelServer(stores, config, ctx, {});
        const server = keel.server;
        const predictUrl = `${server.url}/api/keel/endpoints/${registered.name}/predict`;
        const inferUrl = `${server.url}/v2/models/${registered.name}/infer`;
        if (json) {
          ctx.out(
            JSON.stringify({ ...summary, url: server.url, predict: predictUrl, infer: inferUrl, record }, null, 2),
          );
        }
        say(`serving ${registered.name} version ${registered.version} (champion) — Ctrl-C stops it`);
        say(`  open  ${server.url}/v2/models/${registered.name}   (model metadata, Open Inference Protocol V2)`);
        say(`  try   ${curlLine(predictUrl, { records: [record] })}`);
        say(`  OIP   ${curlLine(inferUrl, oipRequest(record, signature))}`);
        say(`listening on ${server.url}`);
        await untilSignal();
        await keel.close();
      });
    });
}
