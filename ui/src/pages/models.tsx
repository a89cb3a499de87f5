import type { JSX } from "preact";
import { client } from "../api.js";
import { Link } from "../router.js";
import { Empty, Loaded, PageTitle, fmtTime, useAsync } from "../ui.js";

/** Registered models (prompts excluded: they have their own registry view), with their aliases. */
export function ModelsPage(): JSX.Element {
  const [models] = useAsync(async () => {
    const page = await client().searchRegisteredModels({ max_results: 1000, order_by: ["name ASC"] });
    return (page.registered_models ?? []).filter(
      (m) => !(m.tags ?? []).some((t) => t.key === "mlflow.prompt.is_prompt" && t.value === "true"),
    );
  }, []);
  return (
    <>
      <PageTitle>Model registry</PageTitle>
      <Loaded a={models}>
        {(list) =>
          list.length === 0 ? (
            <Empty>
              No registered models yet: <code>npx keel quickstart</code> registers one, or{" "}
              <code>keel pipeline run pipeline.json</code> with a <code>register</code> step.
            </Empty>
          ) : (
            <table>
              <caption class="muted">{list.length} models</caption>
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Aliases</th>
                  <th scope="col">Latest version</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {list.map((m) => (
                  <tr key={m.name}>
                    <td>
                      <Link href={`/models/${encodeURIComponent(m.name)}`}>{m.name}</Link>
                    </td>
                    <td>
                      {(m.aliases ?? []).map((a) => (
                        <span class="pill" key={a.alias}>
                          {a.alias} → v{a.version}
                        </span>
                      ))}
                    </td>
                    <td>
                      {(m.latest_versions ?? []).map((v) => v.version).sort((a, b) => Number(b) - Number(a))[0] ?? ""}
                    </td>
                    <td>{fmtTime(m.last_updated_timestamp)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </>
  );
}
