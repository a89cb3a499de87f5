import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES } from "./fixtures.js";
import { fixture, openStack, post, serve, type Served, type Stack } from "./harness.js";

let stack: Stack;
let served: Served;
beforeAll(async () => {
  stack = await openStack();
  const v = await stack.register("loans", "xgb_binary.json");
  await stack.registry.setAlias("loans", "champion", v);
  served = await serve(stack, { inferenceLog: stack.stores.servingInferenceLog });
});
afterAll(async () => {
  await served.close();
  await stack.close();
});

describe("registry writes under inference load on one SQLite file", () => {
  it("creates every model version while predictions are logged: no request fails", async () => {
    const f = fixture("xgb_binary.json");
    const answers: { status: number; body: unknown }[] = [];
    // Eight clients predicting and two registering at once, each sending its next request when
    // the last is answered: the writes meet the inference log's writer on every batch.
    const predictor = async (k: number) => {
      for (let i = k; i < 240; i += 8) {
        answers.push(await post(`${served.url}/api/keel/endpoints/loans/predict`, [f.row(i % 200)]));
      }
    };
    const registrar = async (name: string) => {
      for (let i = 0; i < 20; i++) {
        answers.push(
          await post(`${served.url}/api/2.0/mlflow/model-versions/create`, {
            name,
            source: path.join(FIXTURES, "xgb_binary.json"),
          }),
        );
      }
    };
    await Promise.all([...Array.from({ length: 8 }, (_, k) => predictor(k)), registrar("fraud"), registrar("churn")]);
    expect(answers).toHaveLength(280);
    const failed = answers.filter((a) => a.status !== 200).map((a) => `${a.status} ${JSON.stringify(a.body)}`);
    expect(failed).toEqual([]);
    const versions = await stack.registry.searchModelVersions({ filter: "name = 'fraud'" });
    expect(versions.items.map((v) => Number(v.version)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    await served.serving.stop();
    const verified = await stack.stores.decisions.verify();
    expect(verified).toMatchObject({ ok: true, records: 240 });
    expect((await stack.stores.audit.verifyAuditChain()).ok).toBe(true);
  });
});
