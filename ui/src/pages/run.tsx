import type { JSX } from "preact";
import type { MetricJson, RunJson } from "../../../src/client/index.js";
import { client } from "../api.js";
import { LineChart } from "../charts/line.js";
import { Link } from "../router.js";
import { Empty, KeyValues, Loaded, PageTitle, fmtNum, fmtTime, useAsync } from "../ui.js";
import { ArtifactBrowser } from "./artifacts.js";

/** Every logged value of `key` (history pages followed), oldest step first. */
export async function metricHistory(runId: string, key: string): Promise<MetricJson[]> {
  const out: MetricJson[] = [];
  let token: string | undefined;
  do {
    const page = await client().getMetricHistory(runId, key, {
      max_results: 25_000,
      ...(token === undefined ? {} : { page_token: token }),
    });
    out.push(...(page.metrics ?? []));
    token = page.next_page_token === "" ? undefined : page.next_page_token;
  } while (token !== undefined);
  return out.sort((a, b) => (a.step ?? 0) - (b.step ?? 0) || a.timestamp - b.timestamp);
}

function MetricHistories(props: { run: RunJson }): JSX.Element {
  const runId = props.run.info.run_id;
  const keys = (props.run.data.metrics ?? []).map((m) => m.key).sort();
  const [histories] = useAsync(
    async () =>
      (await Promise.all(keys.map(async (k) => ({ key: k, points: await metricHistory(runId, k) })))).filter(
        (h) => h.points.length > 1,
      ),
    [runId],
  );
  return (
    <Loaded a={histories}>
      {(list) =>
        list.length === 0 ? (
          <p class="muted">Every metric has one value: no history to chart.</p>
        ) : (
          <div class="grid2">
            {list.map((h) => (
              <LineChart
                key={h.key}
                title={h.key}
                xLabel="step"
                series={[{ label: h.key, points: h.points.map((m, i) => [m.step ?? i, Number(m.value)] as const) }]}
              />
            ))}
          </div>
        )
      }
    </Loaded>
  );
}

function Lineage(props: { run: RunJson }): JSX.Element {
  const runId = props.run.info.run_id;
  const [versions] = useAsync(
    async () =>
      (await client().searchModelVersions({ filter: `run_id = '${runId}'`, max_results: 100 })).model_versions ?? [],
    [runId],
  );
  const datasets = props.run.inputs.dataset_inputs ?? [];
  const parent = props.run.data.tags?.find((t) => t.key === "mlflow.parentRunId")?.value;
  return (
    <>
      {parent !== undefined && (
        <p>
          Parent run: <Link href={`/runs/${encodeURIComponent(parent)}`}>{parent}</Link>
        </p>
      )}
      <KeyValues
        caption="Datasets"
        rows={datasets.map((d) => [d.dataset.name, `${d.dataset.source_type} · digest ${d.dataset.digest}`] as const)}
      />
      <Loaded a={versions}>
        {(list) =>
          list.length === 0 ? (
            <p class="muted">No model version was registered from this run.</p>
          ) : (
            <KeyValues
              caption="Model versions registered from this run"
              rows={list.map(
                (v) =>
                  [
                    `${v.name} v${v.version}`,
                    <Link key={v.version} href={`/models/${encodeURIComponent(v.name)}?version=${v.version}`}>
                      {(v.aliases ?? []).join(", ") || v.current_stage}
                    </Link>,
                  ] as const,
              )}
            />
          )
        }
      </Loaded>
    </>
  );
}

/** One run: its params, metrics (with history charts), tags, artifacts and lineage. */
export function RunPage(props: { params: Record<string, string> }): JSX.Element {
  const runId = props.params.id ?? "";
  const [run] = useAsync(() => client().getRun(runId), [runId]);
  return (
    <Loaded a={run}>
      {(r) => {
        const tags = (r.data.tags ?? []).filter((t) => !t.key.startsWith("mlflow.log-model"));
        const root = (r.info.artifact_uri ?? "").replace(/^mlflow-artifacts:\/*/, "");
        return (
          <>
            <PageTitle>{`Run ${r.info.run_name ?? r.info.run_id}`}</PageTitle>
            <p>
              <Link href={`/experiments/${encodeURIComponent(r.info.experiment_id)}`}>← runs of the experiment</Link>
            </p>
            <KeyValues
              caption="Run"
              rows={[
                ["ID", <code key="id">{r.info.run_id}</code>],
                ["Status", r.info.status],
                ["Started", fmtTime(r.info.start_time)],
                ["Ended", fmtTime(r.info.end_time)],
                ["User", r.info.user_id ?? ""],
              ]}
            />
            <div class="grid2">
              <KeyValues
                caption="Metrics"
                rows={(r.data.metrics ?? [])
                  .slice()
                  .sort((a, b) => a.key.localeCompare(b.key))
                  .map(
                    (m) =>
                      [
                        m.key,
                        <span key={m.key} class="num" data-metric={m.key}>
                          {fmtNum(m.value)}
                        </span>,
                      ] as const,
                  )}
              />
              <KeyValues
                caption="Params"
                rows={(r.data.params ?? [])
                  .slice()
                  .sort((a, b) => a.key.localeCompare(b.key))
                  .map((p) => [p.key, p.value] as const)}
              />
            </div>
            <h2>Metric history</h2>
            <MetricHistories run={r} />
            <h2>Tags</h2>
            <KeyValues caption="Tags" rows={tags.map((t) => [t.key, t.value] as const)} />
            <h2>Lineage</h2>
            <Lineage run={r} />
            <h2>Artifacts</h2>
            {root === "" ? <Empty>This run has no artifact location.</Empty> : <ArtifactBrowser root={root} />}
          </>
        );
      }}
    </Loaded>
  );
}
