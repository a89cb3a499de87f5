/** What the benchmarks share: the Python anchors' interpreter and the generated loan data. */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Debian's interpreter, which has scikit-learn, XGBoost, scipy and pandas when installed. */
export const PYTHON = "/usr/bin/python3";
export const BENCH_DATA = fileURLToPath(new URL("../.bench-data/", import.meta.url));
const GEN_LOANS = fileURLToPath(new URL("./gen_loans.py", import.meta.url));

/** Whether `/usr/bin/python3` can import every module named. */
export function pythonHas(...modules: string[]): boolean {
  try {
    execFileSync(PYTHON, ["-c", `import ${modules.join(", ")}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Path of `.bench-data/NAME`, generated with bench/gen_loans.py (numpy) when missing;
 * undefined when it is missing and cannot be generated here.
 */
export function loanCsv(name: string, rows: number, args: readonly string[] = []): string | undefined {
  const path = BENCH_DATA + name;
  if (existsSync(path)) return path;
  if (!pythonHas("numpy")) return undefined;
  mkdirSync(BENCH_DATA, { recursive: true });
  execFileSync(PYTHON, [GEN_LOANS, String(rows), path, ...args], { stdio: "inherit" });
  return path;
}
