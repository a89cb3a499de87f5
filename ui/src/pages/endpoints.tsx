import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { client, errorText } from "../api.js";
import { LineChart } from "../charts/line.js";
import type { Figures, Scrape } from "../endpoint-figures.js";
import { endpointFigures, figureHistory } from "../endpoint-figures.js";
import { parseProm } from "../prom.js";
import { Link } from "../router.js";
import { Empty, ErrorBox, Loaded, PageTitle, fmtTime, useAsync } from "../ui.js";

const REFRESH_MS = 5000;
/** Scrapes kept for the figures' history: the last five minutes. */
const HISTORY = 61;

/** The server's /metrics, scraped every REFRESH_MS; the latest HISTORY scrapes, oldest first. */
function useMetrics(): { scrapes: Scrape[]; error?: string } {
  const [state, setState] = useState<{ scrapes: Scrape[]; error?: string }>({ scrapes: [] });
  useEffect(() => {
    let live = true;
    const scrape = () =>
      client()
        .getMetricsText()
        .then(
          (text) => {
            if (!live) return;
            const next = { samples: parseProm(text), at: Date.now() };
            setState((s) => ({ scrapes: [...s.scrapes, next].slice(-HISTORY) }));
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

/** Requests/s and p99 over each interval of the scrapes kept, as two small time series. */
function EndpointHistory(props: { endpoint: string; scrapes: readonly Scrape[] }): JSX.Element {
  const history = figureHistory(props.scrapes, props.endpoint);
  const round = (v: number) => Math.round(v * 1000) / 1000;
  const rate = history.map((h) => [h.at / 1000, round(h.figures.rate ?? 0)] as const);
  const p99 = history.flatMap((h) => (h.figures.p99 === null ? [] : [[h.at / 1000, round(h.figures.p99)] as const]));
  return (
    <div class="grid2" data-testid={`history-${props.endpoint}`}>
      <LineChart
        title={`${props.endpoint}: requests/s`}
        series={[{ label: "requests/s", points: rate }]}
        time
        height={160}
      />
      <LineChart
        title={`${props.endpoint}: p99 latency (ms)`}
        series={[{ label: "p99 ms", points: p99 }]}
        time
        height={160}
      />
    </div>
  );
}

function FigureCells(props: { f: Figures | null }): JSX.Element {
  const f = props.f;
  return (
    <>
      <td class="num">{f === null || f.rate === null ? "…" : f.rate.toFixed(2)}</td>
      <td class="num">{ms(f?.p50 ?? null)}</td>
      <td class="num">{ms(f?.p99 ?? null)}</td>
      <td class="num">{pct(f?.errorRate ?? null)}</td>
      <td class="num">{pct(f?.fallbackRate ?? null)}</td>
      <td class="num">{pct(f?.cacheHitRate ?? null)}</td>
    </>
  );
}

const sinceStartText = (f: Figures | null) =>
  f === null ? "…" : `${f.requests} requests · p99 ${ms(f.p99)} · errors ${pct(f.errorRate)}`;

/** Serving endpoints: traffic policy, request rate, latency, error / fallback / cache figures per interval, rollout reports. */
export function EndpointsPage(): JSX.Element {
  const [endpoints] = useAsync(() => client().listEndpoints(), []);
  const metrics = useMetrics();
  const now = metrics.scrapes[metrics.scrapes.length - 1];
  const before = metrics.scrapes[metrics.scrapes.length - 2];
  return (
    <>
      <PageTitle>Endpoints</PageTitle>
      <p class="muted">
        Figures from this server's /metrics, refreshed every {REFRESH_MS / 1000} s: request rate, latency and rates over
        the last interval between refreshes (… until the second refresh, — when the interval had no requests); the last
        column since the server started.
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
            <>
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
                      <th scope="col">Since start</th>
                      <th scope="col">Rollout</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.map((e) => {
                      const name = String(e.name);
                      const model = String(e.model);
                      const interval =
                        now === undefined || before === undefined ? null : endpointFigures(now, before, name);
                      const total = now === undefined ? null : endpointFigures(now, null, name);
                      const versions = Object.entries((e.versions ?? {}) as Record<string, string>);
                      return (
                        <tr key={name} data-endpoint={name}>
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
                          <FigureCells f={interval} />
                          <td class="muted">{sinceStartText(total)}</td>
                          <td>
                            <Link href={`/endpoints/${encodeURIComponent(model)}/rollout`}>rollout report</Link>
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
              {list.map((e) => (
                <EndpointHistory key={String(e.name)} endpoint={String(e.name)} scrapes={metrics.scrapes} />
              ))}
            </>
          )
        }
      </Loaded>
    </>
  );
}
