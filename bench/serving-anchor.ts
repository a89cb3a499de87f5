import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import type { LoanData } from "./serving-data.js";

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

async function waitForHttp(url: string, child: ChildProcess, timeoutMs: number, method = "GET"): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`anchor server exited with code ${child.exitCode}`);
    try {
      const res = await fetch(url, method === "GET" ? {} : { method, body: "{}" });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`anchor server did not answer ${url} within ${timeoutMs} ms`);
}

/** A free TCP port on 127.0.0.1 (for servers that cannot report the one they picked). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A load target running in its own process. */
export interface ServerProcess {
  readonly url: string;
  /** The server's process id (its CPU time is read from /proc). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

/** Start the anchor (uvicorn, one worker) in `dir`, where `prepareAnchor` left its model. */
export async function startAnchor(dir: string): Promise<ServerProcess> {
  const port = await freePort();
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
  } catch (e) {
    await stopChild(child);
    throw e;
  }
  return { url: `http://127.0.0.1:${port}/predict`, pid: child.pid, stop: () => stopChild(child) };
}

// The framework floor: Node's own HTTP server that parses the JSON body and answers a constant
// JSON document shaped like keel's answer. Two ways: at once, in the request's "end" handler, or
// deferred to setImmediate, after every request the poll phase read, as a server that batches
// answers them. On some machines the deferred one takes half the CPU per request (the socket
// writes and wake-ups come in bursts), so the floor is whichever of the two serves faster.
const FLOOR_SOURCE = `
const http = require("node:http");
const deferred = process.argv[2] === "deferred";
const answer = JSON.stringify({ request_id: "00000000-0000-4000-8000-000000000000", predictions: [{ score: 0.1234567890123, decision: "approve", model_version: "1", route: "champion" }] });
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    JSON.parse(Buffer.concat(chunks).toString("utf8"));
    const send = () => {
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(answer) });
      res.end(answer);
    };
    if (deferred) setImmediate(send);
    else send();
  });
});
server.listen(Number(process.argv[1]), "127.0.0.1");
`;

/**
 * Start a floor server (a minimal Node HTTP server returning a constant) in its own process;
 * `deferred`: it answers in setImmediate rather than at once.
 */
export async function startFloor(deferred = false): Promise<ServerProcess> {
  const port = await freePort();
  const args = ["-e", FLOOR_SOURCE, String(port), ...(deferred ? ["deferred"] : [])];
  const child = spawn(process.execPath, args, { stdio: "ignore" });
  try {
    await waitForHttp(`http://127.0.0.1:${port}/`, child, 10_000, "POST");
  } catch (e) {
    await stopChild(child);
    throw e;
  }
  return { url: `http://127.0.0.1:${port}/`, pid: child.pid, stop: () => stopChild(child) };
}

/** keel's server in its own process (bench/serving-server.ts); `stop` resolves to its peak RSS in bytes. */
export interface ServingProcess {
  readonly url: string;
  readonly pid: number | undefined;
  stop(): Promise<number | undefined>;
}

/**
 * Start bench/serving-server.ts (of this checkout, or of another one of keel: `checkout`) on the
 * store in `runDir`. KEEL_BENCH_SERVING_PROFILE=DIR runs it under `node --cpu-prof` with the
 * profile written to DIR when it stops.
 */
export async function startServingProcess(
  runDir: string,
  shadowVersion: string,
  checkout?: string,
): Promise<ServingProcess> {
  const profile = process.env.KEEL_BENCH_SERVING_PROFILE;
  const here = path.dirname(new URL(import.meta.url).pathname);
  const script = path.join(checkout === undefined ? here : path.join(checkout, "bench"), "serving-server.ts");
  const child = spawn(
    process.execPath,
    ["--import", "tsx", ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : []), script, runDir, shadowVersion],
    { stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  const messages: unknown[] = [];
  const waiting: ((m: unknown) => void)[] = [];
  child.on("message", (m) => {
    const w = waiting.shift();
    if (w) w(m);
    else messages.push(m);
  });
  const next = (): Promise<unknown> =>
    messages.length > 0
      ? Promise.resolve(messages.shift())
      : new Promise((resolve, reject) => {
          waiting.push(resolve);
          child.once("exit", (code) => reject(new Error(`keel server exited with code ${code}`)));
        });
  const { url } = (await next()) as { url: string };
  return {
    url,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null) return undefined;
      const exited = new Promise((r) => child.once("exit", r));
      child.send("stop");
      const { peakRssBytes } = (await next()) as { peakRssBytes: number };
      await exited;
      return peakRssBytes;
    },
  };
}
