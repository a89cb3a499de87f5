import { resolve } from "node:path";
import type { Command } from "commander";
import { prepareTarget, readTable, type Frame } from "../../data/index.js";
import { InvalidParameterError } from "../../errors.js";
import {
  chooseThreshold,
  compareModels,
  loadPredictor,
  parseCostMatrix,
  parseThresholdRule,
  type ThresholdChoice,
  type ThresholdRule,
  type EvaluationReport,
  type ModelMetrics,
  type Predictor,
} from "../../learn/index.js";
import { artifactFetcher, setVersionDecision, type VersionDecision } from "../../registry/index.js";
import { withStores } from "../stores.js";
import { collect, configFor, print, table } from "../context.js";
import type { CliContext } from "../context.js";
import type { KeelConfig } from "../../config.js";

interface EvaluateFlags {
  data: string;
  target: string;
  model: string[];
  threshold: number;
  alpha: number;
  minEffect: number;
  segment?: string;
  positive?: string;
  chooseThreshold?: ThresholdRule;
  costMatrix?: ThresholdRule;
  setThreshold?: boolean;
}

/** Who stores a threshold in the local store (as other local CLI writes). */
const LOCAL_ACTOR = "cli";

const REGISTRY_URI = /^models:\/([^/@]+)(?:@([^/]+)|\/(\d+))$/;

/** The interval a flag's number must lie in: [0, 1], (0, 1) or [0, 1). */
type Interval = "closed" | "open" | "closed-open";

const INTERVAL_TEXT: Record<Interval, string> = { closed: "[0, 1]", open: "(0, 1)", "closed-open": "[0, 1)" };

function probability(flag: string, interval: Interval): (value: string) => number {
  return (value) => {
    const v = Number(value);
    const inside = interval === "closed" ? v >= 0 && v <= 1 : interval === "open" ? v > 0 && v < 1 : v >= 0 && v < 1;
    const ok = value.trim() !== "" && Number.isFinite(v) && inside;
    if (!ok) {
      const rule = `must be a number in ${INTERVAL_TEXT[interval]}`;
      throw new InvalidParameterError(`${flag} = ${value}: ${rule}`, { details: { field: flag, value, rule } });
    }
    return v;
  };
}

/** `models:/name@alias` or `models:/name/version`, checked before any store is opened. */
function registryReference(spec: string): { name: string; alias?: string; version?: string } {
  const m = REGISTRY_URI.exec(spec);
  if (m === null) {
    const rule = "must be a file, models:/<name>@<alias> or models:/<name>/<version>";
    throw new InvalidParameterError(`--model = ${spec}: ${rule}`, { details: { field: "--model", value: spec, rule } });
  }
  return { name: m[1] as string, ...(m[2] !== undefined ? { alias: m[2] } : { version: m[3] as string }) };
}

/** Loads each `--model`: a model file, or a version from the registry. */
async function loadModels(specs: readonly string[], cwd: string, config: KeelConfig): Promise<Predictor[]> {
  const references = new Map(specs.filter((s) => s.startsWith("models:")).map((s) => [s, registryReference(s)]));
  const bytes = new Map<string, Uint8Array>();
  if (references.size > 0) {
    await withStores(config, async (stores) => {
      const fetch = artifactFetcher({
        artifacts: stores.artifacts,
        runArtifactUri: async (id) => (await stores.tracking.getRun(id)).info.artifactUri,
      });
      for (const [spec, ref] of references) {
        const version =
          ref.alias !== undefined
            ? await stores.registry.getVersionByAlias(ref.name, ref.alias)
            : await stores.registry.getModelVersion(ref.name, ref.version as string);
        bytes.set(spec, await fetch(version));
      }
    });
  }
  const predictors: Predictor[] = [];
  try {
    for (const spec of specs) predictors.push(await loadPredictor(bytes.get(spec) ?? resolve(cwd, spec)));
  } catch (e) {
    await Promise.all(predictors.map((p) => p.close()));
    throw e;
  }
  return predictors;
}

function segmentationOf(frame: Frame, column: string): { column: string; codes: Int32Array; names: string[] } {
  const col = frame.columns.find((c) => c.name === column);
  if (col === undefined) {
    const rule = "must name a column of --data";
    throw new InvalidParameterError(`--segment = ${column}: ${rule}`, {
      details: { field: "--segment", value: column, rule },
    });
  }
  if (col.kind === "categorical") return { column, codes: Int32Array.from(col.codes), names: [...col.dictionary] };
  const names: string[] = [];
  const index = new Map<number, number>();
  const codes = new Int32Array(frame.nRows);
  for (let i = 0; i < frame.nRows; i++) {
    const v = col.values[i] as number;
    if (v !== v) {
      codes[i] = -1;
      continue;
    }
    let k = index.get(v);
    if (k === undefined) {
      k = names.length;
      index.set(v, k);
      names.push(String(v));
    }
    codes[i] = k;
  }
  return { column, codes, names };
}

const f4 = (v: number): string => (Number.isNaN(v) ? "-" : v.toFixed(4));
const pv = (v: number): string => (v !== 0 && v < 1e-4 ? v.toExponential(2) : v.toFixed(4));

function metricsJson(m: ModelMetrics): Record<string, number | null> {
  const n = (v: number): number | null => (Number.isNaN(v) ? null : v);
  return {
    rows: m.rows,
    positives: m.positives,
    auc: n(m.auc),
    ks: n(m.ks),
    log_loss: m.logLoss,
    brier: m.brier,
    fnr: m.fnr,
    fpr: m.fpr,
    precision: m.precision,
    recall: m.recall,
    calibration_error: m.calibrationError,
  };
}

function choiceJson(c: ThresholdChoice | undefined): object {
  if (c === undefined) return {};
  return {
    proposed_threshold: {
      rule: c.rule,
      threshold: c.threshold,
      fnr: c.fnr,
      fpr: c.fpr,
      ...(c.costPerRow !== undefined ? { cost_per_row: c.costPerRow } : {}),
    },
  };
}

/** The `--json` payload, in the wire's snake_case. */
function evaluationJson(
  r: EvaluationReport,
  segment: string | undefined,
  choices: readonly (ThresholdChoice | undefined)[],
  stored: readonly string[],
): object {
  return {
    threshold: r.threshold,
    alpha: r.alpha,
    min_effect: r.minEffect,
    ...(stored.length > 0 ? { threshold_stored_on: stored } : {}),
    models: r.models.map((m, i) => ({
      model: m.model,
      ...metricsJson(m),
      ...choiceJson(choices[i]),
      ...(m.segments === undefined
        ? {}
        : { segment_column: segment, segments: m.segments.map((s) => ({ segment: s.segment, ...metricsJson(s) })) }),
    })),
    comparisons: r.comparisons.map((c) => ({
      a: c.a,
      b: c.b,
      auc_difference: c.aucDifference,
      ci_low: c.ciLow,
      ci_high: c.ciHigh,
      p_value: c.pValue,
      method: c.method,
      mcnemar_p_value: c.mcnemarPValue,
      verdict: c.verdict,
    })),
  };
}

function humanReport(
  r: EvaluationReport,
  choices: readonly (ThresholdChoice | undefined)[],
  stored: readonly string[],
): string {
  const lines = [
    table(
      ["model", "rows", "auc", "ks", "log_loss", "brier", "fnr", "fpr", "cal_err"],
      r.models.map((m) => [
        m.model,
        String(m.rows),
        f4(m.auc),
        f4(m.ks),
        f4(m.logLoss),
        f4(m.brier),
        f4(m.fnr),
        f4(m.fpr),
        f4(m.calibrationError),
      ]),
    ),
  ];
  for (const m of r.models) {
    if (m.segments === undefined) continue;
    lines.push("", `${m.model} by segment:`);
    lines.push(
      table(
        ["segment", "rows", "auc", "fnr", "fpr"],
        m.segments.map((s) => [s.segment, String(s.rows), f4(s.auc), f4(s.fnr), f4(s.fpr)]),
      ),
    );
  }
  if (r.comparisons.length > 0) {
    const level = `${Math.round((1 - r.alpha) * 1000) / 10}%`;
    lines.push(
      "",
      `paired comparisons against ${r.models[0]?.model ?? ""} (DeLong; ${level} CI; McNemar at ${r.threshold})`,
    );
    lines.push(
      table(
        ["model", "auc_diff", "ci_low", "ci_high", "p_value", "mcnemar_p", "verdict"],
        r.comparisons.map((c) => [
          c.a,
          f4(c.aucDifference),
          f4(c.ciLow),
          f4(c.ciHigh),
          pv(c.pValue),
          pv(c.mcnemarPValue),
          c.verdict,
        ]),
      ),
    );
  }
  const proposals = r.models.flatMap((m, i) => {
    const c = choices[i];
    if (c === undefined) return [];
    const cost = c.costPerRow !== undefined ? `, cost per row ${f4(c.costPerRow)}` : "";
    return [`${m.model}: threshold ${c.threshold} meets ${c.rule} (FNR ${f4(c.fnr)}, FPR ${f4(c.fpr)}${cost})`];
  });
  if (proposals.length > 0) lines.push("", "proposed thresholds:", ...proposals);
  if (stored.length > 0) lines.push("", `decision threshold stored on ${stored.join(", ")}`);
  return lines.join("\n");
}

/**
 * `--set-threshold`: the proposed threshold (or `--threshold` without a rule) stored on every
 * registry model evaluated, with the cost matrix when one chose it. Returns `models:/name/version`
 * of each version written.
 */
async function storeThresholds(
  config: KeelConfig,
  specs: readonly string[],
  choices: readonly (ThresholdChoice | undefined)[],
  threshold: number,
  costs: ThresholdRule | undefined,
): Promise<string[]> {
  const stored: string[] = [];
  await withStores(config, async (stores) => {
    for (const [i, spec] of specs.entries()) {
      if (!spec.startsWith("models:")) continue;
      const ref = registryReference(spec);
      const version =
        ref.alias !== undefined
          ? (await stores.registry.getVersionByAlias(ref.name, ref.alias)).version
          : (ref.version as string);
      const decision: VersionDecision = {
        threshold: choices[i]?.threshold ?? threshold,
        ...(costs?.kind === "cost"
          ? { costs: { falsePositive: costs.falsePositive, falseNegative: costs.falseNegative } }
          : {}),
      };
      await setVersionDecision(stores.registry, ref.name, version, decision, { userId: LOCAL_ACTOR });
      stored.push(`models:/${ref.name}/${version}`);
    }
  });
  return stored;
}

/** The one threshold rule given, checked before any data is read; `--set-threshold` needs a models:/ model. */
function checkRules(flags: EvaluateFlags): ThresholdRule | undefined {
  if (flags.chooseThreshold !== undefined && flags.costMatrix !== undefined) {
    const rule = "give one of --choose-threshold and --cost-matrix";
    throw new InvalidParameterError(`--cost-matrix: ${rule}`, { details: { field: "--cost-matrix", rule } });
  }
  if (flags.setThreshold === true && !flags.model.some((m) => m.startsWith("models:"))) {
    const rule = "needs a models:/<name>@<alias> or models:/<name>/<version> model to store the threshold on";
    throw new InvalidParameterError(`--set-threshold: ${rule}`, { details: { field: "--set-threshold", rule } });
  }
  return flags.chooseThreshold ?? flags.costMatrix;
}

/**
 * `keel evaluate --data FILE --target COL --model A [--model B …] [--threshold t] [--segment COL]
 * [--alpha a] [--min-effect d]`: every model's metrics on the same labelled rows and each later
 * model compared with the first.
 */
export function evaluateCommand(program: Command, ctx: CliContext): void {
  program
    .command("evaluate")
    .description("score labelled rows with one or more models; compare each with the first (DeLong, McNemar)")
    .requiredOption("--data <file>", "labelled rows (.csv or .parquet)")
    .requiredOption("--target <column>", "the label column (0/1 or two classes)")
    .requiredOption(
      "--model <spec>",
      "a model file, models:/<name>@<alias> or models:/<name>/<version>; repeat to compare",
      collect,
    )
    .option(
      "--threshold <t>",
      "decision threshold for FNR, FPR and McNemar (default 0.5)",
      probability("--threshold", "closed"),
      0.5,
    )
    .option("--alpha <a>", "significance level of the comparisons (default 0.05)", probability("--alpha", "open"), 0.05)
    .option(
      "--min-effect <d>",
      "smallest AUC gain that counts as better (default 0)",
      // An AUC gain of 1 or more can never be shown, so 1 is refused here, naming the flag.
      probability("--min-effect", "closed-open"),
      0,
    )
    .option("--segment <column>", "also report the metrics per value of this column")
    .option("--positive <class>", "the positive class of a string target")
    .option(
      "--choose-threshold <rule>",
      "propose each model's threshold: fnr<=B (highest meeting it) or fpr<=B (lowest meeting it)",
      (v: string) => parseThresholdRule(v, "--choose-threshold"),
    )
    .option("--cost-matrix <costs>", "propose each model's threshold of least cost, e.g. fp=1,fn=5", (v: string) =>
      parseCostMatrix(v, "--cost-matrix"),
    )
    .option(
      "--set-threshold",
      "store the proposed threshold (or --threshold) on each models:/ version evaluated (audited)",
    )
    .action(async (flags: EvaluateFlags, cmd: Command) => {
      const config = configFor(cmd, ctx);
      const rule = checkRules(flags);
      const frame = await readTable(resolve(ctx.cwd, flags.data));
      const target = prepareTarget(
        frame,
        flags.target,
        flags.positive === undefined ? {} : { positive: flags.positive },
      );
      if (target.task !== "binary") {
        const rule = "must hold two classes (evaluate compares binary classifiers)";
        throw new InvalidParameterError(`--target = ${flags.target}: ${rule}`, {
          details: { field: "--target", value: flags.target, rule },
        });
      }
      const segmentation = flags.segment === undefined ? undefined : segmentationOf(frame, flags.segment);
      const predictors = await loadModels(flags.model, ctx.cwd, config);
      let report: EvaluationReport;
      let choices: (ThresholdChoice | undefined)[] = [];
      try {
        const scored = [];
        for (let i = 0; i < predictors.length; i++) {
          scored.push({ model: flags.model[i] as string, scores: await (predictors[i] as Predictor).predict(frame) });
        }
        choices = scored.map((m) => (rule === undefined ? undefined : chooseThreshold(target.y, m.scores, rule)));
        report = compareModels(target.y, scored, {
          threshold: flags.threshold,
          alpha: flags.alpha,
          minEffect: flags.minEffect,
          ...(segmentation === undefined ? {} : { segmentation }),
        });
      } finally {
        await Promise.all(predictors.map((p) => p.close()));
      }
      const stored =
        flags.setThreshold === true
          ? await storeThresholds(config, flags.model, choices, flags.threshold, flags.costMatrix)
          : [];
      print(cmd, ctx, evaluationJson(report, flags.segment, choices, stored), () =>
        humanReport(report, choices, stored),
      );
    });
}
