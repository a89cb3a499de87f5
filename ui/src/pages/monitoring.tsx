import type { JSX } from "preact";
import { useState } from "preact/hooks";
import type { ObservationJson } from "../../../src/client/index.js";
import { client } from "../api.js";
import { LineChart } from "../charts/line.js";
import { Link } from "../router.js";
import { Empty, Loaded, PageTitle, fmtNum, fmtTime, useAsync } from "../ui.js";
import {
  AlertsTable,
  PerformancePanel,
  WindowLengthSelect,
  psiColor,
  seriesBy,
  windowLength,
} from "./monitoring-parts.js";
import { ScoreDistribution } from "./monitoring-scores.js";

const MAX_WINDOWS = 24;

interface Cell {
  readonly feature: string;
  readonly obs: ObservationJson;
}

/** The feature's histogram in the window; the chart's code (echarts) loads with the first one opened. */
function FeatureHistogram(props: { model: string; cell: Cell }): JSX.Element {
  const o = props.cell.obs;
  const [loaded] = useAsync(async () => {
    const [h, chart] = await Promise.all([
      client().getFeatureHistogram({
        model: props.model,
        feature: props.cell.feature,
        from: o.window_start,
        to: o.window_end,
        ...(o.model_version === null ? {} : { version: o.model_version }),
      }),
      import("../charts/histogram.js"),
    ]);
    // Built once per load: the chart redraws when this object changes.
    const hist = { name: h.feature, labels: h.labels, reference: h.reference, current: h.current };
    return { h, hist, HistogramChart: chart.HistogramChart };
  }, [props.model, props.cell.feature, o.window_start, o.window_end]);
  return (
    <Loaded a={loaded}>
      {({ h, hist, HistogramChart }) => (
        <HistogramChart
          title={`${h.feature}: reference (v${h.version} training data) vs ${fmtTime(o.window_start)} – ${fmtTime(o.window_end)} (${h.current_rows} rows), PSI ${fmtNum(o.value)}`}
          hist={hist}
        />
      )}
    </Loaded>
  );
}

/** Features × windows, each cell the window's PSI against the reference; a cell opens the feature's histogram. */
function DriftHeatmap(props: { model: string; psi: readonly ObservationJson[] }): JSX.Element {
  const lengths = [...new Set(props.psi.map(windowLength))].sort((a, b) => a - b);
  const [length, setLength] = useState<number | undefined>(undefined);
  const [cell, setCell] = useState<Cell>();
  const chosen = length ?? lengths[0];
  const obs = props.psi.filter((o) => windowLength(o) === chosen);
  const windows = [...new Set(obs.map((o) => o.window_start))].sort().slice(-MAX_WINDOWS);
  const features = [...new Set(obs.map((o) => o.feature ?? ""))].sort();
  const at = new Map(obs.map((o) => [`${o.feature ?? ""}|${o.window_start}`, o]));
  return (
    <>
      <div class="toolbar">
        <WindowLengthSelect lengths={lengths} chosen={chosen} onChange={setLength} />
        <span class="muted">PSI: green &lt; 0.1 stable · yellow &lt; 0.25 moderate · red major</span>
      </div>
      <div class="scroll-x" tabIndex={0}>
        <table class="heat" data-testid="drift-heatmap">
          <caption>PSI per feature (rows) and window (columns); select a cell for the histogram</caption>
          <thead>
            <tr>
              <th scope="col">Feature</th>
              {windows.map((w) => (
                <th scope="col" key={w} title={w}>
                  {fmtTime(w).slice(5, 16)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {features.map((f) => (
              <tr key={f}>
                <th scope="row">{f}</th>
                {windows.map((w) => {
                  const o = at.get(`${f}|${w}`);
                  if (o === undefined) return <td key={w} />;
                  return (
                    <td key={w} style={{ background: psiColor(o.value) }} data-psi={o.value}>
                      <button
                        type="button"
                        class="link"
                        style={{ color: "#111" }}
                        aria-label={`PSI ${o.value.toFixed(2)}: ${f}, window from ${w}`}
                        onClick={() => setCell({ feature: f, obs: o })}
                      >
                        {o.value.toFixed(2)}
                      </button>
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {cell !== undefined && <FeatureHistogram model={props.model} cell={cell} />}
    </>
  );
}

function QualityTable(props: { quality: readonly ObservationJson[] }): JSX.Element {
  const latest = props.quality.reduce((m, o) => (o.window_start > m ? o.window_start : m), "");
  const rows = props.quality.filter((o) => o.window_start === latest && o.segment === null);
  if (rows.length === 0) return <p class="muted">No data-quality checks yet.</p>;
  return (
    <table>
      <caption>Latest window from {fmtTime(latest)}</caption>
      <thead>
        <tr>
          <th scope="col">Feature</th>
          <th scope="col">Check</th>
          <th scope="col" class="num">
            Value
          </th>
          <th scope="col">Severity</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((o) => (
          <tr key={`${o.feature ?? ""}|${o.metric}|${o.model_version ?? ""}`}>
            <td>{o.feature ?? "—"}</td>
            <td>{o.metric}</td>
            <td class="num">{fmtNum(o.value)}</td>
            <td class={o.severity !== null && o.severity !== "stable" ? "bad" : undefined}>{o.severity ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ModelMonitoring(props: { model: string }): JSX.Element {
  const [data] = useAsync(async () => {
    const q = (kind: ObservationJson["kind"], metric?: string) =>
      client().getObservations({
        model: props.model,
        kind,
        ...(metric === undefined ? {} : { metric }),
        limit: 20_000,
      });
    const [psi, prediction, quality, performance] = await Promise.all([
      q("drift", "psi"),
      q("prediction_drift"),
      q("quality"),
      q("performance"),
    ]);
    return { psi: psi.filter((o) => o.segment === null), prediction, quality, performance };
  }, [props.model]);
  return (
    <Loaded a={data}>
      {(d) => (
        <>
          <h2>Drift</h2>
          {d.psi.length === 0 ? (
            <Empty>
              No drift windows yet: <code>keel server</code> runs monitor windows for every champion (hourly and daily)
              over the requests it serves; run one now with <code>POST /api/keel/monitoring/run</code>.
            </Empty>
          ) : (
            <DriftHeatmap model={props.model} psi={d.psi} />
          )}
          <h2>Score distribution over time</h2>
          {d.prediction.length === 0 ? (
            <p class="muted">No prediction-drift windows yet.</p>
          ) : (
            <>
              <ScoreDistribution model={props.model} prediction={d.prediction} />
              <LineChart
                title="Prediction drift (score PSI, decision shares)"
                series={seriesBy(
                  d.prediction.filter((o) => o.segment === null),
                  (o) => o.metric,
                )}
                time
              />
            </>
          )}
          <h2>Data quality</h2>
          <QualityTable quality={d.quality} />
          <h2>Performance (delayed labels)</h2>
          <PerformancePanel model={props.model} performance={d.performance} />
          <h2>Alerts</h2>
          <AlertsTable model={props.model} />
        </>
      )}
    </Loaded>
  );
}

/** Drift, data quality, score distribution, delayed-label performance and alerts per model. */
export function MonitoringPage(props: { params: Record<string, string> }): JSX.Element {
  const [models] = useAsync(
    async () =>
      (
        (await client().searchRegisteredModels({ max_results: 1000, order_by: ["name ASC"] })).registered_models ?? []
      ).filter((m) => (m.aliases ?? []).some((a) => a.alias === "champion")),
    [],
  );
  const model = props.params.model;
  return (
    <>
      <PageTitle>{model === undefined ? "Monitoring" : `Monitoring ${model}`}</PageTitle>
      <Loaded a={models}>
        {(list) =>
          list.length === 0 ? (
            <Empty>
              Nothing monitored yet: a model is monitored once it has a champion (<code>npx keel quickstart</code> makes
              one).
            </Empty>
          ) : (
            <nav aria-label="Monitored models">
              {list.map((m) => (
                <span class="pill" key={m.name}>
                  <Link
                    href={`/monitoring/${encodeURIComponent(m.name)}`}
                    aria-current={m.name === model ? "page" : undefined}
                  >
                    {m.name}
                  </Link>
                </span>
              ))}
            </nav>
          )
        }
      </Loaded>
      {model !== undefined && <ModelMonitoring model={model} />}
    </>
  );
}
