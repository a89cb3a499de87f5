import type { JSX } from "preact";
import { client } from "../api.js";
import { Link } from "../router.js";
import { Empty, Loaded, PageTitle, fmtNum, fmtTime, useAsync } from "../ui.js";

/** The rollout report: each shadow, challenger or canary held against the champion on the same requests. */
export function RolloutPage(props: { params: Record<string, string> }): JSX.Element {
  const model = props.params.model ?? "";
  const [report] = useAsync(() => client().getRolloutReport(model), [model]);
  return (
    <>
      <PageTitle>{`Rollout report: ${model}`}</PageTitle>
      <p>
        <Link href="/endpoints">← endpoints</Link>
      </p>
      <Loaded a={report}>
        {(r) => (
          <>
            <p>
              Champion v{r.champion_version}, {r.champion_requests} requests from {fmtTime(r.from)} to {fmtTime(r.to)};
              α = {r.alpha}, minimum effect {r.min_effect}.
            </p>
            {r.candidates.length === 0 ? (
              <Empty>
                No candidate served next to the champion in this period: set a challenger, shadow or canary on the
                endpoint (docs/serving.md).
              </Empty>
            ) : (
              <div class="scroll-x" tabIndex={0}>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Version</th>
                      <th scope="col">Routes</th>
                      <th scope="col" class="num">
                        Requests
                      </th>
                      <th scope="col" class="num">
                        Agreement
                      </th>
                      <th scope="col" class="num">
                        KS p
                      </th>
                      <th scope="col" class="num">
                        Δ p99 latency
                      </th>
                      <th scope="col" class="num">
                        AUC cand. / champ.
                      </th>
                      <th scope="col">Verdict</th>
                    </tr>
                  </thead>
                  <tbody>
                    {r.candidates.map((c) => (
                      <tr key={c.version}>
                        <td>v{c.version}</td>
                        <td>{c.routes.join(", ")}</td>
                        <td class="num">{c.requests}</td>
                        <td class="num">{fmtNum(c.agreement)}</td>
                        <td class="num">{fmtNum(c.ks_p_value)}</td>
                        <td class="num">{c.latency === null ? "—" : `${fmtNum(c.latency.p99_difference_ms, 2)} ms`}</td>
                        <td class="num">
                          {c.comparison === null
                            ? "—"
                            : `${fmtNum(c.comparison.auc_candidate)} / ${fmtNum(c.comparison.auc_champion)}`}
                        </td>
                        <td>{c.comparison?.verdict ?? "not enough labels"}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </>
        )}
      </Loaded>
    </>
  );
}
