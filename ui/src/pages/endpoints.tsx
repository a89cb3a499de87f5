import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { client, errorText } from "../api.js";
import { Link } from "../router.js";
import type { Sample } from "../prom.js";
import { buckets, histogramQuantile, parseProm, total } from "../prom.js";
import { Empty, ErrorBox, Loaded, PageTitle, fmtNum, fmtTime, useAsync } from "../ui.js";

const REFRESH_MS = 5000;

interface Figures {
  readonly rate: number | null;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly errorRate: number | null;
  readonly fallbackRate: number | null;
  readonly cacheHitRate: number | null;
  readonly requests: number;
}

/** Figures of one endpoint from two scrapes: the rate over the interval, the rest since the server started. */
function figures(
  now: readonly Sample[],
  before: { samples: readonly Sample[]; at: number } | undefined,
  at: number,
  endpoint: string,
): Figures {
  const where = { endpoint };
  const requests = total(now, "keel_serving_requests_total", where);
  const errors = total(now, "keel_serving_errors_total", where);
  const fallbacks = total(now, "keel_serving_fallbacks_total", where);
  const hits = total(now, "keel_serving_cache_hits_total", where);
  const misses = total(now, "keel_serving_cache_misses_total", where);
  const latency = buckets(now, "keel_serving_request_duration_seconds", where);
  const rate =
    before === undefined || at <= before.at
      ? null
      : (requests - total(before.samples, "keel_serving_requests_total", where)) / ((at - before.at) / 1000);
  const ratio = (a: number, b: number) => (b === 0 ? null : a / b);
  const q = (p: number) => {
    const v = histogramQuantile(latency, p);
    return v === null ? null : v * 1000;
  };
  return {
    rate,
    p50: q(0.5),
    p99: q(0.99),
    errorRate: ratio(errors, requests + errors),
    fallbackRate: ratio(fallbacks, requests),
    cacheHitRate: ratio(hits, hits + misses),
    requests,
  };
}

function useMetrics(): {
  samples: Sample[];
  previous: { samples: Sample[]; at: number } | undefined;
  at: number;
  error?: string;
} {
  const [state, setState] = useState<{
    samples: Sample[];
    previous: { samples: Sample[]; at: number } | undefined;
    at: number;
    error?: string;
  }>({
    samples: [],
    previous: undefined,
    at: 0,
  });
  const last = useRef<{ samples: Sample[]; at: number } | undefined>(undefined);
  useEffect(() => {
    let live = true;
    const scrape = () =>
      client()
        .getMetricsText()
        .then(
          (text) => {
            if (!live) return;
            const at = Date.now();
            const samples = parseProm(text);
            setState({ samples, previous: last.current, at });
            last.current = { samples, at };
          },
          (e: unknown) => live && setState((s) => ({ ...s, error: errorText(e) })),
        );
    void scrape();
    const timer = setInterval(() => void scrape(), REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  return state;
}

const pct = (v: number | null) => (v === null ? "—" : `${(v * 100).toFixed(1)} %`);
const ms = (v: number | null) => (v === null ? "—" : `${v.toFixed(1)} ms`);

function CanaryLine(props: { canary: unknown; schedule: unknown }): JSX.Element {
  const schedule = props.schedule as { steps: number[]; stepMs: number } | undefined;
  const plan =
    schedule === undefined
      ? ""
      : ` (schedule ${schedule.steps.join(" → ")} %, ${Math.round(schedule.stepMs / 60_000)} min a step)`;
  const c = props.canary as {
    status: string;
    step?: number;
    stepStartedAt?: number;
    held?: string;
    reason?: string;
    at?: number;
  };
  if (c.status === "running") {
    return (
      <span>
        canary step {(c.step ?? 0) + 1}
        {schedule === undefined ? "" : ` at ${schedule.steps[c.step ?? 0] ?? 100} %`} since {fmtTime(c.stepStartedAt)}
        {plan}
        {c.held !== undefined ? ` (held: ${c.held})` : ""}
      </span>
    );
  }
  return (
    <span>
      canary {c.status.replace("_", " ")} at {fmtTime(c.at)}
      {c.reason !== undefined ? `: ${c.reason}` : ""}
    </span>
  );
}

/** Serving endpoints: traffic policy, live request rate, latency, error / fallback / cache figures, rollout reports. */
export function EndpointsPage(): JSX.Element {
  const [endpoints] = useAsync(() => client().listEndpoints(), []);
  const metrics = useMetrics();
  return (
    <>
      <PageTitle>Endpoints</PageTitle>
      <p class="muted">
        Figures from this server's /metrics, refreshed every {REFRESH_MS / 1000} s; latency and rates since the server
        started, request rate over the last interval.
      </p>
      {metrics.error !== undefined && <ErrorBox error={metrics.error} />}
      <Loaded a={endpoints}>
        {(list) =>
          list.length === 0 ? (
            <Empty>
              No endpoints: <code>keel server</code> serves every model with a champion alias;{" "}
              <code>npx keel quickstart</code> makes one.
            </Empty>
          ) : (
            <div class="scroll-x" tabIndex={0}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Endpoint</th>
                    <th scope="col">Traffic policy</th>
                    <th scope="col" class="num">
                      Requests/s
                    </th>
                    <th scope="col" class="num">
                      p50
                    </th>
                    <th scope="col" class="num">
                      p99
                    </th>
                    <th scope="col" class="num">
                      Errors
                    </th>
                    <th scope="col" class="num">
                      Fallbacks
                    </th>
                    <th scope="col" class="num">
                      Cache hits
                    </th>
                    <th scope="col">Rollout</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((e) => {
                    const name = String(e.name);
                    const model = String(e.model);
                    const f = figures(metrics.samples, metrics.previous, metrics.at, name);
                    const versions = Object.entries((e.versions ?? {}) as Record<string, string>);
                    return (
                      <tr key={name}>
                        <td>
                          {name} <span class="muted">({e.ready === true ? "ready" : "not ready"})</span>
                        </td>
                        <td>
                          {versions.map(([role, v]) => (
                            <span class="pill" key={role}>
                              {role} v{v}
                              {role === "challenger" && typeof e.challengerPercent === "number"
                                ? ` (${e.challengerPercent} %)`
                                : ""}
                            </span>
                          ))}
                          {e.canary !== undefined && <CanaryLine canary={e.canary} schedule={e.canarySchedule} />}
                        </td>
                        <td class="num">{f.rate === null ? "…" : fmtNum(f.rate, 2)}</td>
                        <td class="num">{ms(f.p50)}</td>
                        <td class="num">{ms(f.p99)}</td>
                        <td class="num">{pct(f.errorRate)}</td>
                        <td class="num">{pct(f.fallbackRate)}</td>
                        <td class="num">{pct(f.cacheHitRate)}</td>
                        <td>
                          <Link href={`/endpoints/${encodeURIComponent(model)}/rollout`}>rollout report</Link>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
    </>
  );
}
