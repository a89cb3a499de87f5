/**
 * Batch scoring: the loan GBM (XGBoost, 300 trees, depth 5) over 1M rows, keel's tree-ensemble
 * scorer vs XGBoost `inplace_predict` at 1 and 2 threads, on the same float32 matrix. Scores must
 * agree to 1e-6. keel runs its binned-tree evaluator (what `auto` picks for this model) and, for
 * comparison, the complete-tree and generated-code ones; the first call of each is reported too (JIT warm-up). Peak
 * RSS is this process's (it holds the matrix and every scorer) and the anchor's. Data: .bench-data/loans_1m.csv (shared/anchors/gen_loans.py); the model is trained
 * by XGBoost (bench/scoring_anchor.py) on the first 800k rows when missing.
 * Env knob: KEEL_BENCH_SCORING_ROWS (default 1000000).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { PYTHON, loanCsv, pythonHas } from "./anchor-env.js";
import { fileURLToPath } from "node:url";
import { readTable } from "../src/data/index.js";
import type { Frame } from "../src/data/index.js";
import type { EnsemblePredictor } from "../src/learn/ensemble-predictor.js";
import { loadXGBoostPredictor } from "../src/learn/xgboost-model.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MODEL = `${ROOT}.bench-data/xgb_loans_gbm.json`;
const SCORES = `${ROOT}.bench-data/xgb_loans_scores.f64`;

/** The model's float32 input matrix: numeric columns as they are, `col_VALUE` one-hot columns from categoricals. */
function designMatrix(frame: Frame, names: readonly string[], nRows: number): Float32Array {
  const nf = names.length;
  const x = new Float32Array(nRows * nf);
  names.forEach((name, j) => {
    const direct = frame.columns.find((c) => c.name === name);
    if (direct !== undefined && direct.kind === "numeric") {
      for (let i = 0; i < nRows; i++) x[i * nf + j] = direct.values[i] as number;
      return;
    }
    const cat = frame.columns.find((c) => c.kind === "categorical" && name.startsWith(`${c.name}_`));
    if (cat === undefined || cat.kind !== "categorical") throw new Error(`bench: no column for model feature ${name}`);
    const code = cat.dictionary.indexOf(name.slice(cat.name.length + 1));
    for (let i = 0; i < nRows; i++) x[i * nf + j] = cat.codes[i] === code ? 1 : 0;
  });
  return x;
}

async function timeBest(
  p: EnsemblePredictor,
  x: Float32Array,
  n: number,
): Promise<{ rps: number; firstSeconds: number; scores: Float64Array }> {
  const t0 = performance.now();
  await p.scoreMatrix(x, n);
  const firstSeconds = (performance.now() - t0) / 1000;
  let best = Infinity;
  let scores: Float64Array = new Float64Array(0);
  for (let rep = 0; rep < 3; rep++) {
    const t = performance.now();
    scores = await p.scoreMatrix(x, n);
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  return { rps: n / best, firstSeconds, scores };
}

export async function run(): Promise<void> {
  const rows = Number(process.env.KEEL_BENCH_SCORING_ROWS ?? 1_000_000);
  const anchor = pythonHas("xgboost");
  const DATA = loanCsv("loans_1m.csv", 1_000_000);
  if (DATA === undefined) {
    console.log(`scoring: skipped (.bench-data/loans_1m.csv missing and ${PYTHON} cannot generate it)`);
    return;
  }
  let xgb: Record<string, number | string | boolean> | undefined;
  if (anchor) {
    const out = execFileSync(PYTHON, [`${ROOT}bench/scoring_anchor.py`, DATA, MODEL, SCORES, String(rows)], {
      encoding: "utf8",
      maxBuffer: 1 << 20,
    });
    xgb = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as Record<string, number | string | boolean>;
  }
  if (!existsSync(MODEL)) {
    console.log("scoring: skipped (no XGBoost model: needs /usr/bin/python3 with xgboost to train it)");
    return;
  }
  const json = JSON.parse(readFileSync(MODEL, "utf8")) as unknown;
  const frame = await readTable(DATA);
  const n = Math.min(rows, frame.nRows);
  const p1 = loadXGBoostPredictor(json, { threads: 1 });
  const p2 = loadXGBoostPredictor(json, { threads: 2 });
  const c1 = loadXGBoostPredictor(json, { threads: 1, evaluator: "complete-trees" });
  const g1 = loadXGBoostPredictor(json, { threads: 1, evaluator: "generated" });
  const x = designMatrix(
    frame,
    p1.features.map((f) => f.name),
    n,
  );
  console.log(
    `loan GBM: ${p1.evaluator.nTrees} trees, ${p1.features.length} features, ${n} rows (float32 row-major matrix prepared once), evaluator ${"kind" in p1.evaluator ? p1.evaluator.kind : "generated"}`,
  );
  const k1 = await timeBest(p1, x, n);
  const k2 = await timeBest(p2, x, n);
  const kc = await timeBest(c1, x, n);
  const kg = await timeBest(g1, x, n);
  await p1.close();
  await c1.close();
  await p2.close();
  await g1.close();
  const fmt = (v: number): string => `${Math.round(v).toLocaleString("en-US")} rows/s`;
  const first = (k: { firstSeconds: number }): string => `(first call ${k.firstSeconds.toFixed(2)} s)`;
  console.log(`keel    1 thread : ${fmt(k1.rps)} ${first(k1)}`);
  console.log(`keel    2 threads: ${fmt(k2.rps)} ${first(k2)}`);
  console.log(
    `keel complete trees 1 thread: ${fmt(kc.rps)} ${first(kc)} → binned trees ${(k1.rps / kc.rps).toFixed(2)}×`,
  );
  console.log(
    `keel generated code 1 thread: ${fmt(kg.rps)} ${first(kg)} → binned trees ${(k1.rps / kg.rps).toFixed(2)}×`,
  );
  const peakMiB = process.resourceUsage().maxRSS / 1024;
  console.log(`keel peak RSS (matrix + 4 scorers): ${Math.round(peakMiB)} MiB`);
  if (xgb === undefined) {
    console.log("XGBoost anchor not installed (/usr/bin/python3 -c 'import xgboost' failed): keel figures only");
    return;
  }
  const x1 = Number(xgb.rows_per_s_1);
  const x2 = Number(xgb.rows_per_s_2);
  console.log(
    `XGBoost ${String(xgb.xgboost)} inplace_predict 1 thread : ${fmt(x1)}  → keel/XGBoost ${(k1.rps / x1).toFixed(2)}×`,
  );
  console.log(
    `XGBoost ${String(xgb.xgboost)} inplace_predict 2 threads: ${fmt(x2)}  → keel/XGBoost ${(k2.rps / x2).toFixed(2)}×`,
  );
  console.log(`XGBoost anchor peak RSS (pandas frame + matrix): ${Math.round(Number(xgb.peak_rss_mib))} MiB`);
  const ref = new Float64Array(readFileSync(SCORES).buffer.slice(0));
  let maxDiff = 0;
  for (let i = 0; i < n; i++) maxDiff = Math.max(maxDiff, Math.abs((k2.scores[i] ?? NaN) - (ref[i] ?? NaN)));
  let maxDiff1 = 0;
  for (let i = 0; i < n; i++) maxDiff1 = Math.max(maxDiff1, Math.abs((k1.scores[i] ?? NaN) - (ref[i] ?? NaN)));
  let maxDiffG = 0;
  for (let i = 0; i < n; i++) maxDiffG = Math.max(maxDiffG, Math.abs((kg.scores[i] ?? NaN) - (ref[i] ?? NaN)));
  let maxDiffC = 0;
  for (let i = 0; i < n; i++) maxDiffC = Math.max(maxDiffC, Math.abs((kc.scores[i] ?? NaN) - (ref[i] ?? NaN)));
  const worst = Math.max(maxDiff, maxDiff1, maxDiffG, maxDiffC);
  console.log(
    `max |keel − XGBoost| over ${n} scores: ${worst.toExponential(2)} (${worst <= 1e-6 ? "identical to 1e-6" : "DIFFERS beyond 1e-6"})`,
  );
}
