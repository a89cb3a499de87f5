import type { JSX } from "preact";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import type { RunJson } from "../../../src/client/index.js";
import { client, errorText } from "../api.js";
import { Link, navigate } from "../router.js";
import { Empty, ErrorBox, Loaded, PageTitle, fmtNum, fmtTime, useAsync } from "../ui.js";
import { useVirtualRows } from "../virtual.js";

const PAGE = 200;
const ROW_HEIGHT = 33;

/** A column of the runs table: `metrics.auc`, `params.max_depth`, `tags.keel.trigger`. */
type Column = `${"metrics" | "params" | "tags"}.${string}`;

interface Order {
  readonly key: string;
  readonly desc: boolean;
}

const DEFAULT_ORDER: Order = { key: "attributes.start_time", desc: true };

function cell(run: RunJson, column: Column): string {
  const dot = column.indexOf(".");
  const entity = column.slice(0, dot);
  const key = column.slice(dot + 1);
  if (entity === "metrics") return fmtNum(run.data.metrics?.find((m) => m.key === key)?.value);
  const list = entity === "params" ? run.data.params : run.data.tags;
  return list?.find((p) => p.key === key)?.value ?? "";
}

/** `metrics.auc` → metrics.`auc`: MLflow's quoting, so keys with dots or spaces order correctly. */
function orderTerm(order: Order): string {
  const dot = order.key.indexOf(".");
  const entity = order.key.slice(0, dot);
  const key = order.key.slice(dot + 1);
  return `${entity}.\`${key}\` ${order.desc ? "DESC" : "ASC"}`;
}

function availableColumns(runs: readonly RunJson[]): Column[] {
  const seen = new Set<Column>();
  for (const r of runs.slice(0, 200)) {
    for (const m of r.data.metrics ?? []) seen.add(`metrics.${m.key}`);
    for (const p of r.data.params ?? []) seen.add(`params.${p.key}`);
    for (const t of r.data.tags ?? []) if (!t.key.startsWith("mlflow.")) seen.add(`tags.${t.key}`);
  }
  return [...seen].sort();
}

function defaultColumns(all: readonly Column[]): Column[] {
  return [
    ...all.filter((c) => c.startsWith("metrics.")).slice(0, 5),
    ...all.filter((c) => c.startsWith("params.")).slice(0, 3),
  ];
}

interface RunRows {
  readonly runs: RunJson[];
  readonly next: string | undefined;
  readonly error?: string;
  readonly loading: boolean;
}

function useRunRows(experimentId: string, filter: string, order: Order): [RunRows, () => void] {
  const [rows, setRows] = useState<RunRows>({ runs: [], next: undefined, loading: true });
  // The search's generation (a new filter or order starts one) and the rows as last set: a scroll
  // handler holding an older render's rows must neither append a page of the previous order nor
  // ask for the same page twice.
  const generation = useRef(0);
  const latest = useRef<RunRows & { generation: number }>({ ...rows, generation: 0 });
  const show = (next: RunRows, mine: number) => {
    latest.current = { ...next, generation: mine };
    setRows(next);
  };
  const fetchPage = (token: string | undefined, into: RunJson[]) => {
    const mine = generation.current;
    show({ runs: into, next: token, loading: true }, mine);
    client()
      .searchRuns({
        experiment_ids: [experimentId],
        max_results: PAGE,
        // Newest first is the search's own order, and its fastest path: no order term for it.
        ...(order.key === DEFAULT_ORDER.key && order.desc ? {} : { order_by: [orderTerm(order)] }),
        ...(filter === "" ? {} : { filter }),
        ...(token === undefined ? {} : { page_token: token }),
      })
      .then(
        (page) => {
          if (mine !== generation.current) return;
          const next = page.next_page_token === "" ? undefined : page.next_page_token;
          show({ runs: [...into, ...(page.runs ?? [])], next, loading: false }, mine);
        },
        (e: unknown) => {
          if (mine === generation.current)
            show({ runs: into, next: undefined, loading: false, error: errorText(e) }, mine);
        },
      );
  };
  useEffect(() => {
    generation.current++;
    fetchPage(undefined, []);
  }, [experimentId, filter, order.key, order.desc]);
  const more = () => {
    const now = latest.current;
    if (now.generation === generation.current && !now.loading && now.next !== undefined) fetchPage(now.next, now.runs);
  };
  return [rows, more];
}

function ColumnPicker(props: {
  all: readonly Column[];
  chosen: readonly Column[];
  onChange: (c: Column[]) => void;
}): JSX.Element {
  return (
    <details class="card">
      <summary>Columns ({props.chosen.length})</summary>
      <fieldset>
        <legend class="muted">Params, metrics and tags shown as columns</legend>
        {props.all.map((c) => (
          <label key={c} style={{ display: "block" }}>
            <input
              type="checkbox"
              checked={props.chosen.includes(c)}
              onChange={(e) =>
                props.onChange(e.currentTarget.checked ? [...props.chosen, c] : props.chosen.filter((x) => x !== c))
              }
            />{" "}
            {c}
          </label>
        ))}
      </fieldset>
    </details>
  );
}

function SortHeader(props: {
  label: string;
  title?: string;
  sortKey: string;
  order: Order;
  onOrder: (o: Order) => void;
}) {
  const active = props.order.key === props.sortKey;
  const sort = active ? (props.order.desc ? "descending" : "ascending") : "none";
  return (
    <th scope="col" aria-sort={sort} title={props.title ?? props.label}>
      <button
        type="button"
        class="link"
        onClick={() => props.onOrder({ key: props.sortKey, desc: active ? !props.order.desc : true })}
      >
        {props.label}
        {active ? (props.order.desc ? " ▼" : " ▲") : ""}
      </button>
    </th>
  );
}

/** The runs of one experiment: MLflow search (filter, order, page tokens) on the server, rows virtualised. */
export function RunsPage(props: { params: Record<string, string>; query: URLSearchParams }): JSX.Element {
  const experimentId = props.params.id ?? "";
  const [experiment] = useAsync(() => client().getExperiment(experimentId), [experimentId]);
  const [draft, setDraft] = useState(props.query.get("filter") ?? "");
  const [filter, setFilter] = useState(draft);
  const [order, setOrder] = useState<Order>(DEFAULT_ORDER);
  const [rows, more] = useRunRows(experimentId, filter, order);
  const all = useMemo(() => availableColumns(rows.runs), [rows.runs.length > 0 ? rows.runs[0] : undefined]);
  const [chosen, setChosen] = useState<Column[] | undefined>();
  const columns = chosen ?? defaultColumns(all);
  const [selected, setSelected] = useState<string[]>([]);
  const scroller = useRef<HTMLDivElement>(null);
  const { items, total, toTop } = useVirtualRows(rows.runs.length, scroller, ROW_HEIGHT);
  // A new search shows its first page from the top. Left to the browser's own scroll event (the
  // table empties, so the scroll position drops to 0), a first page that arrived before that event
  // was drawn at the old position, the end of the previous list, and its last rows asked for page 2
  // at once, unscrolled.
  useLayoutEffect(toTop, [experimentId, filter, order.key, order.desc]);
  const last = items[items.length - 1];
  useEffect(() => {
    if (last !== undefined && last.index >= rows.runs.length - 40) more();
  }, [last?.index, rows.runs.length, rows.next]);
  const top = items[0]?.start ?? 0;
  const bottom = total - (last?.end ?? 0);
  const colSpan = columns.length + 5;
  const toggle = (id: string, on: boolean) =>
    setSelected((s) => (on ? [...s.filter((x) => x !== id), id] : s.filter((x) => x !== id)));
  return (
    <>
      <Loaded a={experiment}>{(e) => <PageTitle>{`Runs of ${e.name}`}</PageTitle>}</Loaded>
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter(draft.trim());
        }}
      >
        <label class="grow">
          Filter (MLflow search syntax)
          <input
            type="search"
            name="filter"
            value={draft}
            placeholder="metrics.auc > 0.8 and params.max_depth = '4'"
            onInput={(e) => setDraft(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Search</button>
        <button
          type="button"
          class="primary"
          disabled={selected.length < 2 || selected.length > 10}
          onClick={() => navigate(`/compare?runs=${selected.map(encodeURIComponent).join(",")}`)}
        >
          Compare {selected.length} runs
        </button>
      </form>
      <ColumnPicker all={all} chosen={columns} onChange={setChosen} />
      {rows.error !== undefined && <ErrorBox error={rows.error} />}
      {!rows.loading && rows.error === undefined && rows.runs.length === 0 ? (
        <Empty>
          {filter === "" ? (
            <>
              No runs yet: <code>keel train --data loans.csv --target default --experiment NAME</code> logs one here.
            </>
          ) : (
            <>No run matches {filter}.</>
          )}
        </Empty>
      ) : (
        <div class="vtable" ref={scroller} tabIndex={0} aria-label="Runs">
          <table
            aria-rowcount={rows.runs.length + 1}
            style={{ minWidth: `${52 + 176 + 168 + 100 + 140 + columns.length * 130}px` }}
          >
            <colgroup>
              <col style={{ width: "52px" }} />
              <col style={{ width: "176px" }} />
              <col style={{ width: "168px" }} />
              <col style={{ width: "100px" }} />
              <col style={{ width: "140px" }} />
              {columns.map((c) => (
                <col key={c} style={{ width: "130px" }} />
              ))}
            </colgroup>
            <thead>
              <tr>
                <th scope="col">
                  <span class="visually-hidden">Select</span>
                </th>
                <SortHeader label="Run" sortKey="attributes.run_name" order={order} onOrder={setOrder} />
                <SortHeader label="Started" sortKey="attributes.start_time" order={order} onOrder={setOrder} />
                <th scope="col">Status</th>
                <th scope="col">User</th>
                {columns.map((c) => (
                  <SortHeader
                    key={c}
                    label={c.slice(c.indexOf(".") + 1)}
                    title={c}
                    sortKey={c}
                    order={order}
                    onOrder={setOrder}
                  />
                ))}
              </tr>
            </thead>
            <tbody>
              {top > 0 && (
                <tr style={{ height: `${top}px` }} aria-hidden="true">
                  <td colSpan={colSpan} />
                </tr>
              )}
              {items.map((item) => {
                const r = rows.runs[item.index]!;
                const name = r.info.run_name ?? r.info.run_id;
                return (
                  <tr key={r.info.run_id} aria-rowindex={item.index + 2}>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`select run ${name}`}
                        checked={selected.includes(r.info.run_id)}
                        onChange={(e) => toggle(r.info.run_id, e.currentTarget.checked)}
                      />
                    </td>
                    <td>
                      <Link href={`/runs/${encodeURIComponent(r.info.run_id)}`}>{name}</Link>
                    </td>
                    <td>{fmtTime(r.info.start_time)}</td>
                    <td>{r.info.status}</td>
                    <td>{r.info.user_id ?? ""}</td>
                    {columns.map((c) => (
                      <td key={c} class={c.startsWith("metrics.") ? "num" : undefined}>
                        {cell(r, c)}
                      </td>
                    ))}
                  </tr>
                );
              })}
              {bottom > 0 && (
                <tr style={{ height: `${bottom}px` }} aria-hidden="true">
                  <td colSpan={colSpan} />
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
      <p class="muted" aria-live="polite">
        {rows.runs.length} runs loaded{rows.next !== undefined ? ", more as you scroll" : ""}
        {rows.loading ? " · loading…" : ""}
      </p>
    </>
  );
}
