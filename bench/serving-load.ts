import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Latency and throughput of one load run, as wrk reports them. */
export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  /**
   * The server process's CPU time (user + system, every thread) per request answered, in µs, when
   * its pid is known: unlike throughput it barely moves with the load of the rest of the machine.
   */
  readonly cpuUsPerRequest: number | undefined;
  /** Non-2xx responses plus socket errors: must be 0 for a valid run. */
  readonly failures: number;
}

export function hasWrk(): boolean {
  return spawnSync("wrk", ["--version"], { encoding: "utf8" }).error === undefined;
}

function toMs(value: string, unit: string): number {
  const v = Number(value);
  return unit === "us" ? v / 1000 : unit === "ms" ? v : unit === "s" ? v * 1000 : v * 60_000;
}

/**
 * Run wrk (2 threads, `connections` connections, `seconds` long) posting `body` as JSON to `url`.
 * With `delayMs` each connection waits that long after an answer before its next request (wrk's
 * Lua `delay()`, whole milliseconds): a paced load of about connections / (delay + latency) req/s,
 * where latency is the server's and not a queue's.
 */
export async function runWrk(
  url: string,
  body: string,
  opts: { connections: number; seconds: number; dir: string; delayMs?: number; pid?: number | undefined },
): Promise<LoadResult> {
  const script = path.join(opts.dir, `post-${process.pid}.lua`);
  const pace = opts.delayMs === undefined ? "" : `function delay()\n  return ${Math.round(opts.delayMs)}\nend\n`;
  writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${JSON.stringify(body)}\n${pace}`,
  );
  const cpuBefore = cpuSeconds(opts.pid);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn("wrk", ["-t2", `-c${opts.connections}`, `-d${opts.seconds}s`, "--latency", "-s", script, url]);
    let text = "";
    child.stdout.on("data", (d: Buffer) => (text += d.toString()));
    child.stderr.on("data", (d: Buffer) => (text += d.toString()));
    child.on("error", reject);
    child.on("close", () => resolve(text));
  });
  const cpuAfter = cpuSeconds(opts.pid);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const p50 = /\s50%\s+([\d.]+)(us|ms|s|m)\b/.exec(out);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s|m)\b/.exec(out);
  const total = /(\d+) requests in/.exec(out);
  if (!rps || !p50 || !p99 || !total) throw new Error(`could not read wrk's output:\n${out}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const sockErrors = sock ? sock.slice(1).reduce((s, x) => s + Number(x), 0) : 0;
  return {
    requestsPerSecond: Number(rps[1]),
    p50Ms: toMs(p50[1] as string, p50[2] as string),
    p99Ms: toMs(p99[1] as string, p99[2] as string),
    requests: Number(total[1]),
    cpuUsPerRequest:
      cpuBefore === undefined || cpuAfter === undefined ? undefined : ((cpuAfter - cpuBefore) * 1e6) / Number(total[1]),
    failures: (non2xx ? Number(non2xx[1]) : 0) + sockErrors,
  };
}

/** Think time per connection of the paced runs: whole milliseconds, as wrk's `delay()` takes them. */
export const PACED_DELAY_MS = 8;

/**
 * Connections that offer about `rate` req/s at PACED_DELAY_MS of think time, from a run at that
 * pace: each connection sends one request per delay + latency, so the rate scales with them. Kept
 * within what 0 to 2 ms of mean latency needs at 2,000 req/s (16 to 20), so one run slowed by the
 * machine's other load cannot send the next one far past the pace.
 */
export function pacedConnections(rate: number, connections: number, measuredRate: number): number {
  const perConnection = 1000 / PACED_DELAY_MS;
  const least = Math.ceil(rate / perConnection);
  return Math.min(Math.ceil(least * 1.25), Math.max(least, Math.round((connections * rate) / measuredRate)));
}

/** User + system CPU seconds a process has used so far (Linux /proc), or undefined. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th of them.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** USER_HZ: the unit of /proc's CPU times (100 on every Linux build in use). */
const CLOCK_TICKS = 100;
