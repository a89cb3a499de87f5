import { afterEach, describe, expect, it } from "vitest";
import {
  createPromptVersion,
  diffPromptVersions,
  getPromptVersion,
  listPrompts,
  listPromptVersions,
  promotePrompt,
} from "../../../src/llm/index.js";
import { postgresStores, sqliteStores, type MakeStores, type TestStores } from "../../store/backends.js";
import { rejected } from "../../keel-error.js";

for (const [backend, make] of [
  ["SQLite", sqliteStores],
  ["PostgreSQL", postgresStores],
] as [string, MakeStores][]) {
  describe(`prompt registry on ${backend}`, () => {
    let t: TestStores | undefined;
    afterEach(async () => {
      await t?.close();
      t = undefined;
    });

    it("stores versions as MLflow 3 prompts, immutable, out of model search unless asked for", async () => {
      t = await make();
      const r = t.stores.registry;
      await r.createModelVersion({ name: "loans", source: "s3://m/1" });
      const v1 = await createPromptVersion(
        r,
        {
          name: "support",
          template: [
            { role: "system", content: "You help {{customer}}." },
            { role: "user", content: "{{question}}" },
          ],
          model: "gpt-4o-mini",
          parameters: { temperature: 0.1, stop: ["\n\n"] },
          commitMessage: "first",
        },
        { userId: "ana" },
      );
      expect(v1).toMatchObject({
        version: "1",
        type: "chat",
        variables: ["customer", "question"],
        commitMessage: "first",
      });
      const v2 = await createPromptVersion(r, {
        name: "support",
        template: "Answer {{question}}",
        commitMessage: "plain",
      });
      expect(v2.version).toBe("2");

      const mv = await r.getModelVersion("support", "1");
      const tags = Object.fromEntries(mv.tags.map((x) => [x.key, x.value]));
      expect(tags["mlflow.prompt.is_prompt"]).toBe("true");
      expect(tags._mlflow_prompt_type).toBe("chat");
      expect(JSON.parse(tags["mlflow.prompt.text"] as string)).toEqual(v1.template);
      expect(JSON.parse(tags._mlflow_prompt_model_config as string)).toEqual({
        model_name: "gpt-4o-mini",
        temperature: 0.1,
        stop_sequences: ["\n\n"],
      });
      expect(mv.description).toBe("first");
      const model = await r.getRegisteredModel("support");
      expect(model.tags).toContainEqual({ key: "mlflow.prompt.is_prompt", value: "true" });

      // Model search leaves prompts out, as MLflow's does; the MLflow client's own exclusion clause works too.
      const names = async (filter?: string) => (await r.searchRegisteredModels({ filter })).items.map((m) => m.name);
      expect(await names()).toEqual(["loans"]);
      expect(await names("tag.`mlflow.prompt.is_prompt` != 'true'")).toEqual(["loans"]);
      expect(await names("tags.`mlflow.prompt.is_prompt` = 'true'")).toEqual(["support"]);
      expect((await r.searchModelVersions({})).items.map((v) => v.name)).toEqual(["loans"]);
      expect((await listPrompts(r)).items.map((p) => p.name)).toEqual(["support"]);
      expect((await listPromptVersions(r, "support")).map((v) => v.version)).toEqual(["2", "1"]);

      // A registered model's name cannot become a prompt.
      const clash = await rejected(createPromptVersion(r, { name: "loans", template: "x", commitMessage: "m" }));
      expect(clash.message).toContain("registered as a model");

      const diff = await diffPromptVersions(r, "support", "1", "2");
      expect(diff.lines.filter((l) => l.op === "+").map((l) => l.text)).toEqual(["Answer {{question}}"]);
      expect(diff.lines.filter((l) => l.op === "-").map((l) => l.text)).toContain("model: gpt-4o-mini");
    });

    it("promotes through the audited, approver-recorded move; a required gate must have passed", async () => {
      t = await make();
      const r = t.stores.registry;
      await createPromptVersion(r, { name: "p", template: "{{x}}", commitMessage: "one" });
      await createPromptVersion(r, { name: "p", template: "{{x}}!", commitMessage: "two" });
      const gates = { production: "eval" };
      await promotePrompt(r, { name: "p", version: "1", alias: "staging", approver: "ana", reason: "try" }, gates);
      const refused = await rejected(
        promotePrompt(r, { name: "p", version: "2", alias: "production", approver: "ana", reason: "go" }, gates),
      );
      expect(refused.code).toBe("INVALID_STATE");
      expect(refused.message).toContain('gate "eval" has no result');
      await r.setModelVersionTag("p", "2", "keel.gate.eval", "failed");
      expect(
        (
          await rejected(
            promotePrompt(r, { name: "p", version: "2", alias: "production", approver: "a", reason: "r" }, gates),
          )
        ).message,
      ).toContain('is "failed"');
      await r.setModelVersionTag("p", "2", "keel.gate.eval", "passed");
      const move = await promotePrompt(
        r,
        { name: "p", version: "2", alias: "production", approver: "bob", reason: "CHG-7" },
        gates,
      );
      expect(move).toMatchObject({ toVersion: "2", actor: "bob", reason: "CHG-7 [gate eval: passed]" });
      expect((await getPromptVersion(r, "p", "production")).version).toBe("2");
      const audit = (await t.stores.audit.list({ targetType: "registered_model", targetId: "p" })).filter((a) =>
        a.action.endsWith("promote"),
      );
      expect(audit.map((a) => [a.actor, a.after])).toEqual([
        ["ana", { alias: "staging", version: "1", reason: "try" }],
        ["bob", { alias: "production", version: "2", reason: "CHG-7 [gate eval: passed]" }],
      ]);
    });
  });
}
