/**
 * Whole processes, as a user runs them: `keel --help` / `--version` start-up (beside `node -e 0`,
 * Node's own start-up on the machine), and three commands
 * against the pandas script a user would otherwise write, on the same files in the same run
 * (bench/cli_anchor.py, Debian's python3-pandas, -scipy, -xgboost):
 * - `keel drift --method ks` on 200k × 10 columns vs scipy `ks_2samp` + `chi2_contingency`;
 * - `keel predict` of 1M CSV rows with the loan GBM (XGBoost JSON, 300 trees) vs pandas +
 *   XGBoost `inplace_predict` + `to_csv` (CSV out on both sides: Debian's pandas has no Parquet writer);
 * - `keel validate` of 1M rows with a profiled suite vs pandas applying the same expectations.
 * - `keel drift` of 1M × 100 generated numeric columns (reference vs shifted current), for its peak RSS
 *   (target < 2 GiB).
 * The loan GBM is the scoring benchmark's (trained by bench/scoring_anchor.py when missing).
 * Each figure is the median of 3 runs of the built CLI, alternating with the anchor's runs (`npm run build` first when dist/ is missing).
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

interface Timing {
  seconds: number;
  peakMiB: number;
}

/** Wall-clock seconds and peak RSS (MiB) of one whole process; throws when it fails. */
function timeOnce(cmd: string, args: readonly string[]): Timing {
  const out = spawnSync("/usr/bin/time", ["-f", "%e %M", cmd, ...args], { cwd: ROOT, encoding: "utf8" });
  const last = out.stderr.trim().split("\n").at(-1) ?? "";
  const [seconds, kib] = last.split(" ").map(Number);
  if (out.status !== 0 || seconds === undefined || kib === undefined || Number.isNaN(seconds)) {
    throw new Error(`bench cli: ${cmd} ${args.join(" ")} failed (${out.status}): ${out.stderr.slice(-400)}`);
  }
  return { seconds, peakMiB: kib / 1024 };
}

/** The run of median time. */
function median(runs: Timing[]): Timing {
  return [...runs].sort((a, b) => a.seconds - b.seconds)[runs.length >> 1] as Timing;
}

/**
 * Medians of 3 runs of each process, alternating (a, b, a, b, ...) so that a busy spell on the
 * shared machine falls on both.
 */
function timeProcesses(...procs: (readonly [string, readonly string[]] | undefined)[]): (Timing | undefined)[] {
  const runs: Timing[][] = procs.map(() => []);
  for (let r = 0; r < 3; r++) {
    procs.forEach((p, i) => {
      if (p !== undefined) runs[i]?.push(timeOnce(p[0], p[1]));
    });
  }
  return runs.map((rs) => (rs.length === 0 ? undefined : median(rs)));
}

function timeProcess(cmd: string, args: readonly string[]): Timing {
  return timeProcesses([cmd, args])[0] as Timing;
}

function row(label: string, keel: Timing, anchor?: Timing): void {
  const ratio =
    anchor === undefined
      ? ""
      : `  anchor ${anchor.seconds.toFixed(2)} s → keel/anchor ${(keel.seconds / anchor.seconds).toFixed(2)}×`;
  console.log(`${label.padEnd(44)} keel ${keel.seconds.toFixed(2)} s (peak ${Math.round(keel.peakMiB)} MiB)${ratio}`);
}

/**
 * `.bench-data/NAME`: 1M rows × 100 numeric columns (uniform draws, 3 decimals, column k scaled by
 * k + 1, plus `shift`), written by DuckDB once.
 */
function wideCsv(name: string, shift: number): string {
  const path = BENCH_DATA + name;
  if (existsSync(path)) return path;
  const cols = Array.from({ length: 100 }, (_, k) => `round(random() * ${k + 1} + ${shift * (k + 1)}, 3) AS x${k}`);
  const sql = `SELECT setseed(${shift}); COPY (SELECT ${cols.join(", ")} FROM range(1000000)) TO '${path}' (HEADER)`;
  const script = `import { DuckDBInstance } from "@duckdb/node-api";
const c = await (await DuckDBInstance.create(":memory:")).connect();
for (const s of ${JSON.stringify(sql)}.split("; ")) await c.run(s);`;
  execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, stdio: "inherit" });
  return path;
}

function measure(): void {
  if (!existsSync(`${ROOT}dist/cli/main.js`)) execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
  const anchors = pythonHas("pandas", "scipy", "xgboost");
  const keel = (...args: string[]) => timeProcess(process.execPath, [BIN, ...args]);
  /** keel and (when installed) the anchor script, alternating. */
  const paired = (keelArgs: string[], anchorArgs: string[]): [Timing, Timing | undefined] => {
    const [k, a] = timeProcesses(
      [process.execPath, [BIN, ...keelArgs]],
      anchors ? [PYTHON, [ANCHOR, ...anchorArgs]] : undefined,
    );
    return [k as Timing, a];
  };
  // Node's own start-up in the same alternation: what no command can go below on this machine.
  const [help, version, node] = timeProcesses(
    [process.execPath, [BIN, "--help"]],
    [process.execPath, [BIN, "--version"]],
    [process.execPath, ["-e", "0"]],
  );
  row("keel --help", help as Timing);
  row("keel --version", version as Timing);
  const bare = node as Timing;
  console.log(
    `${"node -e 0 (Node's own start-up)".padEnd(44)} node ${bare.seconds.toFixed(2)} s (peak ${Math.round(bare.peakMiB)} MiB)`,
  );

  const ref = loanCsv("loans_200000.csv", 200_000);
  const cur = loanCsv("loans_200000_drift6.csv", 200_000, ["--drift", "6", "--seed", "11"]);
  if (ref === undefined || cur === undefined) {
    console.log(`cli: commands skipped (no loan data: ${PYTHON} with numpy generates it)`);
    return;
  }
  row(
    "keel drift 200k × 10 (KS, chi²)",
    ...paired(["drift", "--reference", ref, "--current", cur, "--method", "ks"], ["drift", ref, cur]),
  );

  const [wideRef, wideCur] = [wideCsv("wide_1m_x100_ref.csv", 0), wideCsv("wide_1m_x100_cur.csv", 0.05)];
  // One run: the figure wanted is its memory, and each run reads 1.3 GB of CSV.
  const wide = timeOnce(process.execPath, [
    BIN,
    "drift",
    "--reference",
    wideRef,
    "--current",
    wideCur,
    "--method",
    "ks",
  ]);
  row("keel drift 1M × 100 columns (KS)", wide);
  console.log(`  peak RSS ${Math.round(wide.peakMiB)} MiB: ${wide.peakMiB < 2048 ? "under" : "OVER"} the 2 GiB target`);

  const rows = Number(process.env.KEEL_BENCH_CLI_ROWS ?? 1_000_000);
  const loans = loanCsv(rows === 1_000_000 ? "loans_1m.csv" : `loans_${rows}.csv`, rows);
  if (loans === undefined) return;
  const suite = `${BENCH_DATA}cli_suite.json`;
  writeFileSync(suite, execFileSync(process.execPath, [BIN, "validate", "--profile", ref], { encoding: "utf8" }));
  row(
    `keel validate ${rows} rows (profiled suite)`,
    ...paired(["validate", "--suite", suite, "--data", loans], ["validate", suite, loans]),
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
    ...paired(
      ["predict", "--model", MODEL, "--input", design, "--output", `${out}.csv`],
      ["predict", MODEL, design, `${out}_anchor.csv`],
    ),
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
