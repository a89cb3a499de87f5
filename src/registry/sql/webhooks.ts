import { randomBytes } from "node:crypto";
import { NotFoundError } from "../../errors.js";
import type { RegistryStore, Webhook, WebhookEvent } from "../types.js";
import { checkModelName, type RegistryContext } from "./shared.js";
import { specError } from "../../spec-fields.js";

const EVENTS: readonly WebhookEvent[] = [
  "MODEL_VERSION_CREATED",
  "MODEL_VERSION_ALIAS_CREATED",
  "MODEL_VERSION_ALIAS_DELETED",
  "MODEL_VERSION_STAGE_CHANGED",
];

/** Registry webhooks: the stored subscriptions (delivery is the dispatcher's). */
export function webhookMethods(
  ctx: RegistryContext,
): Pick<RegistryStore, "createWebhook" | "listWebhooks" | "deleteWebhook"> {
  const { db, clock, read, write } = ctx;
  return {
    async createWebhook(input, actor) {
      let url: URL;
      try {
        url = new URL(input.url);
      } catch {
        throw specError("url", input.url, "must be an absolute http(s) URL");
      }
      if (url.protocol !== "http:" && url.protocol !== "https:")
        throw specError("url", input.url, "must use http or https");
      if (input.events.length === 0)
        throw specError("events", input.events, `must list at least one of ${EVENTS.join(", ")}`);
      for (const e of input.events)
        if (!EVENTS.includes(e)) throw specError("events", e, `must be one of ${EVENTS.join(", ")}`);
      if (
        input.secret !== undefined &&
        (typeof input.secret !== "string" || input.secret.length < 8 || input.secret.length > 512)
      ) {
        throw specError("secret", "(hidden)", "must be 8 to 512 characters");
      }
      if (input.secret === undefined && ctx.webhookSecret === undefined) {
        throw specError(
          "secret",
          undefined,
          "is required: give the webhook a secret or configure the server-wide webhook secret (KEEL_WEBHOOK_SECRET)",
        );
      }
      if (input.modelName !== undefined) checkModelName(input.modelName, "model_name");
      return write(actor, async (tx, audit) => {
        const hook = {
          id: randomBytes(8).toString("hex"),
          url: url.toString(),
          events: JSON.stringify([...new Set(input.events)]),
          model_name: input.modelName ?? null,
          secret: input.secret ?? null,
          creation_timestamp: clock(),
        };
        await tx.insertInto("webhooks").values(hook).execute();
        await audit({
          action: "webhook.create",
          targetType: "webhook",
          targetId: hook.id,
          after: { url: hook.url, events: input.events, modelName: input.modelName ?? null },
        });
        return toWebhook(hook);
      });
    },

    async listWebhooks() {
      return read(async () =>
        (await db.selectFrom("webhooks").selectAll().orderBy("creation_timestamp").orderBy("id").execute()).map(
          toWebhook,
        ),
      );
    },

    async deleteWebhook(id, actor) {
      return write(actor, async (tx, audit) => {
        const r = await tx.deleteFrom("webhooks").where("id", "=", id).executeTakeFirst();
        if (Number(r.numDeletedRows) === 0)
          throw new NotFoundError(`webhook with id ${JSON.stringify(id)} does not exist`);
        await audit({ action: "webhook.delete", targetType: "webhook", targetId: id });
      });
    },
  };
}

function toWebhook(h: {
  id: string;
  url: string;
  events: string;
  model_name: string | null;
  creation_timestamp: number;
}): Webhook {
  return {
    id: h.id,
    url: h.url,
    events: JSON.parse(h.events) as WebhookEvent[],
    ...(h.model_name !== null ? { modelName: h.model_name } : {}),
    creationTimestamp: Number(h.creation_timestamp),
  };
}
