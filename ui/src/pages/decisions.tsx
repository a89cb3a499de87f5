import type { JSX } from "preact";
import { useState } from "preact/hooks";
import type { DecisionJson, DecisionQueryJson, DecisionVerificationJson } from "../../../src/client/index.js";
import { client, errorText } from "../api.js";
import { Link } from "../router.js";
import { Empty, ErrorBox, Loaded, PageTitle, fmtNum, fmtTime, useAsync } from "../ui.js";

const PAGE = 100;

interface Draft {
  endpoint: string;
  model: string;
  model_version: string;
  decision: string;
  reviewed: "" | "true" | "false";
  from: string;
  to: string;
}

const EMPTY: Draft = { endpoint: "", model: "", model_version: "", decision: "", reviewed: "", from: "", to: "" };

/**
 * The search as the server takes it. A `datetime-local` value is the browser's local time; it is
 * sent as an ISO 8601 instant so the server reads the moment the user meant.
 */
function toQuery(d: Draft): DecisionQueryJson {
  const q: DecisionQueryJson = {};
  for (const k of ["endpoint", "model", "model_version", "decision"] as const) {
    if (d[k].trim() !== "") q[k] = d[k].trim();
  }
  if (d.reviewed !== "") q.reviewed = d.reviewed === "true";
  if (d.from !== "") q.from = new Date(d.from).toISOString();
  if (d.to !== "") q.to = new Date(d.to).toISOString();
  return q;
}

/** A decision's review in a few words: not queued, pending, claimed by, or the verdict. */
export function reviewSummary(d: DecisionJson): string {
  const r = d.review;
  if (r === null) return "";
  if (r.status === "decided") return `${r.verdict ?? ""} by ${r.decided_by ?? ""}${r.overridden ? " (overrode)" : ""}`;
  return r.status === "claimed" ? `claimed by ${r.claimed_by ?? ""}` : "pending";
}

function VerifyChain(): JSX.Element {
  const [result, setResult] = useState<DecisionVerificationJson | { error: string }>();
  return (
    <>
      <button
        type="button"
        onClick={() =>
          void client()
            .verifyDecisions()
            .then(setResult, (e: unknown) => setResult({ error: errorText(e) }))
        }
      >
        Verify the chain
      </button>
      {result === undefined ? null : "error" in result ? (
        <ErrorBox error={result.error} />
      ) : result.ok ? (
        <p class="ok" role="status">
          Decision records intact: {result.records} verified
          {result.pruned !== undefined && result.pruned > 0 ? ` (${result.pruned} removed by retention)` : ""}.
        </p>
      ) : (
        <p class="bad" role="alert">
          Decision records broken at record {result.broken_at}
          {result.request_id === null || result.request_id === undefined ? "" : ` (request ${result.request_id})`}:{" "}
          {result.reason}
        </p>
      )}
    </>
  );
}

function DecisionTable(props: { list: readonly DecisionJson[] }): JSX.Element {
  return (
    <div class="scroll-x" tabIndex={0} aria-label="Decision records">
      <table data-testid="decisions">
        <thead>
          <tr>
            <th scope="col" class="num">
              Seq
            </th>
            <th scope="col">Time</th>
            <th scope="col">Request</th>
            <th scope="col">Endpoint</th>
            <th scope="col">Model</th>
            <th scope="col" class="num">
              Score
            </th>
            <th scope="col">Decision</th>
            <th scope="col">Route</th>
            <th scope="col">Review</th>
          </tr>
        </thead>
        <tbody>
          {props.list.map((d) => (
            <tr key={d.seq} data-request-id={d.request_id}>
              <td class="num">{d.seq}</td>
              <td>{fmtTime(d.time)}</td>
              <td>
                <Link href={`/decisions/${encodeURIComponent(d.request_id)}`}>{d.request_id}</Link>
              </td>
              <td>{d.endpoint}</td>
              <td>
                <Link
                  href={`/models/${encodeURIComponent(d.model_name)}?version=${encodeURIComponent(d.model_version)}`}
                >
                  {d.model_name} v{d.model_version}
                </Link>
              </td>
              <td class="num">{fmtNum(d.score)}</td>
              <td>{d.decision ?? ""}</td>
              <td>{d.fallback === null ? d.route : `${d.route} (${d.fallback})`}</td>
              <td>{reviewSummary(d)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function field(draft: Draft, setDraft: (d: Draft) => void, key: keyof Draft, label: string, time = false) {
  const onInput = (e: { currentTarget: HTMLInputElement }) => setDraft({ ...draft, [key]: e.currentTarget.value });
  return (
    <label>
      {label}
      {time ? (
        <input type="datetime-local" value={draft[key]} onInput={onInput} />
      ) : (
        <input value={draft[key]} onInput={onInput} />
      )}
    </label>
  );
}

/** Decision records: search by endpoint, model, version, decision, review and time, paged in chain order. */
export function DecisionsPage(): JSX.Element {
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [query, setQuery] = useState<DecisionQueryJson>({});
  // Page tokens of the pages before this one: "Previous" pops one.
  const [tokens, setTokens] = useState<string[]>([]);
  const token = tokens[tokens.length - 1];
  const [page] = useAsync(
    () =>
      client().searchDecisions({ ...query, max_results: PAGE, ...(token === undefined ? {} : { page_token: token }) }),
    [JSON.stringify(query), token],
  );
  const filtered = Object.keys(query).length > 0;
  return (
    <>
      <PageTitle>Decision records</PageTitle>
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setTokens([]);
          setQuery(toQuery(draft));
        }}
      >
        {field(draft, setDraft, "endpoint", "Endpoint")}
        {field(draft, setDraft, "model", "Model")}
        {field(draft, setDraft, "model_version", "Version")}
        {field(draft, setDraft, "decision", "Decision")}
        <label>
          Review
          <select
            value={draft.reviewed}
            onChange={(e) => setDraft({ ...draft, reviewed: e.currentTarget.value as Draft["reviewed"] })}
          >
            <option value="">Any</option>
            <option value="true">Decided by a reviewer</option>
            <option value="false">Not reviewed (never queued, pending or claimed)</option>
          </select>
        </label>
        {field(draft, setDraft, "from", "From (local time)", true)}
        {field(draft, setDraft, "to", "To (excluded)", true)}
        <button type="submit">Search</button>
        <VerifyChain />
      </form>
      <Loaded a={page}>
        {(p) =>
          p.decisions.length === 0 ? (
            <Empty>
              {filtered ? (
                <>No decision record matches these filters.</>
              ) : (
                <>
                  No decisions recorded yet: every prediction an endpoint serves is recorded (
                  <code>curl -X POST /api/keel/endpoints/NAME/predict</code>, or <code>keel serve</code> and its
                  clients; docs/decisions.md).
                </>
              )}
            </Empty>
          ) : (
            <>
              <DecisionTable list={p.decisions} />
              <div class="toolbar">
                <span class="muted">
                  {p.decisions.length} records, in chain order (oldest first), from seq {p.decisions[0]!.seq}
                </span>
                <button type="button" disabled={tokens.length === 0} onClick={() => setTokens(tokens.slice(0, -1))}>
                  Previous
                </button>
                <button
                  type="button"
                  disabled={p.next_page_token === undefined}
                  onClick={() => p.next_page_token !== undefined && setTokens([...tokens, p.next_page_token])}
                >
                  Next
                </button>
              </div>
            </>
          )
        }
      </Loaded>
    </>
  );
}
