import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { KeelError } from "../../src/errors.js";
import { createRegistryStore } from "../../src/registry/sql-registry-store.js";
import type { RegistryStore } from "../../src/registry/types.js";
import { createWebhookDispatcher, verifyWebhookSignature, type WebhookDelivery } from "../../src/registry/webhooks.js";
import { steppingClock, type MakeStores, type TestStores } from "../store/backends.js";

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KeelError) return e.code;
    throw e;
  }
  return "OK";
}

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A real HTTP receiver on a free port; answers with the queued statuses, then 200. */
async function receiver(
  statuses: number[] = [],
): Promise<{ url: string; got: Received[]; close: () => Promise<void> }> {
  const got: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      got.push({ headers: req.headers, body });
      res.statusCode = statuses.shift() ?? 200;
      res.end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/hook`, got, close: () => new Promise((r) => server.close(() => r())) };
}

/** The RegistryStore contract, run against every backend. */
export function runRegistryStoreSuite(name: string, make: MakeStores): void {
  describe(`RegistryStore on ${name}`, () => {
    let open: TestStores | undefined;
    afterEach(async () => {
      await open?.close();
      open = undefined;
    });
    async function store(): Promise<RegistryStore> {
      open = await make({ clock: steppingClock() });
      return open.stores.registry;
    }

    it("creates, tags, renames, updates, searches and deletes registered models", async () => {
      const r = await store();
      const m = await r.createRegisteredModel("loans", "default risk", [{ key: "team", value: "risk" }]);
      expect(m).toMatchObject({
        name: "loans",
        description: "default risk",
        tags: [{ key: "team", value: "risk" }],
        latestVersions: [],
      });
      expect(await code(r.createRegisteredModel("loans"))).toBe("RESOURCE_ALREADY_EXISTS");
      expect(await code(r.getRegisteredModel("nope"))).toBe("RESOURCE_DOES_NOT_EXIST");
      await r.createModelVersion({
        name: "loans",
        source: "mlflow-artifacts:/0/r1/artifacts/model",
        tags: [{ key: "v", value: "1" }],
      });
      await r.setAlias("loans", "champion", "1");

      const renamed = await r.renameRegisteredModel("loans", "loan-default");
      expect(renamed.aliases).toEqual([{ alias: "champion", version: "1" }]);
      expect((await r.getModelVersion("loan-default", "1")).tags).toEqual([{ key: "v", value: "1" }]);
      expect((await r.aliasHistory("loan-default", "champion")).map((h) => h.version)).toEqual(["1"]);
      expect(await code(r.getRegisteredModel("loans"))).toBe("RESOURCE_DOES_NOT_EXIST");
      expect((await r.updateRegisteredModel("loan-default", "new text")).description).toBe("new text");
      await r.setRegisteredModelTag("loan-default", "team", "credit");
      await r.deleteRegisteredModelTag("loan-default", "team");
      expect((await r.getRegisteredModel("loan-default")).tags).toEqual([]);

      await r.createRegisteredModel("fraud");
      await r.createRegisteredModel("churn");
      await r.setRegisteredModelTag("churn", "domain", "growth");
      const names = async (q: Parameters<RegistryStore["searchRegisteredModels"]>[0]) =>
        (await r.searchRegisteredModels(q)).items.map((x) => x.name);
      expect(await names({})).toEqual(["churn", "fraud", "loan-default"]);
      expect(await names({ filter: "name LIKE 'loan%'" })).toEqual(["loan-default"]);
      expect(await names({ filter: "name ILIKE '%FRAUD%'" })).toEqual(["fraud"]);
      expect(await names({ filter: "tags.domain = 'growth'" })).toEqual(["churn"]);
      expect(await names({ orderBy: ["name DESC"] })).toEqual(["loan-default", "fraud", "churn"]);
      const p1 = await r.searchRegisteredModels({ maxResults: 2 });
      const p2 = await r.searchRegisteredModels({ maxResults: 2, pageToken: p1.nextPageToken });
      expect([...p1.items, ...p2.items].map((x) => x.name)).toEqual(["churn", "fraud", "loan-default"]);
      expect(await code(r.searchRegisteredModels({ filter: "colour = 'red'" }))).toBe("INVALID_PARAMETER_VALUE");

      await r.deleteRegisteredModel("loan-default");
      expect(await code(r.getModelVersion("loan-default", "1"))).toBe("RESOURCE_DOES_NOT_EXIST");
      expect(await names({})).toEqual(["churn", "fraud"]);
    });

    it("numbers versions without reusing deleted numbers and keeps keel's checksum, signature and lineage", async () => {
      const r = await store();
      const sha = "a".repeat(64);
      const v1 = await r.createModelVersion({
        name: "loans",
        source: "mlflow-artifacts:/0/run1/artifacts/model",
        runId: "run1",
        description: "first",
        checksum: sha,
        signature: { columns: [{ name: "income", type: "float64", nullable: false }] } as never,
        lineage: { dataHash: "b".repeat(64), codeVersion: "abc123" },
      });
      expect(v1).toMatchObject({
        name: "loans",
        version: "1",
        status: "READY",
        currentStage: "None",
        runId: "run1",
        checksum: sha,
      });
      expect(v1.signature).toEqual({ columns: [{ name: "income", type: "float64", nullable: false }] });
      expect(v1.lineage).toEqual({ dataHash: "b".repeat(64), codeVersion: "abc123" });
      const v2 = await r.createModelVersion({ name: "loans", source: "s2", runId: "run2" });
      expect(v2.version).toBe("2");
      await r.deleteModelVersion("loans", "2");
      expect(await code(r.getModelVersion("loans", "2"))).toBe("RESOURCE_DOES_NOT_EXIST");
      expect((await r.createModelVersion({ name: "loans", source: "s3" })).version).toBe("3");
      expect((await r.updateModelVersion("loans", "1", "better")).description).toBe("better");
      await r.setModelVersionTag("loans", "1", "validated", "yes");
      expect((await r.getModelVersion("loans", "1")).tags).toEqual([{ key: "validated", value: "yes" }]);
      await r.deleteModelVersionTag("loans", "1", "validated");
      expect((await r.getModelVersion("loans", "1")).tags).toEqual([]);

      const versions = async (filter: string) => (await r.searchModelVersions({ filter })).items.map((v) => v.version);
      // Most recently updated first, as MLflow (version 1 was described and tagged after 3 was made).
      expect(await versions("name = 'loans'")).toEqual(["1", "3"]);
      expect(await versions("run_id = 'run1'")).toEqual(["1"]);
      expect(await versions("run_id IN ('run1', 'run2')")).toEqual(["1"]);
      expect(await code(r.createModelVersion({ name: "loans", source: "" }))).toBe("INVALID_PARAMETER_VALUE");
      expect(await code(r.createModelVersion({ name: "loans", source: "x", checksum: "xyz" }))).toBe(
        "INVALID_PARAMETER_VALUE",
      );
      expect(await code(r.getModelVersion("loans", "one"))).toBe("INVALID_PARAMETER_VALUE");
    });

    it("gives concurrent registrations of one model distinct consecutive numbers", async () => {
      const r = await store();
      const made = await Promise.all(
        Array.from({ length: 8 }, (_, i) => r.createModelVersion({ name: "race", source: `s${i}` })),
      );
      expect(made.map((v) => Number(v.version)).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    });

    it("moves legacy stages, archiving the previous Production version when asked", async () => {
      const r = await store();
      for (let i = 0; i < 3; i++) await r.createModelVersion({ name: "loans", source: `s${i}` });
      await r.transitionStage("loans", "1", "Production", false);
      await r.transitionStage("loans", "2", "production" as never, false);
      expect((await r.getModelVersion("loans", "1")).currentStage).toBe("Production");
      const v3 = await r.transitionStage("loans", "3", "Production", true);
      expect(v3.currentStage).toBe("Production");
      expect((await r.getModelVersion("loans", "1")).currentStage).toBe("Archived");
      expect((await r.getModelVersion("loans", "2")).currentStage).toBe("Archived");
      await r.createModelVersion({ name: "loans", source: "s4" });
      await r.transitionStage("loans", "4", "Staging", true);
      const latest = await r.getLatestVersions("loans");
      expect(latest.map((v) => [v.version, v.currentStage])).toEqual([
        ["2", "Archived"],
        ["3", "Production"],
        ["4", "Staging"],
      ]);
      expect((await r.getLatestVersions("loans", ["Production"])).map((v) => v.version)).toEqual(["3"]);
      expect(await code(r.transitionStage("loans", "4", "Live" as never, false))).toBe("INVALID_PARAMETER_VALUE");
    });

    it("sets, moves and deletes aliases with a history for rollback", async () => {
      const r = await store();
      for (let i = 0; i < 3; i++) await r.createModelVersion({ name: "loans", source: `s${i}` });
      await r.setAlias("loans", "champion", "1", { userId: "ana" });
      await r.setAlias("loans", "champion", "2", { userId: "bob" });
      await r.setAlias("loans", "challenger", "3");
      expect((await r.getVersionByAlias("loans", "champion")).version).toBe("2");
      expect((await r.getModelVersion("loans", "2")).aliases).toEqual(["champion"]);
      const history = await r.aliasHistory("loans", "champion");
      expect(history.map((h) => [h.version, h.userId])).toEqual([
        ["2", "bob"],
        ["1", "ana"],
      ]);
      expect(history[0]?.setAt).toBeGreaterThan(history[1]?.setAt ?? Infinity);
      // rollback = point the alias back at the previous version
      await r.setAlias("loans", "champion", history[1]?.version ?? "");
      expect((await r.getVersionByAlias("loans", "champion")).version).toBe("1");
      await r.deleteAlias("loans", "challenger");
      expect(await code(r.getVersionByAlias("loans", "challenger"))).toBe("RESOURCE_DOES_NOT_EXIST");
      expect((await r.getRegisteredModel("loans")).aliases).toEqual([{ alias: "champion", version: "1" }]);
      // deleting a version drops the aliases that pointed at it
      await r.deleteModelVersion("loans", "1");
      expect((await r.getRegisteredModel("loans")).aliases).toEqual([]);
      for (const bad of ["latest", "v3", "V12", "has space"]) {
        expect(await code(r.setAlias("loans", bad, "2")), bad).toBe("INVALID_PARAMETER_VALUE");
      }
      expect(await code(r.setAlias("loans", "champion", "9"))).toBe("RESOURCE_DOES_NOT_EXIST");
    });

    it("posts HMAC-signed webhooks after commit, retries failures, and never blocks the mutation", async () => {
      const clock = steppingClock();
      open = await make({ clock });
      const hook = await receiver([503]);
      const deliveries: WebhookDelivery[] = [];
      const dispatcher = createWebhookDispatcher({
        fetch: globalThis.fetch,
        clock,
        backoffMs: 10,
        onDelivery: (d) => deliveries.push(d),
      });
      const r = createRegistryStore(open.stores.metadata, { clock, webhooks: dispatcher });
      try {
        expect(await code(r.createWebhook({ url: hook.url, events: ["MODEL_VERSION_CREATED"] }))).toBe(
          "INVALID_PARAMETER_VALUE",
        );
        expect(
          await code(r.createWebhook({ url: "ftp://x", events: ["MODEL_VERSION_CREATED"], secret: "s3cret-key" })),
        ).toBe("INVALID_PARAMETER_VALUE");
        expect(await code(r.createWebhook({ url: hook.url, events: ["NOPE" as never], secret: "s3cret-key" }))).toBe(
          "INVALID_PARAMETER_VALUE",
        );
        const w = await r.createWebhook({
          url: hook.url,
          events: [
            "MODEL_VERSION_CREATED",
            "MODEL_VERSION_ALIAS_CREATED",
            "MODEL_VERSION_ALIAS_DELETED",
            "MODEL_VERSION_STAGE_CHANGED",
          ],
          modelName: "loans",
          secret: "s3cret-key",
        });
        expect((await r.listWebhooks()).map((x) => x.id)).toEqual([w.id]);

        await r.createModelVersion({ name: "loans", source: "s1" });
        await r.createModelVersion({ name: "other", source: "s1" });
        await r.setAlias("loans", "champion", "1");
        await r.transitionStage("loans", "1", "Staging", false);
        await r.deleteAlias("loans", "champion");
        await dispatcher.idle();

        // the first delivery got a 503 and was retried
        expect(deliveries.find((d) => d.event === "MODEL_VERSION_CREATED")).toMatchObject({ ok: true, attempts: 2 });
        const events = hook.got.map((g) => JSON.parse(g.body) as { event: string; data: Record<string, unknown> });
        // deliveries run concurrently and the retried one arrives late, so compare as a set
        expect(events.map((e) => e.event).sort()).toEqual([
          "MODEL_VERSION_ALIAS_CREATED",
          "MODEL_VERSION_ALIAS_DELETED",
          "MODEL_VERSION_CREATED",
          "MODEL_VERSION_CREATED",
          "MODEL_VERSION_STAGE_CHANGED",
        ]);
        expect(events.every((e) => e.data.name === "loans")).toBe(true);
        expect(events.find((e) => e.event === "MODEL_VERSION_STAGE_CHANGED")?.data).toMatchObject({
          version: "1",
          from_stage: "None",
          to_stage: "Staging",
        });
        for (const g of hook.got) {
          const ts = Number(g.headers["x-keel-timestamp"]);
          expect(verifyWebhookSignature("s3cret-key", ts, g.body, String(g.headers["x-keel-signature"]))).toBe(true);
          expect(verifyWebhookSignature("wrong-key", ts, g.body, String(g.headers["x-keel-signature"]))).toBe(false);
        }

        // a receiver that is down: the mutation still commits at once; the delivery fails after its retries
        await hook.close();
        await r.createModelVersion({ name: "loans", source: "s2" });
        expect((await r.getModelVersion("loans", "2")).status).toBe("READY");
        await dispatcher.idle();
        expect(deliveries.at(-1)).toMatchObject({ ok: false, attempts: 3 });

        await r.deleteWebhook(w.id);
        expect(await r.listWebhooks()).toEqual([]);
        expect(await code(r.deleteWebhook(w.id))).toBe("RESOURCE_DOES_NOT_EXIST");
      } finally {
        await hook.close().catch(() => undefined);
      }
    });

    it("audits registry mutations in the hash chain", async () => {
      const r = await store();
      await r.createModelVersion({ name: "loans", source: "s1" }, { userId: "ana" });
      await r.setAlias("loans", "champion", "1", { userId: "carol" });
      const rows = (await open?.stores.audit.list({ targetType: "registered_model", targetId: "loans" })) ?? [];
      expect(rows.map((x) => [x.actor, x.action])).toEqual([["carol", "registered_model.set_alias"]]);
      expect(rows[0]?.after).toEqual({ alias: "champion", version: "1" });
      expect((await open?.stores.audit.verifyAuditChain())?.ok).toBe(true);
    });
  });
}
