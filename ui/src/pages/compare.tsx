import type { JSX } from "preact";
import type { RunJson } from "../../../src/client/index.js";
import { client } from "../api.js";
import { LineChart } from "../charts/line.js";
import { ParallelPlot } from "../charts/parallel.js";
import type { ParallelAxis } from "../charts/parallel.js";
import { Link } from "../router.js";
import { ErrorBox, Loaded, PageTitle, fmtNum, useAsync } from "../ui.js";
import { metricHistory } from "./run.js";

const runName = (r: RunJson) => r.info.run_name ?? r.info.run_id.slice(0, 8);

function ParamDiff(props: { runs: readonly RunJson[] }): JSX.Element {
  const keys = [...new Set(props.runs.flatMap((r) => (r.data.params ?? []).map((p) => p.key)))].sort();
  const value = (r: RunJson, k: string) => r.data.params?.find((p) => p.key === k)?.value;
  const rows = keys.map((k) => ({ k, values: props.runs.map((r) => value(r, k)) }));
  const differing = rows.filter((row) => new Set(row.values).size > 1);
  return (
    <div class="scroll-x" tabIndex={0}>
      <table>
        <caption>
          Params: {differing.length} of {keys.length} differ (shown first, marked)
        </caption>
        <thead>
          <tr>
            <th scope="col">Param</th>
            {props.runs.map((r) => (
              <th scope="col" key={r.info.run_id}>
                {runName(r)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {[...differing, ...rows.filter((row) => !differing.includes(row))].map((row) => (
            <tr key={row.k} class={differing.includes(row) ? "diff" : undefined}>
              <th scope="row">
                {row.k}
                {differing.includes(row) ? " ≠" : ""}
              </th>
              {row.values.map((v, i) => (
                <td key={i}>{v ?? <span class="muted">—</span>}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function MetricTable(props: { runs: readonly RunJson[]; keys: readonly string[] }): JSX.Element {
  return (
    <div class="scroll-x" tabIndex={0}>
      <table>
        <caption>Metrics (latest values)</caption>
        <thead>
          <tr>
            <th scope="col">Metric</th>
            {props.runs.map((r) => (
              <th scope="col" key={r.info.run_id}>
                {runName(r)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.keys.map((k) => (
            <tr key={k}>
              <th scope="row">{k}</th>
              {props.runs.map((r) => (
                <td class="num" key={r.info.run_id}>
                  {fmtNum(r.data.metrics?.find((m) => m.key === k)?.value)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function parallelOf(runs: readonly RunJson[], metricKeys: readonly string[]) {
  const paramKeys = [...new Set(runs.flatMap((r) => (r.data.params ?? []).map((p) => p.key)))].sort();
  const axes: ParallelAxis[] = [];
  const columns: ((r: RunJson) => number | string | null)[] = [];
  for (const k of paramKeys) {
    const values = runs.map((r) => r.data.params?.find((p) => p.key === k)?.value);
    if (new Set(values).size < 2) continue;
    const numeric = values.every((v) => v !== undefined && v.trim() !== "" && Number.isFinite(Number(v)));
    axes.push(numeric ? { name: k } : { name: k, categories: [...new Set(values.map((v) => v ?? "—"))] });
    columns.push((r) => {
      const v = r.data.params?.find((p) => p.key === k)?.value;
      return numeric ? Number(v) : (v ?? "—");
    });
  }
  for (const k of metricKeys) {
    axes.push({ name: k });
    columns.push((r) => {
      const v = r.data.metrics?.find((m) => m.key === k)?.value;
      return v === undefined ? null : Number(v);
    });
  }
  return { axes, lines: runs.map((r) => ({ name: runName(r), values: columns.map((c) => c(r)) })) };
}

/** Two to ten runs side by side: param diff, metrics overlaid, parallel coordinates. */
export function ComparePage(props: { query: URLSearchParams }): JSX.Element {
  const ids = (props.query.get("runs") ?? "").split(",").filter((s) => s !== "");
  const [data] = useAsync(async () => {
    const runs = await Promise.all(ids.map((id) => client().getRun(id)));
    const keys = [...new Set(runs.flatMap((r) => (r.data.metrics ?? []).map((m) => m.key)))].sort();
    const histories = await Promise.all(
      keys.map(async (k) => ({
        key: k,
        series: await Promise.all(
          runs
            .filter((r) => r.data.metrics?.some((m) => m.key === k))
            .map(async (r) => ({
              label: runName(r),
              points: (await metricHistory(r.info.run_id, k)).map((m, i) => [m.step ?? i, Number(m.value)] as const),
            })),
        ),
      })),
    );
    return { runs, keys, histories };
  }, [ids.join(",")]);
  if (ids.length < 2 || ids.length > 10) {
    return <ErrorBox error={`Compare takes 2 to 10 runs (got ${ids.length}): pick them in a runs table.`} />;
  }
  return (
    <>
      <PageTitle>{`Compare ${ids.length} runs`}</PageTitle>
      <Loaded a={data}>
        {({ runs, keys, histories }) => {
          const parallel = parallelOf(runs, keys);
          const charted = histories.filter((h) => h.series.some((s) => s.points.length > 1));
          return (
            <>
              <p>
                {runs.map((r) => (
                  <span class="pill" key={r.info.run_id}>
                    <Link href={`/runs/${encodeURIComponent(r.info.run_id)}`}>{runName(r)}</Link>
                  </span>
                ))}
              </p>
              <ParamDiff runs={runs} />
              <h2>Metrics</h2>
              <MetricTable runs={runs} keys={keys} />
              {parallel.axes.length > 1 && (
                <ParallelPlot
                  title="Params and metrics (parallel coordinates)"
                  axes={parallel.axes}
                  lines={parallel.lines}
                />
              )}
              {charted.length > 0 && <h2>Metric histories</h2>}
              <div class="grid2">
                {charted.map((h) => (
                  <LineChart key={h.key} title={h.key} xLabel="step" series={h.series} />
                ))}
              </div>
            </>
          );
        }}
      </Loaded>
    </>
  );
}
