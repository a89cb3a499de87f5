import { NotFoundError, UnavailableError } from "../../errors.js";
import { decisionJson, decisionQuery, type DecisionStore } from "../../store/index.js";
import type { DecisionPageJson, DecisionsJson, DecisionVerificationJson } from "../../wire/index.js";
import type { RoutePlugin } from "../app-deps.js";
import { Input } from "../input.js";

type RequestIdParams = { request_id: string };

/**
 * Decision records (docs/decisions.md), read-only: one request's records, a search by endpoint,
 * model version, decision, review and time window, paged in chain order, each with its review, and
 * the chain verified. Any authenticated caller (reader
 * and up) may read them; nothing over HTTP changes a record.
 */
export const decisionRoutes: RoutePlugin = (app, { stores }) => {
  const store = (): DecisionStore => {
    if (stores.decisions === undefined) throw new UnavailableError("decisions: this server has no decision store");
    return stores.decisions;
  };

  // Two segments, so no request id (one segment, however encoded) is shadowed by it.
  app.get(
    "/api/keel/decisions/chain/verify",
    { config: { role: "reader" } },
    async (): Promise<DecisionVerificationJson> => {
      const v = await store().verify();
      return v.ok
        ? { ok: true, records: v.records, pruned: v.pruned }
        : { ok: false, records: v.records, broken_at: v.brokenAt, request_id: v.requestId, reason: v.reason };
    },
  );

  app.get<{ Params: RequestIdParams }>(
    "/api/keel/decisions/:request_id",
    { config: { role: "reader" } },
    async (req): Promise<DecisionsJson> => {
      const id = req.params.request_id;
      const records = await store().get(id);
      if (records.length === 0) throw new NotFoundError(`decision ${JSON.stringify(id)} is not recorded`);
      return { decisions: records.map(decisionJson) };
    },
  );

  app.get("/api/keel/decisions", { config: { role: "reader" } }, async (req): Promise<DecisionPageJson> => {
    const input = Input.of(req);
    const text = (field: string) => {
      const v = input.string(field);
      return v === undefined || v === "" ? {} : { [field]: v };
    };
    const maxResults = input.integer("max_results");
    const reviewed = input.boolean("reviewed");
    const query = decisionQuery({
      ...text("endpoint"),
      ...text("model"),
      ...text("model_version"),
      ...text("decision"),
      ...text("from"),
      ...text("to"),
      ...text("page_token"),
      ...(maxResults !== undefined ? { max_results: maxResults } : {}),
      ...(reviewed !== undefined ? { reviewed } : {}),
    });
    const records = await store().search(query);
    const last = records[records.length - 1];
    return {
      decisions: records.map(decisionJson),
      ...(last !== undefined && records.length === query.limit ? { next_page_token: String(last.seq) } : {}),
    };
  });
};
