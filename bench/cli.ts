/**
 * Whole processes, as a user runs them: `keel --help` / `--version` start-up, and three commands
 * against the pandas script a user would otherwise write, on the same files in the same run
 * (bench/cli_anchor.py, Debian's python3-pandas, -scipy, -xgboost):
 * - `keel drift --method ks` on 200k × 10 columns vs scipy `ks_2samp` + `chi2_contingency`;
 * - `keel predict` of 1M CSV rows with the loan GBM (XGBoost JSON, 300 trees) vs pandas +
 *   XGBoost `inplace_predict` + `to_csv` (CSV out on both sides: Debian's pandas has no Parquet writer);
 * - `keel validate` of 1M rows with a profiled suite vs pandas applying the same expectations.
 * The loan GBM is the scoring benchmark's (trained by bench/scoring_anchor.py when missing).
 * Each figure is the median of 3 runs of the built CLI (`npm run build` first when dist/ is missing).
 * Env knob: KEEL_BENCH_CLI_ROWS (default 1000000) for predict and validate.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BENCH_DATA, PYTHON, loanCsv, pythonHas } from "./anchor-env.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = `${ROOT}bin/keel.js`;
const ANCHOR = `${ROOT}bench/cli_anchor.py`;
const MODEL = `${BENCH_DATA}xgb_loans_gbm.json`;

/** Median wall-clock seconds and peak RSS (MiB) of a whole process over 3 runs; throws when it fails. */
function timeProcess(cmd: string, args: readonly string[]): { seconds: number; peakMiB: number } {
  const runs: { seconds: number; peakMiB: number }[] = [];
  for (let r = 0; r < 3; r++) {
    const out = spawnSync("/usr/bin/time", ["-f", "%e %M", cmd, ...args], { cwd: ROOT, encoding: "utf8" });
    const last = out.stderr.trim().split("\n").at(-1) ?? "";
    const [seconds, kib] = last.split(" ").map(Number);
    if (out.status !== 0 || seconds === undefined || kib === undefined || Number.isNaN(seconds)) {
      throw new Error(`bench cli: ${cmd} ${args.join(" ")} failed (${out.status}): ${out.stderr.slice(-400)}`);
    }
    runs.push({ seconds, peakMiB: kib / 1024 });
  }
  runs.sort((a, b) => a.seconds - b.seconds);
  return runs[1]!;
}

function row(label: string, keel: { seconds: number; peakMiB: number }, anchor?: { seconds: number }): void {
  const ratio =
    anchor === undefined
      ? ""
      : `  anchor ${anchor.seconds.toFixed(2)} s → keel/anchor ${(keel.seconds / anchor.seconds).toFixed(2)}×`;
  console.log(`${label.padEnd(44)} keel ${keel.seconds.toFixed(2)} s (peak ${Math.round(keel.peakMiB)} MiB)${ratio}`);
}

function measure(): void {
  if (!existsSync(`${ROOT}dist/cli/main.js`)) execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
  const keel = (...args: string[]) => timeProcess(process.execPath, [BIN, ...args]);
  row("keel --help", keel("--help"));
  row("keel --version", keel("--version"));

  const anchors = pythonHas("pandas", "scipy", "xgboost");
  const py = (...args: string[]) => (anchors ? timeProcess(PYTHON, [ANCHOR, ...args]) : undefined);
  const ref = loanCsv("loans_200000.csv", 200_000);
  const cur = loanCsv("loans_200000_drift6.csv", 200_000, ["--drift", "6", "--seed", "11"]);
  if (ref === undefined || cur === undefined) {
    console.log(`cli: commands skipped (no loan data: ${PYTHON} with numpy generates it)`);
    return;
  }
  row(
    "keel drift 200k × 10 (KS, chi²)",
    keel("drift", "--reference", ref, "--current", cur, "--method", "ks"),
    py("drift", ref, cur),
  );

  const rows = Number(process.env.KEEL_BENCH_CLI_ROWS ?? 1_000_000);
  const loans = loanCsv(rows === 1_000_000 ? "loans_1m.csv" : `loans_${rows}.csv`, rows);
  if (loans === undefined) return;
  const suite = `${BENCH_DATA}cli_suite.json`;
  writeFileSync(suite, execFileSync(process.execPath, [BIN, "validate", "--profile", ref], { encoding: "utf8" }));
  row(
    `keel validate ${rows} rows (profiled suite)`,
    keel("validate", "--suite", suite, "--data", loans),
    py("validate", suite, loans),
  );

  if (!anchors) {
    console.log("cli: predict skipped (the loan GBM is trained by XGBoost: /usr/bin/python3 with xgboost needed)");
    return;
  }
  if (!existsSync(MODEL)) {
    const full = loanCsv("loans_1m.csv", 1_000_000) ?? loans;
    execFileSync(PYTHON, [`${ROOT}bench/scoring_anchor.py`, full, MODEL, `${BENCH_DATA}xgb_loans_scores.f64`, "1000"], {
      stdio: "ignore",
    });
  }
  const design = `${BENCH_DATA}loans_${rows}_design.csv`;
  if (!existsSync(design)) execFileSync(PYTHON, [ANCHOR, "design", loans, MODEL, design], { stdio: "inherit" });
  const out = `${BENCH_DATA}cli_scores`;
  row(
    `keel predict ${rows} rows CSV → CSV`,
    keel("predict", "--model", MODEL, "--input", design, "--output", `${out}.csv`),
    py("predict", MODEL, design, `${out}_anchor.csv`),
  );
  row(
    `keel predict ${rows} rows CSV → Parquet`,
    keel("predict", "--model", MODEL, "--input", design, "--output", `${out}.parquet`),
  );
}

export function run(): Promise<void> {
  measure();
  return Promise.resolve();
}
