import type { JSX } from "preact";
import type { AuditRecordJson, DecisionJson, ReviewItemJson } from "../../../src/client/index.js";
import { client } from "../api.js";
import { Link } from "../router.js";
import { Empty, KeyValues, Loaded, PageTitle, fmtNum, fmtTime, useAsync, useCan } from "../ui.js";
import { ReviewActions } from "./review-actions.js";

function text(v: unknown): string {
  return v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v);
}

function Inputs(props: { d: DecisionJson }): JSX.Element {
  const names = [...new Set([...Object.keys(props.d.inputs), ...Object.keys(props.d.scored_inputs)])];
  return (
    <div class="scroll-x" tabIndex={0} aria-label="Inputs">
      <table data-testid="inputs">
        <caption>Inputs</caption>
        <thead>
          <tr>
            <th scope="col">Input</th>
            <th scope="col">As received</th>
            <th scope="col">As scored</th>
          </tr>
        </thead>
        <tbody>
          {names.map((n) => (
            <tr key={n}>
              <th scope="row">{n}</th>
              <td>{text(props.d.inputs[n])}</td>
              <td>{text(props.d.scored_inputs[n])}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ReasonCodes(props: { d: DecisionJson }): JSX.Element {
  const reasons = props.d.reasons;
  if (reasons === null || reasons.length === 0) {
    return (
      <p class="muted">
        No reason codes: the endpoint did not explain this decision (<code>explain: {"{ top_k: 3 }"}</code> on the
        endpoint; docs/decisions.md).
      </p>
    );
  }
  return (
    <div class="scroll-x" tabIndex={0} aria-label="Reason codes">
      <table data-testid="reason-codes">
        <caption>Reason codes (largest |contribution| first, log-odds)</caption>
        <thead>
          <tr>
            <th scope="col">Feature</th>
            <th scope="col">Value</th>
            <th scope="col" class="num">
              Contribution
            </th>
          </tr>
        </thead>
        <tbody>
          {reasons.map((r) => (
            <tr key={r.feature}>
              <th scope="row">{r.feature}</th>
              <td>{text(r.value)}</td>
              <td class="num">{fmtNum(r.contribution)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The review's audit rows (claim, decide): who did what, when. */
function ReviewAudit(props: { rows: readonly AuditRecordJson[] }): JSX.Element {
  if (props.rows.length === 0) return <p class="muted">No review action audited yet.</p>;
  return (
    <ul class="review-audit" data-testid="review-audit">
      {props.rows.map((r) => (
        <li key={r.seq}>
          {fmtTime(r.time)} · {r.actor} · {r.action} <code>{text(r.after)}</code>{" "}
          <Link href={`/audit?target_id=${encodeURIComponent(r.target_id)}`}>audit row {r.seq}</Link>
        </li>
      ))}
    </ul>
  );
}

function Review(props: { d: DecisionJson; item: ReviewItemJson | undefined; onDone: () => void }): JSX.Element {
  const r = props.d.review;
  if (r === null) return <p class="muted">Not queued for review: the endpoint's review policy did not match it.</p>;
  const rows: [string, string][] = [
    ["Status", r.status],
    ["Answered meanwhile", r.interim_decision],
    ["Claimed by", r.claimed_by ?? ""],
    ["Verdict", r.verdict ?? ""],
    ["Reason", r.verdict_reason ?? ""],
    ["Decided by", r.decided_by ?? ""],
    ["Decided at", fmtTime(r.decided_at)],
    ["Overrode the model", r.overridden === null ? "" : r.overridden ? "yes" : "no"],
  ];
  const target = props.item ?? { ...r, endpoint: props.d.endpoint, request_id: props.d.request_id };
  return (
    <>
      <KeyValues caption="Review" rows={rows} />
      {r.status !== "decided" && <ReviewActions item={target} onDone={props.onDone} />}
    </>
  );
}

function Record(props: { d: DecisionJson; canReview: boolean }): JSX.Element {
  const d = props.d;
  const auditTarget = `${d.endpoint}/${d.request_id}`;
  // A reviewer reads the queue item for its two possible verdicts; others see the record's review.
  const [extra, reload] = useAsync(async () => {
    const [audit, item] = await Promise.all([
      client().listAudit({ target_type: "review_item", target_id: auditTarget, limit: 100 }),
      props.canReview && d.review !== null ? client().getReview(d.endpoint, d.request_id) : undefined,
    ]);
    const [fresh] = d.review === null ? [d] : await client().getDecision(d.request_id);
    return { audit, item, d: fresh ?? d };
  }, [d.request_id, props.canReview]);
  const shown = extra.state === "ok" ? extra.value.d : d;
  const rows: [string, JSX.Element | string][] = [
    ["Time", fmtTime(d.time)],
    ["Caller", d.caller ?? ""],
    ["Endpoint", d.endpoint],
    [
      "Model version",
      <Link href={`/models/${encodeURIComponent(d.model_name)}?version=${encodeURIComponent(d.model_version)}`}>
        {d.model_name} v{d.model_version}
      </Link>,
    ],
    ["Artifact sha256", <code>{d.artifact_sha256 ?? "not recorded"}</code>],
    ["Threshold", fmtNum(d.threshold)],
    ["Score", <span data-testid="score">{fmtNum(d.score, 6)}</span>],
    ["Decision", d.decision ?? ""],
    ["Route", d.fallback === null ? d.route : `${d.route} (${d.fallback})`],
    ["Entity", d.entity_id ?? ""],
    ["Latency", `${fmtNum(d.latency_ms, 2)} ms`],
    ["Chain", <code title={`previous ${d.prev_hash}`}>{`seq ${d.seq} · ${d.hash}`}</code>],
  ];
  return (
    <section aria-label={`Decision ${d.request_id}`}>
      <h2>{d.request_id}</h2>
      <div class="grid2">
        <KeyValues caption="Decision" rows={rows} />
        <div>
          <ReasonCodes d={d} />
          <Inputs d={d} />
        </div>
      </div>
      <h3>Human review</h3>
      <Loaded a={extra}>
        {(x) => (
          <>
            <Review d={shown} item={x.item} onDone={reload} />
            <ReviewAudit rows={x.audit} />
          </>
        )}
      </Loaded>
    </section>
  );
}

/** One request's decision records: inputs, score, reason codes, model version, its review and audit rows. */
export function DecisionPage(props: { params: Record<string, string> }): JSX.Element {
  const id = props.params.request_id ?? "";
  const canReview = useCan("reviewer");
  const [records] = useAsync(() => client().getDecision(id), [id]);
  return (
    <>
      <PageTitle>{`Decision ${id}`}</PageTitle>
      <p>
        <Link href="/decisions">All decision records</Link>
      </p>
      <Loaded a={records}>
        {(list) =>
          list.length === 0 ? (
            <Empty>
              No record of {id}: <code>keel decisions search</code> lists what was recorded.
            </Empty>
          ) : (
            <>
              {list.map((d) => (
                <Record key={d.seq} d={d} canReview={canReview} />
              ))}
            </>
          )
        }
      </Loaded>
    </>
  );
}
