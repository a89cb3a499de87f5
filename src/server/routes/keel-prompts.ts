import {
  createPromptVersion,
  diffPromptVersions,
  getPrompt,
  getPromptVersion,
  listPrompts,
  listPromptVersions,
  promotePromptGated,
  renderTemplate,
} from "../../llm/index.js";
import type { PromptDiffJson, RenderedPromptJson } from "../../wire/index.js";
import type { RoutePlugin } from "../app-deps.js";
import { Input } from "../input.js";
import { promptJson, promptVersionJson, templateJson } from "../llm-json.js";
import { aliasMoveJson } from "../mlflow-json.js";
import { actorOf } from "./mlflow-common.js";
import { approverOf } from "./keel-promotion.js";

/**
 * The prompt registry (`/api/keel/prompts…`, docs/llm.md): prompts are registered models tagged as
 * prompts, so the MLflow routes see them too. Writing a version needs the writer role; moving an
 * alias is a promotion and needs the approver role, like a model's.
 */
export const keelPromptRoutes: RoutePlugin = (app, { stores, llm }) => {
  const registry = stores.registry;
  const writer = { role: "writer" as const };
  const approver = { role: "approver" as const };

  app.post("/api/keel/prompts", { config: writer }, async (req) => {
    const input = Input.of(req);
    const parameters = input.object("parameters");
    const version = await createPromptVersion(
      registry,
      {
        name: input.requiredString("name"),
        template: input.rawValue("template"),
        model: input.string("model"),
        parameters: parameters === undefined ? undefined : (input.rawValue("parameters") as Record<string, unknown>),
        commitMessage: input.requiredString("commit_message"),
      },
      actorOf(req, input.string("user_id")),
    );
    return { prompt_version: promptVersionJson(version) };
  });

  app.get("/api/keel/prompts", async (req) => {
    const input = Input.of(req);
    const page = await listPrompts(registry, {
      maxResults: input.integer("max_results", { min: 1, max: 1000 }),
      pageToken: input.string("page_token"),
    });
    return {
      prompts: page.items.map(promptJson),
      ...(page.nextPageToken === undefined ? {} : { next_page_token: page.nextPageToken }),
    };
  });

  app.get("/api/keel/prompts/:name", async (req) => {
    const name = Input.of(req).requiredString("name");
    const prompt = await getPrompt(registry, name);
    return { prompt: promptJson(prompt), versions: (await listPromptVersions(registry, name)).map(promptVersionJson) };
  });

  app.get("/api/keel/prompts/:name/versions/:ref", async (req) => {
    const input = Input.of(req);
    return {
      prompt_version: promptVersionJson(
        await getPromptVersion(registry, input.requiredString("name"), input.requiredString("ref")),
      ),
    };
  });

  app.get("/api/keel/prompts/:name/diff", async (req): Promise<PromptDiffJson> => {
    const input = Input.of(req);
    const name = input.requiredString("name");
    const d = await diffPromptVersions(registry, name, input.requiredString("from"), input.requiredString("to"));
    return { name, from_version: d.from.version, to_version: d.to.version, lines: d.lines.map((l) => ({ ...l })) };
  });

  app.post(
    "/api/keel/prompts/:name/versions/:ref/render",
    { config: { role: "reader" } },
    async (req): Promise<RenderedPromptJson> => {
      const input = Input.of(req);
      const v = await getPromptVersion(registry, input.requiredString("name"), input.requiredString("ref"));
      input.object("variables");
      const variables = input.rawValue("variables") ?? {};
      return {
        name: v.name,
        version: v.version,
        rendered: templateJson(renderTemplate(v.template, variables as Record<string, unknown>)),
        ...(v.model === undefined ? {} : { model: v.model }),
        parameters: { ...v.parameters },
      };
    },
  );

  app.post("/api/keel/prompts/:name/promote", { config: approver }, async (req) => {
    const input = Input.of(req);
    const name = input.requiredString("name");
    const move = await promotePromptGated(
      { registry },
      {
        name,
        version: input.requiredString("version"),
        alias: input.requiredString("to"),
        approver: approverOf(req, input),
        reason: input.requiredString("reason"),
      },
      {
        ...(llm?.promptGates === undefined ? {} : { promptGates: llm.promptGates }),
        ...(llm?.config?.evalGates === undefined ? {} : { evalGates: llm.config.evalGates }),
      },
    );
    return aliasMoveJson(move, await registry.getModelVersion(name, move.toVersion));
  });
};
