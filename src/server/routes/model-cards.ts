import { UnavailableError } from "../../errors.js";
import {
  CARD_FORMATS,
  CARD_TEXT_FIELDS,
  buildModelCard,
  loadModelCard,
  renderModelCard,
  saveModelCard,
  setCardText,
  type CardFormat,
  type CardTextField,
  type ModelCardSources,
} from "../../pipeline/index.js";
import { specError } from "../../spec-fields.js";
import type { RoutePlugin } from "../app-deps.js";
import { Input } from "../input.js";
import { actorOf } from "./mlflow-common.js";

type VersionParams = { name: string; version: string };

const CONTENT_TYPES: Record<CardFormat, string> = {
  json: "application/json; charset=utf-8",
  md: "text/markdown; charset=utf-8",
  html: "text/html; charset=utf-8",
};

/**
 * Model cards (docs/model-cards.md): `POST …/card` generates a version's card from the registry,
 * the training run, the artifact and the audit log, and keeps it with the version (writer; the
 * body may set `intended_use` and `limitations` first); `GET …/card?format=json|md|html` reads the
 * kept card (reader).
 */
export const modelCardRoutes: RoutePlugin = (app, { stores, clock }) => {
  const sources = (): ModelCardSources => {
    const { artifacts, audit } = stores;
    if (artifacts === undefined || audit === undefined) {
      throw new UnavailableError("model cards: this server has no artifact store or audit log configured");
    }
    return {
      registry: stores.registry,
      tracking: stores.tracking,
      artifacts,
      audit: (q) => audit.list(q),
      ...(clock !== undefined ? { clock } : {}),
    };
  };

  app.post<{ Params: VersionParams }>("/api/keel/models/:name/versions/:version/card", async (req) => {
    const input = Input.of(req);
    const { name, version } = req.params;
    const s = sources();
    const actor = actorOf(req);
    const texts: Partial<Record<CardTextField, string>> = {};
    for (const field of CARD_TEXT_FIELDS) {
      const value = input.string(field);
      if (value !== undefined) texts[field] = value;
    }
    // Refuse an unknown version before recording anything on it.
    await s.registry.getModelVersion(name, version);
    await setCardText(s.registry, name, version, texts, actor);
    const card = await buildModelCard(s, name, version);
    const { sha256 } = await saveModelCard(s, card, actor);
    return { card, sha256 };
  });

  app.get<{ Params: VersionParams }>("/api/keel/models/:name/versions/:version/card", async (req, reply) => {
    const format = Input.of(req).string("format") ?? "json";
    if (!(CARD_FORMATS as readonly string[]).includes(format)) {
      throw specError("format", format, `must be one of ${CARD_FORMATS.join(", ")}`);
    }
    const card = await loadModelCard(sources(), req.params.name, req.params.version);
    if (format === "json") return { card };
    return reply.type(CONTENT_TYPES[format as CardFormat]).send(renderModelCard(card, format as CardFormat));
  });
};
