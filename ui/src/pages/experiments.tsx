import type { JSX } from "preact";
import { client } from "../api.js";
import { Link } from "../router.js";
import { Empty, Loaded, PageTitle, fmtTime, useAsync } from "../ui.js";

/** Every active experiment, newest first; each opens its runs. */
export function ExperimentsPage(): JSX.Element {
  const [experiments] = useAsync(async () => {
    const all = [];
    let pageToken: string | undefined;
    do {
      const page = await client().searchExperiments({
        max_results: 1000,
        order_by: ["creation_time DESC"],
        ...(pageToken === undefined ? {} : { page_token: pageToken }),
      });
      all.push(...(page.experiments ?? []));
      pageToken = page.next_page_token === "" ? undefined : page.next_page_token;
    } while (pageToken !== undefined && all.length < 10_000);
    return all;
  }, []);
  return (
    <>
      <PageTitle>Experiments</PageTitle>
      <Loaded a={experiments}>
        {(list) =>
          list.length === 0 ? (
            <Empty>
              No experiments yet: run <code>npx keel quickstart</code>, or train with{" "}
              <code>keel train --data loans.csv --target default</code>.
            </Empty>
          ) : (
            <table>
              <caption class="muted">{list.length} experiments</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">ID</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last updated</th>
                </tr>
              </thead>
              <tbody>
                {list.map((e) => (
                  <tr key={e.experiment_id}>
                    <td>
                      <Link href={`/experiments/${encodeURIComponent(e.experiment_id)}`}>{e.name}</Link>
                    </td>
                    <td>{e.experiment_id}</td>
                    <td>{fmtTime(e.creation_time)}</td>
                    <td>{fmtTime(e.last_update_time)}</td>
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
