import type { JSX } from "preact";
import { useState } from "preact/hooks";
import type { ReviewItemJson, ReviewQueryJson } from "../../../src/client/index.js";
import { client } from "../api.js";
import { Link } from "../router.js";
import { Empty, Loaded, PageTitle, fmtNum, fmtTime, useAsync, useCan } from "../ui.js";
import { ReviewActions } from "./review-actions.js";

const LIMIT = 500;

/** `open` is pending and claimed together: what still needs a reviewer. */
type StatusFilter = "open" | ReviewItemJson["status"] | "all";
const STATUS_FILTERS: readonly (readonly [StatusFilter, string])[] = [
  ["open", "Open (pending or claimed)"],
  ["pending", "Pending"],
  ["claimed", "Claimed"],
  ["decided", "Decided"],
  ["all", "All"],
];

/** The queue's items under a status filter, oldest first (`open` asks for pending and claimed). */
async function queueItems(status: StatusFilter, endpoint: string): Promise<ReviewItemJson[]> {
  const base: ReviewQueryJson = { limit: LIMIT, ...(endpoint === "" ? {} : { endpoint }) };
  if (status !== "open") return client().listReviews({ ...base, ...(status === "all" ? {} : { status }) });
  const [pending, claimed] = await Promise.all([
    client().listReviews({ ...base, status: "pending" }),
    client().listReviews({ ...base, status: "claimed" }),
  ]);
  return [...pending, ...claimed].sort((a, b) => a.queued_at.localeCompare(b.queued_at));
}

/** A decision record's page, when the item is a served decision (an LLM answer's is a trace, not a record). */
function recordLink(it: ReviewItemJson): JSX.Element | string {
  if (it.endpoint.startsWith("llm:")) return it.request_id;
  return <Link href={`/decisions/${encodeURIComponent(it.request_id)}`}>{it.request_id}</Link>;
}

function QueueTable(props: { list: readonly ReviewItemJson[]; onDone: () => void }): JSX.Element {
  return (
    <div class="scroll-x" tabIndex={0} aria-label="Review queue">
      <table data-testid="review-queue">
        <caption class="muted">{props.list.length} items, oldest first</caption>
        <thead>
          <tr>
            <th scope="col">Queued</th>
            <th scope="col">Endpoint</th>
            <th scope="col">Decision record</th>
            <th scope="col">Model</th>
            <th scope="col" class="num">
              Score
            </th>
            <th scope="col">Model decision</th>
            <th scope="col">Why queued</th>
            <th scope="col">Status</th>
            <th scope="col">Claim or decide</th>
          </tr>
        </thead>
        <tbody>
          {props.list.map((it) => (
            <tr key={`${it.endpoint}/${it.request_id}`} data-request-id={it.request_id}>
              <td>{fmtTime(it.queued_at)}</td>
              <td>{it.endpoint}</td>
              <td>{recordLink(it)}</td>
              <td>
                {it.model_name} v{it.model_version}
              </td>
              <td class="num">{fmtNum(it.score)}</td>
              <td>
                {it.model_decision}
                <span class="muted"> (answered {it.interim_decision})</span>
              </td>
              <td>{it.reasons.join("; ")}</td>
              <td data-testid="review-status">
                {it.status}
                {it.claimed_by !== null && it.status === "claimed" ? ` by ${it.claimed_by}` : ""}
              </td>
              <td>
                <ReviewActions item={it} onDone={props.onDone} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The human review queue: list by status and endpoint, claim, decide with a reason (docs/review.md). */
export function ReviewPage(): JSX.Element {
  const canReview = useCan("reviewer");
  const [draft, setDraft] = useState<{ status: StatusFilter; endpoint: string }>({ status: "open", endpoint: "" });
  const [query, setQuery] = useState(draft);
  const [items, reload] = useAsync(
    () => (canReview ? queueItems(query.status, query.endpoint) : Promise.resolve([])),
    [canReview, query.status, query.endpoint],
  );
  return (
    <>
      <PageTitle>Review queue</PageTitle>
      {!canReview ? (
        <p class="muted" data-testid="review-role">
          The review queue holds applicants' inputs: listing, claiming and deciding need the reviewer role (
          <code>keel tokens create --name NAME --role reviewer</code>). Every decision record, with its review's status,
          is on the <Link href="/decisions">decisions page</Link>.
        </p>
      ) : (
        <>
          <form
            class="toolbar"
            role="search"
            onSubmit={(e) => {
              e.preventDefault();
              setQuery({ status: draft.status, endpoint: draft.endpoint.trim() });
            }}
          >
            <label>
              Status
              <select
                value={draft.status}
                onChange={(e) => setDraft({ ...draft, status: e.currentTarget.value as StatusFilter })}
              >
                {STATUS_FILTERS.map(([value, label]) => (
                  <option key={value} value={value}>
                    {label}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Endpoint
              <input value={draft.endpoint} onInput={(e) => setDraft({ ...draft, endpoint: e.currentTarget.value })} />
            </label>
            <button type="submit">Show</button>
          </form>
          <Loaded a={items}>
            {(list) =>
              list.length === 0 ? (
                <Empty>
                  No {query.status === "all" ? "" : `${query.status} `}items. An endpoint's review policy queues
                  decisions here: give it a <code>review</code> object (
                  <code>curl -X PUT /api/keel/endpoints/NAME</code> or the serving file; docs/review.md), then{" "}
                  <code>keel review list</code> shows them too.
                </Empty>
              ) : (
                <QueueTable list={list} onDone={reload} />
              )
            }
          </Loaded>
        </>
      )}
    </>
  );
}
