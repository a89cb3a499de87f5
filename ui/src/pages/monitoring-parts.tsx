import type { JSX } from "preact";
import type { AlertJson, ObservationJson } from "../../../src/client/index.js";
import { client, errorText } from "../api.js";
import type { Series } from "../charts/line.js";
import { LineChart } from "../charts/line.js";
import { ErrorBox, Loaded, fmtNum, fmtTime, useAsync, useCan } from "../ui.js";
import { useState } from "preact/hooks";

/** PSI bands of the drift report: < 0.1 stable, < 0.25 moderate, above major. */
export function psiColor(psi: number): string {
  if (psi < 0.1) return `hsl(140, 55%, ${88 - psi * 200}%)`;
  if (psi < 0.25) return `hsl(45, 90%, ${72 - (psi - 0.1) * 100}%)`;
  return `hsl(0, 75%, ${Math.max(55, 68 - (psi - 0.25) * 40)}%)`;
}

export const windowLength = (o: ObservationJson) => Date.parse(o.window_end) - Date.parse(o.window_start);

export function lengthLabel(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  return `${Math.round(ms / 60_000)} min`;
}

/** Observations as chart series, one per `key` (metric, segment …), x = window start. */
export function seriesBy(obs: readonly ObservationJson[], key: (o: ObservationJson) => string): Series[] {
  const groups = new Map<string, [number, number][]>();
  for (const o of obs) {
    const k = key(o);
    const list = groups.get(k) ?? [];
    list.push([Date.parse(o.window_start) / 1000, o.value]);
    groups.set(k, list);
  }
  return [...groups.entries()].map(([label, points]) => ({ label, points: points.sort((a, b) => a[0] - b[0]) }));
}

/** The window length a monitoring chart shows, chosen among the lengths its observations have. */
export function WindowLengthSelect(props: {
  lengths: readonly number[];
  chosen: number | undefined;
  onChange: (length: number) => void;
}): JSX.Element {
  return (
    <label>
      Window length
      <select value={String(props.chosen)} onChange={(e) => props.onChange(Number(e.currentTarget.value))}>
        {props.lengths.map((l) => (
          <option key={l} value={String(l)}>
            {lengthLabel(l)}
          </option>
        ))}
      </select>
    </label>
  );
}

/** Alert history of the model with acknowledge for writers. */
export function AlertsTable(props: { model: string }): JSX.Element {
  const canAck = useCan("writer");
  const [alerts, reload] = useAsync(() => client().listAlerts({ model: props.model, limit: 200 }), [props.model]);
  const [error, setError] = useState<string>();
  const resolve = (a: AlertJson) =>
    client()
      .resolveAlert(a.id)
      .then(reload, (e: unknown) => setError(errorText(e)));
  const ack = (a: AlertJson) =>
    client()
      .acknowledgeAlert(a.id)
      .then(reload, (e: unknown) => setError(errorText(e)));
  return (
    <Loaded a={alerts}>
      {(list) =>
        list.length === 0 ? (
          <p class="muted">No alerts for this model.</p>
        ) : (
          <div class="scroll-x" tabIndex={0}>
            {error !== undefined && <ErrorBox error={error} />}
            <table>
              <thead>
                <tr>
                  <th scope="col">Fired</th>
                  <th scope="col">Tier</th>
                  <th scope="col">Rule</th>
                  <th scope="col">Status</th>
                  <th scope="col">Summary</th>
                  <th scope="col">Action</th>
                </tr>
              </thead>
              <tbody>
                {list.map((a) => (
                  <tr key={a.id}>
                    <td>{fmtTime(a.fired_at)}</td>
                    <td>{a.tier}</td>
                    <td>{a.rule_id}</td>
                    <td>
                      {a.status}
                      {a.acknowledged_by !== null ? ` by ${a.acknowledged_by}` : ""}
                    </td>
                    <td>{a.summary}</td>
                    <td>
                      {a.status === "open" && canAck && (
                        <button type="button" onClick={() => void ack(a)}>
                          Acknowledge
                        </button>
                      )}{" "}
                      {a.status !== "resolved" && canAck && (
                        <button type="button" onClick={() => void resolve(a)}>
                          Resolve
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      }
    </Loaded>
  );
}

/** Delayed-label performance: the rolling metrics over time by segment, and the latest window's fairness gaps. */
export function PerformancePanel(props: { model: string; performance: readonly ObservationJson[] }): JSX.Element {
  const [report] = useAsync(() => client().getPerformance({ model: props.model, window: "7d" }), [props.model]);
  const metric = (prefix: string) =>
    props.performance.filter((o) => o.metric.startsWith(prefix) && o.model_version === null);
  const auc = seriesBy(metric("auc"), (o) => `${o.metric} ${o.segment ?? "all"}`);
  const fnr = seriesBy(metric("fnr"), (o) => `${o.metric} ${o.segment ?? "all"}`);
  return (
    <>
      <div class="grid2">
        {auc.length > 0 && <LineChart title="Rolling AUC by segment" series={auc} time />}
        {fnr.length > 0 && <LineChart title="Rolling FNR by segment" series={fnr} time />}
      </div>
      <Loaded a={report}>
        {(p) => (
          <div class="scroll-x" tabIndex={0}>
            <table>
              <caption>
                Last 7 days: {p.overall.labelled} of {p.overall.predictions} predictions labelled
                {p.fairness === null
                  ? ""
                  : ` · fairness by ${p.fairness.column}: demographic parity gap ${fmtNum(p.fairness.demographic_parity_gap)}, equal opportunity gap ${fmtNum(p.fairness.equal_opportunity_gap)}`}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Segment</th>
                  <th scope="col" class="num">
                    Labelled
                  </th>
                  <th scope="col" class="num">
                    AUC
                  </th>
                  <th scope="col" class="num">
                    FNR
                  </th>
                  <th scope="col" class="num">
                    Precision
                  </th>
                  <th scope="col" class="num">
                    Decision rate
                  </th>
                </tr>
              </thead>
              <tbody>
                {[p.overall, ...p.segments].map((g) => (
                  <tr key={g.segment ?? "all"}>
                    <td>{g.segment ?? "all"}</td>
                    <td class="num">{g.labelled}</td>
                    <td class="num">{fmtNum(g.auc)}</td>
                    <td class="num">{fmtNum(g.fnr)}</td>
                    <td class="num">{fmtNum(g.precision)}</td>
                    <td class="num">{fmtNum(g.decision_rate)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Loaded>
    </>
  );
}
