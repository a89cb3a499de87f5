import type { JSX } from "preact";
import { useState } from "preact/hooks";
import type { ObservationJson, ScoreHistogramsJson } from "../../../src/client/index.js";
import { client } from "../api.js";
import { ShareHeatmap } from "../charts/heatmap.js";
import { Loaded, fmtTime, useAsync } from "../ui.js";
import { WindowLengthSelect, lengthLabel, windowLength } from "./monitoring-parts.js";

/** Windows drawn at most: the latest ones of the chosen length. */
const MAX_WINDOWS = 24;

const REFERENCE = "reference (training)";

function shares(counts: readonly number[]): number[] | null {
  const total = counts.reduce((a, b) => a + b, 0);
  return total === 0 ? null : counts.map((c) => c / total);
}

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;

/** The slot holding the most of a distribution, as a sentence part. */
function mode(labels: readonly string[], s: readonly number[] | null): string {
  if (s === null) return "no scored requests";
  let best = 0;
  for (let i = 1; i < s.length; i++) if (s[i]! > s[best]!) best = i;
  return `most in ${labels[best]} (${pct(s[best]!)})`;
}

/** The range the chosen length's windows cover, ending at the latest window: a whole number of windows. */
export function windowRange(obs: readonly ObservationJson[], length: number): { from: number; to: number } | null {
  if (obs.length === 0) return null;
  const to = Math.max(...obs.map((o) => Date.parse(o.window_end)));
  const earliest = Math.min(...obs.map((o) => Date.parse(o.window_start)));
  const count = Math.min(MAX_WINDOWS, Math.max(1, Math.ceil((to - earliest) / length)));
  return { from: to - count * length, to };
}

function ScoreTable(props: { h: ScoreHistogramsJson; columns: readonly string[]; s: (number[] | null)[] }) {
  return (
    <details>
      <summary>Data table: share of each window's scored requests per score bin</summary>
      <div class="scroll-x" tabIndex={0}>
        <table data-testid="score-table">
          <thead>
            <tr>
              <th scope="col">Score</th>
              {props.columns.map((c, x) => (
                <th scope="col" key={c} class="num">
                  {c}
                  {x > 0 && (
                    <span class="muted"> ({props.h.windows[x - 1]!.rows - props.h.windows[x - 1]!.missing})</span>
                  )}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {props.h.labels.map((label, y) => (
              <tr key={label}>
                <th scope="row">{label}</th>
                {props.s.map((col, x) => (
                  <td
                    key={x}
                    class="num"
                    data-count={x === 0 ? props.h.reference[y] : props.h.windows[x - 1]!.current[y]}
                  >
                    {col === null ? "—" : pct(col[y]!)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

function ScoreHeatmap(props: { model: string; from: number; to: number; length: number }): JSX.Element {
  const [data] = useAsync(
    () => client().getScoreHistograms({ model: props.model, from: props.from, to: props.to, window_ms: props.length }),
    [props.model, props.from, props.to, props.length],
  );
  return (
    <Loaded a={data}>
      {(h) => {
        const columns = [REFERENCE, ...h.windows.map((w) => fmtTime(w.window_start).slice(5, 16))];
        const s = [shares(h.reference), ...h.windows.map((w) => shares(w.current))];
        const latest = h.windows[h.windows.length - 1];
        const summary =
          `share of requests per score bin in ${h.windows.length} windows of ${lengthLabel(props.length)} ` +
          `from ${fmtTime(h.windows[0]?.window_start)} to ${fmtTime(latest?.window_end)}, next to version ${h.version}'s training scores; ` +
          `training scores ${mode(h.labels, s[0]!)}, latest window ${mode(h.labels, s[s.length - 1]!)}`;
        const title = `Score distribution of ${h.model} v${h.version} per window`;
        return (
          <figure class="card" data-testid="score-distribution">
            <figcaption>
              <strong>{title}</strong> <span class="muted">{summary}</span>
            </figcaption>
            <ShareHeatmap
              title={title}
              xLabels={columns}
              yLabels={h.labels}
              shares={s}
              summary={summary}
              xName="window start"
              yName="score"
            />
            <ScoreTable h={h} columns={columns} s={s} />
          </figure>
        );
      }}
    </Loaded>
  );
}

/** The champion's score distribution per monitor window (choose the length) next to its training scores. */
export function ScoreDistribution(props: { model: string; prediction: readonly ObservationJson[] }): JSX.Element {
  const lengths = [...new Set(props.prediction.map(windowLength))].sort((a, b) => a - b);
  const [length, setLength] = useState<number | undefined>(undefined);
  const chosen = length ?? lengths[0]!;
  const range = windowRange(
    props.prediction.filter((o) => windowLength(o) === chosen),
    chosen,
  );
  return (
    <>
      <div class="toolbar" data-testid="score-toolbar">
        <WindowLengthSelect lengths={lengths} chosen={chosen} onChange={setLength} />
        <span class="muted">colour: share of the window's scored requests in the score bin</span>
      </div>
      {range !== null && <ScoreHeatmap model={props.model} from={range.from} to={range.to} length={chosen} />}
    </>
  );
}
