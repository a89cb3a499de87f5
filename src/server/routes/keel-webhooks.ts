import type { WebhookEvent } from "../../registry/index.js";
import type { RoutePlugin } from "../app-deps.js";
import { Input } from "../input.js";
import { webhookJson } from "../mlflow-json.js";
import { actorOf } from "./mlflow-common.js";

export const WEBHOOK_EVENTS: readonly WebhookEvent[] = [
  "MODEL_VERSION_CREATED",
  "MODEL_VERSION_ALIAS_CREATED",
  "MODEL_VERSION_ALIAS_DELETED",
  "MODEL_VERSION_STAGE_CHANGED",
];

/** keel's registry webhooks (`/api/keel/webhooks`): admin only, since they send data out. */
export const keelWebhookRoutes: RoutePlugin = (app, { stores }) => {
  const registry = stores.registry;
  const admin = { role: "admin" as const };

  app.get("/api/keel/webhooks", { config: admin }, async () => ({
    webhooks: (await registry.listWebhooks()).map(webhookJson),
  }));

  app.post("/api/keel/webhooks", { config: admin }, async (req) => {
    const input = Input.of(req);
    const events = input.stringList("events").map((e, i) => {
      const one = new Input({ [`events[${i}]`]: e });
      return one.requiredOneOf(`events[${i}]`, WEBHOOK_EVENTS);
    });
    const modelName = input.string("model_name");
    const secret = input.string("secret");
    const webhook = await registry.createWebhook(
      {
        url: input.requiredString("url"),
        events: events.length === 0 ? WEBHOOK_EVENTS : events,
        ...(modelName === undefined || modelName === "" ? {} : { modelName }),
        ...(secret === undefined || secret === "" ? {} : { secret }),
      },
      actorOf(req),
    );
    return { webhook: webhookJson(webhook) };
  });

  app.delete("/api/keel/webhooks/:id", { config: admin }, async (req) => {
    await registry.deleteWebhook(Input.of(req).requiredString("id"), actorOf(req));
    return {};
  });
};
