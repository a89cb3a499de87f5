import type { JSX } from "preact";
import type { ModelCardGateJson, ModelCardJson, ModelVersionJson } from "../../../src/client/index.js";
import { client } from "../api.js";
import { KeyValues, Loaded, fmtNum, useAsync } from "../ui.js";

type Behaviour = ModelCardJson["behaviourTests"][number];

interface Checks {
  readonly gates: readonly ModelCardGateJson[];
  readonly behaviour: readonly Behaviour[];
  readonly card: ModelCardJson | undefined;
}

/** The pipeline's step runs keep gates.json and behaviour.json; a model card, when made, has both too. */
async function loadChecks(v: ModelVersionJson): Promise<Checks> {
  const card = await client()
    .getModelCard(v.name, v.version)
    .catch((e: unknown) => {
      if ((e as { code?: string }).code === "RESOURCE_DOES_NOT_EXIST") return undefined;
      throw e;
    });
  if (card !== undefined) return { gates: card.gates, behaviour: card.behaviourTests, card };
  if (v.run_id === undefined || v.run_id === "") return { gates: [], behaviour: [], card };
  const run = await client().getRun(v.run_id);
  const children =
    (
      await client().searchRuns({
        experiment_ids: [run.info.experiment_id],
        filter: `tags.mlflow.parentRunId = '${v.run_id.replaceAll("'", "''")}'`,
        max_results: 100,
      })
    ).runs ?? [];
  const read = async <T,>(step: string, file: string): Promise<T[]> => {
    const child = children.find((c) => c.data.tags?.some((t) => t.key === "keel.step" && t.value === step));
    const root = (child?.info.artifact_uri ?? "").replace(/^mlflow-artifacts:\/*/, "");
    if (child === undefined || root === "") return [];
    const bytes = await client()
      .downloadArtifact(`${root}/${file}`)
      .catch(() => undefined);
    return bytes === undefined ? [] : (JSON.parse(new TextDecoder().decode(bytes)) as T[]);
  };
  const [gates, behaviour] = await Promise.all([
    read<ModelCardGateJson>("gates", "gates.json"),
    read<Behaviour>("behaviour", "behaviour.json"),
  ]);
  return { gates, behaviour, card };
}

function Verdict(props: { passed: boolean; skipped?: boolean }): JSX.Element {
  if (props.skipped === true) return <span class="muted">skipped</span>;
  return props.passed ? <span class="ok">✔ passed</span> : <span class="bad">✘ failed</span>;
}

/** Gate and behaviour-test results of a version, and its model card when one was made. */
export function VersionChecks(props: { version: ModelVersionJson }): JSX.Element {
  const v = props.version;
  const [checks] = useAsync(() => loadChecks(v), [v.name, v.version]);
  return (
    <Loaded a={checks}>
      {(c) => (
        <>
          <h3>Gates</h3>
          {c.gates.length === 0 ? (
            <p class="muted">No gate results recorded for this version.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Gate</th>
                  <th scope="col">Result</th>
                  <th scope="col" class="num">
                    Observed
                  </th>
                  <th scope="col" class="num">
                    Threshold
                  </th>
                  <th scope="col">Message</th>
                </tr>
              </thead>
              <tbody>
                {c.gates.map((g) => (
                  <tr key={g.gate}>
                    <td>{g.gate}</td>
                    <td>
                      <Verdict passed={g.passed} skipped={g.skipped} />
                    </td>
                    <td class="num">{fmtNum(g.observed)}</td>
                    <td class="num">
                      {g.comparator} {fmtNum(g.threshold)}
                    </td>
                    <td>{g.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h3>Behaviour tests</h3>
          {c.behaviour.length === 0 ? (
            <p class="muted">No behaviour tests recorded for this version.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Test</th>
                  <th scope="col">Feature</th>
                  <th scope="col">Result</th>
                  <th scope="col" class="num">
                    Checked
                  </th>
                  <th scope="col" class="num">
                    Violations
                  </th>
                </tr>
              </thead>
              <tbody>
                {c.behaviour.map((b) => (
                  <tr key={`${b.test}:${b.feature}`}>
                    <td>{b.test}</td>
                    <td>{b.feature}</td>
                    <td>
                      <Verdict passed={b.passed} />
                    </td>
                    <td class="num">{b.checked}</td>
                    <td class="num">{b.violations}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h3>Model card</h3>
          {c.card === undefined ? (
            <p class="muted">
              No model card yet:{" "}
              <code>
                keel models card {v.name} {v.version}
              </code>{" "}
              makes one.
            </p>
          ) : (
            <KeyValues
              caption="Model card"
              rows={[
                ["Intended use", c.card.intendedUse ?? "—"],
                ["Limitations", c.card.limitations ?? "—"],
                ["Algorithm", c.card.model.algorithm ?? "—"],
                ["Training rows", c.card.trainingData.rows ?? "—"],
                ["Training data sha256", <code key="sha">{c.card.trainingData.sha256 ?? "—"}</code>],
                ...Object.entries(c.card.metrics).map(([k, m]) => [k, fmtNum(m)] as const),
              ]}
            />
          )}
        </>
      )}
    </Loaded>
  );
}
