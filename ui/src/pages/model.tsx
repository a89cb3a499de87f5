import type { JSX } from "preact";
import { useState } from "preact/hooks";
import type { AuditRecordJson, ModelVersionJson, RegisteredModelJson } from "../../../src/client/index.js";
import { client, errorText } from "../api.js";
import { Link, navigate } from "../router.js";
import { ErrorBox, KeyValues, Loaded, PageTitle, fmtTime, useAsync, useCan } from "../ui.js";
import { VersionChecks } from "./model-checks.js";

async function allVersions(name: string): Promise<ModelVersionJson[]> {
  const out: ModelVersionJson[] = [];
  let token: string | undefined;
  do {
    const page = await client().searchModelVersions({
      filter: `name = '${name.replaceAll("'", "''")}'`,
      max_results: 1000,
      ...(token === undefined ? {} : { page_token: token }),
    });
    out.push(...(page.model_versions ?? []));
    token = page.next_page_token === "" ? undefined : page.next_page_token;
  } while (token !== undefined);
  return out.sort((a, b) => Number(b.version) - Number(a.version));
}

function auditLine(r: AuditRecordJson): string {
  const after = (r.after ?? {}) as { alias?: string; version?: string; reason?: string };
  const before = (r.before ?? {}) as { version?: string | null };
  if (after.alias !== undefined) {
    return `${r.action}: ${after.alias} ${before.version ?? "∅"} → ${after.version ?? "∅"}${after.reason === undefined ? "" : ` — “${after.reason}”`}`;
  }
  return r.action;
}

/** Moves an alias with a reason (promotion), or rolls it back; approver and admin only. */
function AliasActions(props: {
  model: RegisteredModelJson;
  versions: readonly ModelVersionJson[];
  onDone: (message: string) => void;
}): JSX.Element {
  const canPromote = useCan("approver");
  const [alias, setAlias] = useState("champion");
  const [version, setVersion] = useState(props.versions[0]?.version ?? "");
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const act = (run: () => Promise<{ alias: string; from_version: string | null; to_version: string }>) => {
    setBusy(true);
    setError(undefined);
    run().then(
      (m) => {
        setBusy(false);
        setReason("");
        props.onDone(`${m.alias}: version ${m.from_version ?? "none"} → ${m.to_version}`);
      },
      (e: unknown) => {
        setBusy(false);
        setError(errorText(e));
      },
    );
  };
  if (!canPromote) {
    return (
      <p class="muted" data-testid="promote-hidden">
        Promoting, rolling back and setting aliases need the approver role.
      </p>
    );
  }
  const name = props.model.name;
  return (
    <form
      class="card"
      aria-label="Move an alias"
      onSubmit={(e) => {
        e.preventDefault();
        act(() => client().promoteModel(name, { version, reason, to: alias }));
      }}
    >
      <div class="toolbar">
        <label>
          Alias
          <input name="alias" value={alias} onInput={(e) => setAlias(e.currentTarget.value)} required />
        </label>
        <label>
          Version
          <select name="version" value={version} onChange={(e) => setVersion(e.currentTarget.value)}>
            {props.versions.map((v) => (
              <option key={v.version} value={v.version}>
                {v.version}
              </option>
            ))}
          </select>
        </label>
        <label class="grow">
          Reason (kept in the audit log)
          <input name="reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} required />
        </label>
        <button type="submit" class="primary" disabled={busy || reason.trim() === ""}>
          Promote
        </button>
        <button
          type="button"
          disabled={busy || reason.trim() === ""}
          onClick={() => act(() => client().rollbackModel(name, { alias, reason }))}
        >
          Roll back {alias}
        </button>
      </div>
      {error !== undefined && <ErrorBox error={error} />}
    </form>
  );
}

function VersionDetail(props: { version: ModelVersionJson }): JSX.Element {
  const v = props.version;
  return (
    <section aria-label={`Version ${v.version}`}>
      <h2>Version {v.version}</h2>
      <KeyValues
        caption="Version"
        rows={[
          ["Aliases", (v.aliases ?? []).join(", ") || "—"],
          ["Stage", v.current_stage],
          ["Status", v.status],
          ["Created", `${fmtTime(v.creation_timestamp)} by ${v.user_id ?? "?"}`],
          ["Artifact sha256", <code key="sha">{v.checksum ?? "—"}</code>],
          ["Source", <code key="src">{v.source}</code>],
          [
            "Training run",
            v.run_id === undefined ? "—" : <Link href={`/runs/${encodeURIComponent(v.run_id)}`}>{v.run_id}</Link>,
          ],
        ]}
      />
      <KeyValues caption="Lineage" rows={Object.entries(v.lineage ?? {}).map(([k, x]) => [k, x] as const)} />
      {v.signature === undefined ? (
        <p class="muted">No signature recorded.</p>
      ) : (
        <div class="scroll-x" tabIndex={0}>
          <table>
            <caption>Signature (inputs)</caption>
            <thead>
              <tr>
                <th scope="col">Column</th>
                <th scope="col">Type</th>
                <th scope="col">Nullable</th>
                <th scope="col">Range or categories</th>
              </tr>
            </thead>
            <tbody>
              {v.signature.inputs.map((c) => (
                <tr key={c.name}>
                  <td>{c.name}</td>
                  <td>{c.type}</td>
                  <td>{c.nullable ? "yes" : "no"}</td>
                  <td>{c.range !== undefined ? `${c.range.min} … ${c.range.max}` : (c.categories ?? []).join(", ")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <VersionChecks version={v} />
    </section>
  );
}

/** A registered model: aliases, versions, one version's detail, alias moves and their audit trail. */
export function ModelPage(props: { params: Record<string, string>; query: URLSearchParams }): JSX.Element {
  const name = props.params.name ?? "";
  const [data, reload] = useAsync(async () => {
    const [model, versions, audit] = await Promise.all([
      client().getRegisteredModel(name),
      allVersions(name),
      client().listAudit({ target_type: "registered_model", target_id: name, limit: 20 }),
    ]);
    return { model, versions, audit };
  }, [name]);
  const [done, setDone] = useState<string>();
  const chosen = props.query.get("version");
  return (
    <>
      <PageTitle>{`Model ${name}`}</PageTitle>
      <p>
        <Link href="/models">← registry</Link> ·{" "}
        <Link href={`/monitoring/${encodeURIComponent(name)}`}>monitoring</Link>
      </p>
      <Loaded a={data}>
        {({ model, versions, audit }) => {
          const shown = versions.find((v) => v.version === chosen) ?? versions[0];
          return (
            <>
              <h2>Aliases</h2>
              <p data-testid="aliases">
                {(model.aliases ?? []).length === 0
                  ? "No aliases."
                  : (model.aliases ?? []).map((a) => (
                      <span class="pill" key={a.alias}>
                        {a.alias} → v{a.version}
                      </span>
                    ))}
              </p>
              <AliasActions
                model={model}
                versions={versions}
                onDone={(m) => {
                  setDone(m);
                  reload();
                }}
              />
              {done !== undefined && (
                <p class="ok" role="status">
                  Done: {done}
                </p>
              )}
              <h2>Audit trail</h2>
              <ul data-testid="audit">
                {audit.map((r) => (
                  <li key={r.seq}>
                    <span class="muted">
                      #{r.seq} {fmtTime(r.time)} {r.actor}
                    </span>{" "}
                    {auditLine(r)}
                  </li>
                ))}
              </ul>
              <h2>Versions</h2>
              <div class="scroll-x" tabIndex={0}>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Version</th>
                      <th scope="col">Aliases</th>
                      <th scope="col">Stage</th>
                      <th scope="col">Created</th>
                      <th scope="col">sha256</th>
                    </tr>
                  </thead>
                  <tbody>
                    {versions.map((v) => (
                      <tr key={v.version} aria-selected={v === shown}>
                        <td>
                          <button
                            type="button"
                            class="link"
                            onClick={() => navigate(`/models/${encodeURIComponent(name)}?version=${v.version}`)}
                          >
                            v{v.version}
                          </button>
                        </td>
                        <td>{(v.aliases ?? []).join(", ")}</td>
                        <td>{v.current_stage}</td>
                        <td>{fmtTime(v.creation_timestamp)}</td>
                        <td>
                          <code>{(v.checksum ?? "").slice(0, 12)}</code>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {shown !== undefined && <VersionDetail version={shown} />}
            </>
          );
        }}
      </Loaded>
    </>
  );
}
