import type { Clock } from "../runtime/index.js";
import { DataIntegrityError, NotFoundError } from "../errors.js";
import { appendAudit } from "./audit.js";
import type { MetadataDb } from "./metadata-db.js";
import type { ServingEndpointTable } from "./schema.js";

/**
 * Serving endpoints created through the API (`PUT /api/keel/endpoints/{name}`), kept in the
 * metadata database so a restart — or another replica — serves them too. The store keeps the
 * endpoint document as it was accepted; serving validates and resolves it.
 */
export interface StoredEndpoint {
  readonly name: string;
  readonly model: string;
  /** The endpoint's traffic-policy document (JSON), as sent to the API. */
  readonly document: unknown;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface EndpointStore {
  /** Insert or replace; appends an audit row (`serving_endpoint.put`) in the same transaction. */
  put(endpoint: { name: string; model: string; document: unknown }, actor?: string): Promise<StoredEndpoint>;
  /** Remove; NotFoundError when absent. Appends an audit row (`serving_endpoint.delete`). */
  delete(name: string, actor?: string): Promise<void>;
  list(): Promise<readonly StoredEndpoint[]>;
}

function toStored(row: ServingEndpointTable): StoredEndpoint {
  let document: unknown;
  try {
    document = JSON.parse(row.document);
  } catch (cause) {
    throw new DataIntegrityError(`serving endpoint ${row.name}: stored document is not readable JSON`, { cause });
  }
  return {
    name: row.name,
    model: row.model,
    document,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** The endpoint store on the metadata database (SQLite or PostgreSQL), migrated to 0011 or later. */
export function createEndpointStore(metadata: MetadataDb, options: { clock?: Clock } = {}): EndpointStore {
  const clock = options.clock ?? Date.now;
  return {
    put(endpoint, actor = "anonymous") {
      return metadata.transaction(async (t) => {
        const now = clock();
        const document = JSON.stringify(endpoint.document);
        const before = await t
          .selectFrom("serving_endpoint")
          .selectAll()
          .where("name", "=", endpoint.name)
          .executeTakeFirst();
        if (before === undefined) {
          await t
            .insertInto("serving_endpoint")
            .values({ name: endpoint.name, model: endpoint.model, document, created_at: now, updated_at: now })
            .execute();
        } else {
          await t
            .updateTable("serving_endpoint")
            .set({ model: endpoint.model, document, updated_at: now })
            .where("name", "=", endpoint.name)
            .execute();
        }
        await appendAudit(
          t,
          {
            actor,
            action: "serving_endpoint.put",
            targetType: "serving_endpoint",
            targetId: endpoint.name,
            ...(before !== undefined ? { before: JSON.parse(before.document) as unknown } : {}),
            after: endpoint.document,
          },
          now,
          metadata.chainKeyring?.current,
        );
        return {
          name: endpoint.name,
          model: endpoint.model,
          document: JSON.parse(document) as unknown,
          createdAt: before === undefined ? now : Number(before.created_at),
          updatedAt: now,
        };
      });
    },
    delete(name, actor = "anonymous") {
      return metadata.transaction(async (t) => {
        const before = await t.selectFrom("serving_endpoint").selectAll().where("name", "=", name).executeTakeFirst();
        if (before === undefined)
          throw new NotFoundError(`serving endpoint ${JSON.stringify(name)} is not a stored endpoint`);
        await t.deleteFrom("serving_endpoint").where("name", "=", name).execute();
        await appendAudit(
          t,
          {
            actor,
            action: "serving_endpoint.delete",
            targetType: "serving_endpoint",
            targetId: name,
            before: JSON.parse(before.document) as unknown,
          },
          clock(),
          metadata.chainKeyring?.current,
        );
      });
    },
    async list() {
      const rows = await metadata.query((db) =>
        db.selectFrom("serving_endpoint").selectAll().orderBy("name").execute(),
      );
      return rows.map(toStored);
    },
  };
}
