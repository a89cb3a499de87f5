import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { LoanData } from "./serving-data.js";
import { runWrk, type LoadResult } from "./serving-load.js";

/**
 * The serving anchor of /work/shared/anchors (FastAPI + pydantic + sklearn GradientBoostingClassifier,
 * 300 trees of depth 5, one uvicorn worker), trained here on the benchmark's own loan data.
 */
const PYTHON = "/usr/bin/python3";
const ANCHOR_DIR = "/work/shared/anchors";

export function anchorInstalled(): boolean {
  if (!existsSync(path.join(ANCHOR_DIR, "fastapi_serve.py"))) return false;
  const r = spawnSync(PYTHON, ["-c", "import fastapi, uvicorn, sklearn, pandas"], { encoding: "utf8" });
  return r.status === 0;
}

const TRAIN = `
import sys, pickle, pandas as pd
from sklearn.ensemble import GradientBoostingClassifier
d = sys.argv[1]
df = pd.read_csv(f"{d}/loans_train.csv")
NUM = ["credit_score", "annual_income", "debt_to_income_ratio", "loan_amount", "num_delinquencies_12m", "employment_years", "loan_term"]
X = df[NUM].copy()
for c in ["home_ownership", "purpose"]:
    X = X.join(pd.get_dummies(df[c], prefix=c, dtype=float))
m = GradientBoostingClassifier(n_estimators=300, max_depth=5, learning_rate=0.05, subsample=0.8, random_state=0).fit(X.fillna(-1), df["default"].values)
pickle.dump((m, list(X.columns)), open(f"{d}/gbc.pkl", "wb"))
`;

/** Train the anchor's model on `rows` rows (cached in `dir/gbc.pkl`). */
export function prepareAnchor(dir: string, data: LoanData, rows: number): void {
  if (existsSync(path.join(dir, "gbc.pkl"))) return;
  const header =
    "credit_score,annual_income,debt_to_income_ratio,loan_amount,num_delinquencies_12m,employment_years,loan_term,home_ownership,purpose,default";
  const lines = [header];
  for (let i = 0; i < rows; i++) {
    const r = data.record(i);
    lines.push(
      [
        r.credit_score,
        r.annual_income,
        r.debt_to_income_ratio,
        r.loan_amount,
        r.num_delinquencies_12m,
        r.employment_years ?? "",
        r.loan_term,
        r.home_ownership,
        r.purpose,
        data.label[i],
      ].join(","),
    );
  }
  writeFileSync(path.join(dir, "loans_train.csv"), lines.join("\n") + "\n");
  const r = spawnSync(PYTHON, ["-c", TRAIN, dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`anchor training failed: ${r.stderr}`);
}

async function waitForHttp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`anchor server exited with code ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`anchor server did not answer ${url} within ${timeoutMs} ms`);
}

/** Start uvicorn on `port`, run wrk against /predict with `body`, stop it. */
export async function runAnchor(
  dir: string,
  port: number,
  body: string,
  load: { connections: number; seconds: number },
): Promise<LoadResult> {
  const child = spawn(
    PYTHON,
    [
      "-m",
      "uvicorn",
      "--app-dir",
      ANCHOR_DIR,
      "fastapi_serve:app",
      "--port",
      String(port),
      "--workers",
      "1",
      "--log-level",
      "warning",
    ],
    { cwd: dir, stdio: "ignore" },
  );
  try {
    await waitForHttp(`http://127.0.0.1:${port}/health`, child, 30_000);
    return await runWrk(`http://127.0.0.1:${port}/predict`, body, { ...load, dir });
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}
