import type { JSX } from "preact";
import { useState } from "preact/hooks";
import type { AuditQueryJson, AuditRecordJson, AuditVerificationJson } from "../../../src/client/index.js";
import { client, errorText } from "../api.js";
import { Empty, ErrorBox, Loaded, PageTitle, fmtTime, useAsync } from "../ui.js";

const PAGE = 100;

function brief(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = JSON.stringify(v);
  return s.length > 160 ? s.slice(0, 159) + "…" : s;
}

/** The filters as the server takes them: the fields filled in, trimmed. */
function queryOf(draft: Record<string, string>): AuditQueryJson {
  const q: AuditQueryJson = {};
  for (const [k, v] of Object.entries(draft)) if (v.trim() !== "") (q as Record<string, string>)[k] = v.trim();
  return q;
}

/** The audit log, newest first, filtered by actor, action and object; the hash chain verified on request. */
export function AuditPage(props: { query: URLSearchParams }): JSX.Element {
  // A link may open the log filtered (`/audit?target_id=…`), as the decision page's audit rows do.
  const [draft, setDraft] = useState(() => {
    const q = (k: string) => props.query.get(k) ?? "";
    return { actor: q("actor"), action: q("action"), target_type: q("target_type"), target_id: q("target_id") };
  });
  const [query, setQuery] = useState<AuditQueryJson>(() => queryOf(draft));
  const [pages, setPages] = useState<number[]>([]);
  const before = pages[pages.length - 1];
  const [rows] = useAsync(
    () => client().listAudit({ ...query, limit: PAGE, ...(before === undefined ? {} : { before_seq: before }) }),
    [JSON.stringify(query), before],
  );
  const [verification, setVerification] = useState<AuditVerificationJson | { error: string }>();
  const field = (key: keyof typeof draft, label: string) => (
    <label>
      {label}
      <input value={draft[key]} onInput={(e) => setDraft({ ...draft, [key]: e.currentTarget.value })} />
    </label>
  );
  return (
    <>
      <PageTitle>Audit log</PageTitle>
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setPages([]);
          setQuery(queryOf(draft));
        }}
      >
        {field("actor", "Actor")}
        {field("action", "Action")}
        {field("target_type", "Object type")}
        {field("target_id", "Object id")}
        <button type="submit">Filter</button>
        <button
          type="button"
          onClick={() =>
            void client()
              .verifyAudit()
              .then(setVerification, (e: unknown) => setVerification({ error: errorText(e) }))
          }
        >
          Verify the chain
        </button>
      </form>
      {verification !== undefined &&
        ("error" in verification ? (
          <ErrorBox error={verification.error} />
        ) : verification.ok ? (
          <p class="ok" role="status">
            Audit log intact: {verification.rows} rows verified.
          </p>
        ) : (
          <p class="bad" role="alert">
            Audit log broken at row {verification.broken_at}: {verification.reason}
          </p>
        ))}
      <Loaded a={rows}>
        {(list: AuditRecordJson[]) =>
          list.length === 0 ? (
            <Empty>
              No audit rows match. Every change made through keel (runs, models, aliases, tokens) is recorded here.
            </Empty>
          ) : (
            <>
              <div class="scroll-x" tabIndex={0}>
                <table>
                  <thead>
                    <tr>
                      <th scope="col" class="num">
                        Seq
                      </th>
                      <th scope="col">Time</th>
                      <th scope="col">Actor</th>
                      <th scope="col">Action</th>
                      <th scope="col">Object</th>
                      <th scope="col">Before → after</th>
                      <th scope="col">Hash</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.map((r) => (
                      <tr key={r.seq}>
                        <td class="num">{r.seq}</td>
                        <td>{fmtTime(r.time)}</td>
                        <td>{r.actor}</td>
                        <td>{r.action}</td>
                        <td>
                          {r.target_type} {r.target_id}
                        </td>
                        <td>
                          <code>{brief(r.before)}</code> → <code>{brief(r.after)}</code>
                        </td>
                        <td>
                          <code title={r.hash}>{r.hash.slice(0, 10)}</code>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <div class="toolbar">
                <button type="button" disabled={pages.length === 0} onClick={() => setPages(pages.slice(0, -1))}>
                  Newer
                </button>
                <button
                  type="button"
                  disabled={list.length < PAGE}
                  onClick={() => setPages([...pages, list[list.length - 1]!.seq])}
                >
                  Older
                </button>
              </div>
            </>
          )
        }
      </Loaded>
    </>
  );
}
