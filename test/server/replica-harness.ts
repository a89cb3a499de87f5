import type { ChildProcess } from "node:child_process";
import { keelServer } from "../cli/helpers.js";
import { fixture } from "../serving/fixtures.js";

export const xgb = fixture("xgb_binary.json");

/** One `keel server` process of a deployment. */
export interface Replica {
  readonly child: ChildProcess;
  readonly url: string;
  output(): string;
}

/** Starts `keel server` processes on free ports, all at once. */
export async function startReplicas(
  n: number,
  args: readonly string[],
  env: Record<string, string>,
): Promise<Replica[]> {
  return Promise.all(Array.from({ length: n }, () => keelServer(["--port", "0", ...args], env)));
}

/** SIGTERM, then wait for the exit; a process already gone is left alone. */
export async function stopReplica(r: Replica): Promise<void> {
  if (r.child.exitCode !== null || r.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => r.child.once("exit", () => resolve()));
  r.child.kill("SIGTERM");
  await exited;
}

/** Polls `check` every 20 ms until it holds or `ms` pass; returns whether it held and how long it took. */
export async function pollUntil(
  check: () => Promise<boolean> | boolean,
  ms: number,
): Promise<{ ok: boolean; elapsedMs: number }> {
  const start = performance.now();
  for (;;) {
    if (await check()) return { ok: true, elapsedMs: performance.now() - start };
    if (performance.now() - start > ms) return { ok: false, elapsedMs: performance.now() - start };
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An OIP V2 request body for row `i` of the fixture. */
export function oipBody(i: number): string {
  return JSON.stringify({
    inputs: Object.entries(xgb.columns).map(([name, v]) => ({
      name,
      shape: [1],
      datatype: "FP32",
      data: [v[i] ?? null],
    })),
  });
}

export interface Scored {
  readonly status: number;
  readonly version?: string;
  readonly score?: number;
}

/** Scores row `i` on `base` (a replica or the load balancer) for `model`. */
export async function infer(base: string, model: string, i: number): Promise<Scored> {
  const res = await fetch(`${base}/v2/models/${model}/infer`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: oipBody(i),
  });
  if (res.status !== 200) {
    await res.arrayBuffer();
    return { status: res.status };
  }
  const body = (await res.json()) as { model_version: string; outputs: { data: number[] }[] };
  return { status: 200, version: body.model_version, score: body.outputs[0]?.data[0] as number };
}

/** A JSON call to keel's REST API on `base`. */
export async function call<T = Record<string, unknown>>(
  base: string,
  method: string,
  endpoint: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await fetch(`${base}${endpoint}`, {
    method,
    ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: (text === "" ? {} : JSON.parse(text)) as T };
}
