/**
 * GBDT training: the loan-default model (800k rows, 300 trees, depth 5, learning_rate 0.05,
 * subsample 0.8) with keel's histogram GBDT vs XGBoost `hist` at the same thread count, timed
 * on the same rows; validation AUC on the next 200k rows. Data: .bench-data/loans_1m.csv
 * (../shared/anchors/gen_loans.py); features as anchors.py: 7 numeric columns plus home_ownership
 * and purpose (keel splits them natively, XGBoost gets them one-hot, as anchors.py does).
 * Env knobs: KEEL_BENCH_TRAIN_ROWS (default 800000), KEEL_BENCH_TRAIN_TREES (300),
 * KEEL_BENCH_THREADS (2).
 * Peak RSS of each process (keel's: the loaded frame, its training and test copies, and training).
 * Targets: time ≤ 1.0 × XGBoost, AUC ≥ XGBoost − 0.002, keel's peak RSS < 1 GiB.
 */
import { execFileSync } from "node:child_process";
import { PYTHON, loanCsv, pythonHas } from "./anchor-env.js";
import { fileURLToPath } from "node:url";
import { readTable, selectColumns, takeRows } from "../src/data/index.js";
import { trainGbdt } from "../src/learn/gbdt/train.js";
import { compileEnsemble, scoreEnsemble } from "../src/learn/tree-ensemble.js";
import { rocAuc } from "../src/stats/classification.js";
import { LOAN_FEATURES } from "../src/data/loan-applications.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The anchor script's inputs: every loan feature but the region. */
const FEATURES = LOAN_FEATURES.filter((c) => c !== "region");

export async function run(): Promise<void> {
  const nTrain = Number(process.env.KEEL_BENCH_TRAIN_ROWS ?? 800_000);
  const trees = Number(process.env.KEEL_BENCH_TRAIN_TREES ?? 300);
  const threads = Number(process.env.KEEL_BENCH_THREADS ?? 2);
  const anchor = pythonHas("xgboost");
  const DATA = loanCsv("loans_1m.csv", 1_000_000);
  if (DATA === undefined) {
    console.log(`training: skipped (.bench-data/loans_1m.csv missing and ${PYTHON} cannot generate it)`);
    return;
  }
  const all = await readTable(DATA);
  const nTest = Math.min(200_000, all.nRows - nTrain);
  const label = all.columns.find((c) => c.name === "default");
  if (label?.kind !== "numeric" || nTest <= 0)
    throw new Error("training bench: needs a numeric default column and rows after the training part");
  const x = selectColumns(all, FEATURES);
  const train = takeRows(
    x,
    Int32Array.from({ length: nTrain }, (_, i) => i),
  );
  const test = takeRows(
    x,
    Int32Array.from({ length: nTest }, (_, i) => nTrain + i),
  );
  const y = label.values.slice(0, nTrain);
  const yTest = label.values.slice(nTrain, nTrain + nTest);

  const t0 = performance.now();
  const res = await trainGbdt({
    features: train.columns,
    nRows: nTrain,
    y,
    objective: "binary",
    params: { n_estimators: trees, max_depth: 5, learning_rate: 0.05, subsample: 0.8, threads },
  });
  const keelSeconds = (performance.now() - t0) / 1000;
  const keelPeakMiB = process.resourceUsage().maxRSS / 1024;
  const nf = FEATURES.length;
  const m = new Float64Array(nTest * nf);
  test.columns.forEach((c, j) => {
    for (let r = 0; r < nTest; r++) {
      m[r * nf + j] =
        c.kind === "numeric" ? (c.values[r] as number) : (c.codes[r] as number) < 0 ? NaN : (c.codes[r] as number);
    }
  });
  const keelAuc = rocAuc(yTest, scoreEnsemble(compileEnsemble(res.ensemble), m, nTest));
  console.log(
    `keel gbdt: ${nTrain} rows, ${trees} trees, depth 5, ${threads} thread(s): ${keelSeconds.toFixed(2)} s, validation AUC ${keelAuc.toFixed(4)}`,
  );
  console.log(
    `keel peak RSS (frame + training): ${Math.round(keelPeakMiB)} MiB (target < 1024: ${keelPeakMiB < 1024 ? "met" : "NOT met"})`,
  );
  if (!anchor) {
    console.log("xgboost: not installed (/usr/bin/python3 -c 'import xgboost' failed); no ratio");
    return;
  }
  const out = execFileSync(
    PYTHON,
    [`${ROOT}bench/training_anchor.py`, DATA, String(nTrain), String(trees), String(threads)],
    {
      encoding: "utf8",
    },
  );
  const xgb = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as {
    seconds: number;
    auc: number;
    version: string;
    peak_rss_mib: number;
  };
  const ratio = keelSeconds / xgb.seconds;
  console.log(`xgboost ${xgb.version} hist: ${xgb.seconds.toFixed(2)} s, validation AUC ${xgb.auc.toFixed(4)}`);
  console.log(`XGBoost anchor peak RSS (pandas frame + DMatrix + training): ${Math.round(xgb.peak_rss_mib)} MiB`);
  console.log(
    `ratio keel/xgboost time: ${ratio.toFixed(2)}× (target ≤ 1.0×: ${ratio <= 1.0 ? "met" : "NOT met"}); ` +
      `AUC difference ${(keelAuc - xgb.auc).toFixed(4)} (target ≥ -0.002: ${keelAuc >= xgb.auc - 0.002 ? "met" : "NOT met"})`,
  );
}
