import type { JSX } from "preact";
import { useState } from "preact/hooks";
import type { ReviewItemJson } from "../../../src/client/index.js";
import { client, errorText } from "../api.js";
import { Empty, ErrorBox, Loaded, PageTitle, fmtNum, fmtTime, useAsync, useCan } from "../ui.js";

function ReviewActions(props: { item: ReviewItemJson; onDone: () => void }): JSX.Element {
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string>();
  const it = props.item;
  const run = (p: Promise<unknown>) => p.then(props.onDone, (e: unknown) => setError(errorText(e)));
  if (it.status === "decided") return <span>{`${it.verdict ?? ""} by ${it.decided_by ?? ""}`}</span>;
  return (
    <div>
      {it.status === "pending" && (
        <button type="button" onClick={() => void run(client().claimReview(it.endpoint, it.request_id))}>
          Claim
        </button>
      )}
      {it.status === "claimed" && (
        <form
          class="toolbar"
          onSubmit={(e) => {
            e.preventDefault();
            const decision = (e.submitter as HTMLButtonElement | null)?.value ?? "";
            void run(client().decideReview(it.endpoint, it.request_id, { decision, reason }));
          }}
        >
          <label>
            Reason
            <input value={reason} onInput={(e) => setReason(e.currentTarget.value)} required />
          </label>
          {it.decisions.map((d) => (
            <button key={d} type="submit" value={d}>
              {d}
            </button>
          ))}
        </form>
      )}
      {error !== undefined && <ErrorBox error={error} />}
    </div>
  );
}

/** Decision records, and the human review queue for reviewers: list, claim, decide. */
export function ReviewPage(): JSX.Element {
  const canReview = useCan("reviewer");
  const [items, reload] = useAsync(
    () => (canReview ? client().listReviews({ limit: 200 }) : Promise.resolve([])),
    [canReview],
  );
  const [decisions] = useAsync(() => client().searchDecisions({ max_results: 50 }), []);
  return (
    <>
      <PageTitle>Review and decisions</PageTitle>
      <h2>Review queue</h2>
      {!canReview ? (
        <p class="muted">The review queue needs the reviewer role.</p>
      ) : (
        <Loaded a={items}>
          {(list) =>
            list.length === 0 ? (
              <Empty>The queue is empty: an endpoint's review rules send decisions here (docs/review.md).</Empty>
            ) : (
              <div class="scroll-x" tabIndex={0}>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Queued</th>
                      <th scope="col">Endpoint</th>
                      <th scope="col">Entity</th>
                      <th scope="col" class="num">
                        Score
                      </th>
                      <th scope="col">Model decision</th>
                      <th scope="col">Why queued</th>
                      <th scope="col">Status</th>
                      <th scope="col">Action</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.map((it) => (
                      <tr key={`${it.endpoint}/${it.request_id}`}>
                        <td>{fmtTime(it.queued_at)}</td>
                        <td>{it.endpoint}</td>
                        <td>{it.entity_id ?? it.request_id}</td>
                        <td class="num">{fmtNum(it.score)}</td>
                        <td>{it.model_decision}</td>
                        <td>{it.reasons.join("; ")}</td>
                        <td>
                          {it.status}
                          {it.claimed_by !== null ? ` (${it.claimed_by})` : ""}
                        </td>
                        <td>
                          <ReviewActions item={it} onDone={reload} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </Loaded>
      )}
      <h2>Latest decision records</h2>
      <Loaded a={decisions}>
        {(page) =>
          page.decisions.length === 0 ? (
            <Empty>
              No decisions recorded yet: every prediction an endpoint serves is recorded (docs/decisions.md).
            </Empty>
          ) : (
            <div class="scroll-x" tabIndex={0}>
              <table>
                <thead>
                  <tr>
                    <th scope="col" class="num">
                      Seq
                    </th>
                    <th scope="col">Time</th>
                    <th scope="col">Endpoint</th>
                    <th scope="col">Model</th>
                    <th scope="col" class="num">
                      Score
                    </th>
                    <th scope="col">Decision</th>
                    <th scope="col">Route</th>
                  </tr>
                </thead>
                <tbody>
                  {page.decisions.map((d) => (
                    <tr key={d.seq}>
                      <td class="num">{d.seq}</td>
                      <td>{fmtTime(d.time)}</td>
                      <td>{d.endpoint}</td>
                      <td>
                        {d.model_name} v{d.model_version}
                      </td>
                      <td class="num">{fmtNum(d.score)}</td>
                      <td>{d.decision}</td>
                      <td>{d.route}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
    </>
  );
}
