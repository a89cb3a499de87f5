import { execFileSync } from "node:child_process";
import { PYTHON, loanCsv, pythonHas } from "./anchor-env.js";
import { fileURLToPath } from "node:url";
import { readTable } from "../src/data/index.js";
import type { CategoricalColumn, Column, Frame } from "../src/data/index.js";
import { buildReferenceProfile, computeDrift, profileToJson, renderDriftHtml } from "../src/monitoring/index.js";
import { LOAN_FEATURES } from "../src/data/loan-applications.js";

/**
 * Drift report benchmarks.
 * 1. 1M vs 1M loan rows (gen_loans.py, the reference and its six-month drifted population),
 *    10 columns: KS + PSI on the 7 numeric, χ² on the 3 categorical — keel's `computeDrift`
 *    with `method: "ks"` against scipy `ks_2samp` + numpy PSI + `chi2_contingency` in the same run.
 * 2. Wide data: 100,000 rows × 100 columns (80 numeric, 20 categorical), the whole automatic report
 *    plus its HTML.
 * KEEL_BENCH_DRIFT_ROWS / KEEL_BENCH_DRIFT_WIDE_ROWS shrink the sizes for a quick run.
 */
const ANCHOR = fileURLToPath(new URL("./drift-anchor.py", import.meta.url));
// gen_loans.py writes the same columns as keel's generator: seven numeric inputs, then three categorical ones.
const NUM: readonly string[] = LOAN_FEATURES.slice(0, 7);
const CAT: readonly string[] = LOAN_FEATURES.slice(7);

function dataFile(rows: number, drift: boolean): string {
  const name =
    rows === 1_000_000
      ? drift
        ? "loans_1m_drift6.csv"
        : "loans_1m.csv"
      : `loans_${rows}${drift ? "_drift6" : ""}.csv`;
  const path = loanCsv(name, rows, drift ? ["--drift", "6", "--seed", "11"] : []);
  if (path === undefined) throw new Error(`.bench-data/${name} is missing and ${PYTHON} (numpy) cannot generate it`);
  return path;
}

function seconds(t0: number): number {
  return (performance.now() - t0) / 1000;
}

async function loans(rows: number, scipy: boolean): Promise<void> {
  const refPath = dataFile(rows, false);
  const curPath = dataFile(rows, true);
  const [ref, cur] = await Promise.all([readTable(refPath), readTable(curPath)]);
  const columns = [...NUM, ...CAT];
  // Median of 3 runs after one warm-up (JIT; nothing is cached between runs), as the anchor does.
  computeDrift(ref, cur, { method: "ks", columns });
  const times: number[] = [];
  let report = computeDrift(ref, cur, { method: "ks", columns });
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    report = computeDrift(ref, cur, { method: "ks", columns });
    times.push(seconds(t0));
  }
  const keel = times.sort((a, b) => a - b)[1]!;
  console.log(
    `drift ${rows} vs ${rows} rows, 10 columns (7 KS + PSI, 3 chi2): keel ${keel.toFixed(3)} s (median of 3)`,
  );
  const picked: Frame = { nRows: ref.nRows, columns: ref.columns.filter((c) => columns.includes(c.name)) };
  const t1 = performance.now();
  const profile = buildReferenceProfile(picked);
  const build = seconds(t1);
  const jsonBytes = JSON.stringify(profileToJson(profile)).length;
  const t2 = performance.now();
  computeDrift(profile, cur, { method: "ks", columns });
  console.log(
    `reference profile: built in ${build.toFixed(3)} s, ${(jsonBytes / 1024).toFixed(0)} KiB JSON; drift of the current rows against it: ${seconds(t2).toFixed(3)} s`,
  );
  if (!scipy) {
    console.log("scipy anchor: /usr/bin/python3 with scipy + pandas not installed, skipped");
    return;
  }
  const out = execFileSync(PYTHON, [ANCHOR, refPath, curPath], { encoding: "utf8", maxBuffer: 1 << 20 });
  const anchor = JSON.parse(out) as {
    seconds: number;
    detail: Record<string, { statistic: number; p_value: number; psi?: number }>;
  };
  let maxStat = 0;
  let maxP = 0;
  let maxPsi = 0;
  for (const c of report.columns) {
    const a = anchor.detail[c.name];
    if (!a) continue;
    maxStat = Math.max(maxStat, Math.abs(c.statistic - a.statistic) / Math.max(1e-300, Math.abs(a.statistic)));
    if (c.p_value !== null && a.p_value > 0) maxP = Math.max(maxP, Math.abs(c.p_value - a.p_value) / a.p_value);
    else if (c.p_value !== null) maxP = Math.max(maxP, Math.abs(c.p_value - a.p_value));
    if (a.psi !== undefined && c.psi !== null) maxPsi = Math.max(maxPsi, Math.abs(c.psi - a.psi));
  }
  console.log(`scipy ks_2samp + numpy PSI + chi2_contingency (median of 3): ${anchor.seconds.toFixed(3)} s`);
  console.log(`ratio keel / scipy: ${(keel / anchor.seconds).toFixed(3)} (target <= 0.5)`);
  console.log(
    `same numbers: max relative difference statistic ${maxStat.toExponential(2)}, p-value ${maxP.toExponential(2)}; max |PSI difference| ${maxPsi.toExponential(2)}`,
  );
}

/** Seeded wide frame: numeric columns of assorted shapes, categoricals of 3–40 levels; `shift` drifts a quarter of them. */
function wideFrame(rows: number, seed: number, shift: number): Frame {
  let s = seed >>> 0;
  const u = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const columns: Column[] = [];
  for (let c = 0; c < 80; c++) {
    const values = new Float64Array(rows);
    const drift = c % 4 === 0 ? shift : 0;
    for (let i = 0; i < rows; i++) {
      const z = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
      const v = c % 3 === 0 ? Math.round(50 + 10 * (z + drift)) : c % 3 === 1 ? Math.exp(z * 0.5 + drift) : z + drift;
      values[i] = u() < 0.01 ? Number.NaN : v;
    }
    columns.push({ kind: "numeric", name: `num_${c}`, values });
  }
  for (let c = 0; c < 20; c++) {
    const levels = 3 + ((c * 7) % 38);
    const dictionary = Array.from({ length: levels }, (_, k) => `level_${k}`);
    const codes = new Int32Array(rows);
    const skew = c % 4 === 0 ? 1 + shift : 1;
    for (let i = 0; i < rows; i++) codes[i] = Math.min(levels - 1, Math.floor(levels * Math.pow(u(), skew)));
    columns.push({ kind: "categorical", name: `cat_${c}`, codes, dictionary } satisfies CategoricalColumn);
  }
  return { nRows: rows, columns };
}

/** CPU seconds of this process: on a shared machine a steadier figure than the wall clock. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function wide(rows: number): Promise<void> {
  const ref = wideFrame(rows, 1, 0);
  const cur = wideFrame(rows, 2, 0.3);
  const t0 = performance.now();
  const c0 = cpuSeconds();
  const report = computeDrift(ref, cur);
  const c1 = cpuSeconds();
  const html = await renderDriftHtml(report);
  const t = seconds(t0);
  const c2 = cpuSeconds();
  console.log(
    `drift ${rows} rows x 100 columns (auto methods + HTML, ${report.drifted_columns} drifted, ${(html.length / 1e6).toFixed(1)} MB HTML): keel ${t.toFixed(3)} s; CPU ${(c2 - c0).toFixed(3)} s, of which HTML ${(c2 - c1).toFixed(3)} s (target < 5 s; Evidently users report 23 min)`,
  );
}

export async function run(): Promise<void> {
  const rows = Number(process.env.KEEL_BENCH_DRIFT_ROWS ?? 1_000_000);
  const wideRows = Number(process.env.KEEL_BENCH_DRIFT_WIDE_ROWS ?? 100_000);
  await loans(rows, pythonHas("scipy", "pandas"));
  await wide(wideRows);
}
