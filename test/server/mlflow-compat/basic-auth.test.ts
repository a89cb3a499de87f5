import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { http, startTestServer } from "../helpers.js";
import type { TestServer } from "../helpers.js";

/**
 * HTTP Basic users and per-object permissions, as MLflow's auth app (`mlflow/server/auth`) and
 * its tests (`tests/server/auth/test_auth.py`) behave; keel's promotion rule on top.
 */
let server: TestServer;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
const ADMIN = basic("root", "root-password-1");
const ALICE = basic("alice", "alice-password");
const BOB = basic("bob", "bob-password-1");

async function call(method: string, path: string, auth: string | undefined, body?: unknown) {
  const res = await http(
    `${server.url}/api/2.0/mlflow/${path}`,
    method,
    body === undefined ? undefined : JSON.stringify(body),
    auth === undefined ? {} : { authorization: auth },
  );
  return res;
}

beforeAll(async () => {
  server = await startTestServer({ auth: true });
  await server.stores.users.create({ username: "root", password: "root-password-1", role: "admin" });
});
afterAll(async () => {
  await server.close();
});

describe("HTTP Basic sign-in", () => {
  it("test_auth.py::test_authenticate — 401 with WWW-Authenticate without or with wrong credentials", async () => {
    const none = await fetch(`${server.url}/api/2.0/mlflow/experiments/search`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Basic realm="keel"');
    const body = (await none.json()) as { error_code: string };
    expect(body.error_code).toBe("UNAUTHENTICATED");
    const wrong = await call("GET", "experiments/search", basic("root", "not-the-password"));
    expect(wrong.status).toBe(401);
    expect(wrong.json.message).toBe("invalid username or password");
    const unknown = await call("GET", "experiments/search", basic("nobody", "whatever-password"));
    expect(unknown.status).toBe(401);
    const garbled = await call("GET", "experiments/search", "Basic !!!");
    expect(garbled.status).toBe(401);
    expect(garbled.json.message).toBe("Authorization header must be 'Basic base64(username:password)'");
    const ok = await call("GET", "experiments/search", ADMIN);
    expect(ok.status).toBe(200);
  });

  it("leaves /ping, /health, /v2/health/ready and /metrics-style probes reachable without credentials", async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    // Without a model server the probe routes do not exist: 404, never 401.
    expect((await fetch(`${server.url}/ping`)).status).not.toBe(401);
    expect((await fetch(`${server.url}/v2/health/ready`)).status).not.toBe(401);
  });
});

describe("users REST API (mlflow/server/auth/routes.py)", () => {
  it("test_auth.py::test_create_user — an admin creates users; the user's record hides the password", async () => {
    const created = await call("POST", "users/create", ADMIN, { username: "alice", password: "alice-password" });
    expect(created.status).toBe(200);
    const user = created.json.user as Record<string, unknown>;
    expect(user).toMatchObject({
      username: "alice",
      is_admin: false,
      role: "writer",
      experiment_permissions: [],
      registered_model_permissions: [],
    });
    expect(JSON.stringify(created.json)).not.toContain("alice-password");
    await call("POST", "users/create", ADMIN, { username: "bob", password: "bob-password-1", role: "writer" });
    const again = await call("POST", "users/create", ADMIN, { username: "alice", password: "alice-password" });
    expect(again.status).toBe(400);
    expect(again.json.error_code).toBe("RESOURCE_ALREADY_EXISTS");
    const short = await call("POST", "users/create", ADMIN, { username: "carol", password: "short" });
    expect(short.status).toBe(400);
    expect(short.json.message).toBe("password must be at least 8 characters");
  });

  it("test_auth.py::test_create_user_from_non_admin — only an admin creates users", async () => {
    const r = await call("POST", "users/create", ALICE, { username: "mallory", password: "mallory-password" });
    expect(r.status).toBe(403);
    expect(r.json.error_code).toBe("PERMISSION_DENIED");
  });

  it("test_auth.py::test_get_user — a user reads their own record, not another's", async () => {
    expect((await call("GET", "users/get?username=alice", ALICE)).status).toBe(200);
    const other = await call("GET", "users/get?username=bob", ALICE);
    expect(other.status).toBe(403);
    const admin = await call("GET", "users/get?username=bob", ADMIN);
    expect((admin.json.user as { username: string }).username).toBe("bob");
    const missing = await call("GET", "users/get?username=nobody", ADMIN);
    expect(missing.status).toBe(404);
    expect(missing.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
  });

  it("test_auth.py::test_update_user_password — the new password works, the old one stops working", async () => {
    const changed = await call("PATCH", "users/update-password", BOB, { username: "bob", password: "bob-password-2" });
    expect(changed.status).toBe(200);
    expect((await call("GET", "experiments/search", BOB)).status).toBe(401);
    expect((await call("GET", "experiments/search", basic("bob", "bob-password-2"))).status).toBe(200);
    const notYours = await call("PATCH", "users/update-password", ALICE, { username: "bob", password: "hijacked-pw" });
    expect(notYours.status).toBe(403);
    await call("PATCH", "users/update-password", ADMIN, { username: "bob", password: "bob-password-1" });
  });

  it("test_auth.py::test_update_user_admin — admin rights are granted and revoked by an admin", async () => {
    await call("POST", "users/create", ADMIN, { username: "temp", password: "temp-password" });
    expect((await call("PATCH", "users/update-admin", ADMIN, { username: "temp", is_admin: true })).status).toBe(200);
    expect(((await call("GET", "users/get?username=temp", ADMIN)).json.user as { is_admin: boolean }).is_admin).toBe(
      true,
    );
    const bad = await call("PATCH", "users/update-admin", ADMIN, { username: "temp", is_admin: "maybe" });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toBe('is_admin = "maybe": must be true or false');
  });

  it("test_auth.py::test_delete_user — a deleted user can no longer sign in", async () => {
    const temp = basic("temp", "temp-password");
    expect((await call("GET", "experiments/search", temp)).status).toBe(200);
    expect((await call("DELETE", "users/delete", ADMIN, { username: "temp" })).status).toBe(200);
    expect((await call("GET", "experiments/search", temp)).status).toBe(401);
  });
});

describe("per-object permissions (READ, EDIT, MANAGE, NO_PERMISSIONS)", () => {
  let experimentId = "";

  it("test_auth.py::test_create_experiment — the creator manages the experiment; others edit by role", async () => {
    const created = await call("POST", "experiments/create", ALICE, { name: "alice-exp" });
    expect(created.status).toBe(200);
    experimentId = created.json.experiment_id as string;
    const grant = await call("GET", `experiments/permissions/get?experiment_id=${experimentId}&username=alice`, ALICE);
    expect(grant.json.experiment_permission).toMatchObject({ experiment_id: experimentId, permission: "MANAGE" });
    // bob is a writer: he may log runs to it (EDIT by role) but not delete it (MANAGE).
    expect((await call("POST", "runs/create", BOB, { experiment_id: experimentId })).status).toBe(200);
    const del = await call("POST", "experiments/delete", BOB, { experiment_id: experimentId });
    expect(del.status).toBe(403);
    expect(del.json.message).toBe(`user 'bob' holds EDIT on experiment ${experimentId}; delete needs MANAGE`);
  });

  it("validate_can_manage_experiment — only a manager grants; NO_PERMISSIONS hides the experiment", async () => {
    const byBob = await call("POST", "experiments/permissions/create", BOB, {
      experiment_id: experimentId,
      username: "bob",
      permission: "MANAGE",
    });
    expect(byBob.status).toBe(403);
    const byAlice = await call("POST", "experiments/permissions/create", ALICE, {
      experiment_id: experimentId,
      username: "bob",
      permission: "NO_PERMISSIONS",
    });
    expect(byAlice.status).toBe(200);
    expect(byAlice.json.experiment_permission).toMatchObject({ permission: "NO_PERMISSIONS" });
    expect((await call("GET", `experiments/get?experiment_id=${experimentId}`, BOB)).status).toBe(403);
    // filter_search_experiments: searches leave it out for bob, not for its manager.
    const ids = async (auth: string) =>
      (
        (await call("POST", "experiments/search", auth, { max_results: 1000 })).json.experiments as {
          experiment_id: string;
        }[]
      ).map((e) => e.experiment_id);
    expect(await ids(BOB)).not.toContain(experimentId);
    expect(await ids(ALICE)).toContain(experimentId);
    // filter_search_runs: the experiment's runs are left out of bob's run searches too.
    const run = await call("POST", "runs/create", ALICE, { experiment_id: experimentId });
    expect(run.status).toBe(200);
    const runIds = async (auth: string) =>
      (
        (await call("POST", "runs/search", auth, { experiment_ids: [experimentId] })).json.runs as {
          info: { run_id: string };
        }[]
      ).map((r) => r.info.run_id);
    const runId = (run.json.run as { info: { run_id: string } }).info.run_id;
    expect(await runIds(ALICE)).toContain(runId);
    expect(await runIds(BOB)).toEqual([]);
    const dup = await call("POST", "experiments/permissions/create", ALICE, {
      experiment_id: experimentId,
      username: "bob",
      permission: "READ",
    });
    expect(dup.status).toBe(400);
    expect(dup.json.error_code).toBe("RESOURCE_ALREADY_EXISTS");
    const bad = await call("PATCH", "experiments/permissions/update", ALICE, {
      experiment_id: experimentId,
      username: "bob",
      permission: "OWNER",
    });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toBe('permission = "OWNER": must be one of NO_PERMISSIONS, READ, EDIT, MANAGE');
  });

  it("test_auth.py::test_update_experiment_permission — READ lets bob read, not write", async () => {
    await call("PATCH", "experiments/permissions/update", ALICE, {
      experiment_id: experimentId,
      username: "bob",
      permission: "READ",
    });
    expect((await call("GET", `experiments/get?experiment_id=${experimentId}`, BOB)).status).toBe(200);
    const write = await call("POST", "runs/create", BOB, { experiment_id: experimentId });
    expect(write.status).toBe(403);
    await call("DELETE", "experiments/permissions/delete", ALICE, { experiment_id: experimentId, username: "bob" });
    const gone = await call("GET", `experiments/permissions/get?experiment_id=${experimentId}&username=bob`, ALICE);
    expect(gone.status).toBe(404);
    expect((await call("POST", "runs/create", BOB, { experiment_id: experimentId })).status).toBe(200);
  });

  it("runs inherit their experiment's permission (_get_permission_from_run_id)", async () => {
    const run = await call("POST", "runs/create", ALICE, { experiment_id: experimentId });
    const runId = (run.json.run as { info: { run_id: string } }).info.run_id;
    await call("POST", "experiments/permissions/create", ALICE, {
      experiment_id: experimentId,
      username: "bob",
      permission: "READ",
    });
    expect((await call("GET", `runs/get?run_id=${runId}`, BOB)).status).toBe(200);
    const log = await call("POST", "runs/log-metric", BOB, { run_id: runId, key: "auc", value: 0.9, timestamp: 1 });
    expect(log.status).toBe(403);
  });

  it("a reader granted EDIT on one model may register versions of it and of nothing else", async () => {
    await call("POST", "users/create", ADMIN, { username: "rita", password: "rita-password", role: "reader" });
    const RITA = basic("rita", "rita-password");
    await call("POST", "registered-models/create", ALICE, { name: "credit" });
    await call("POST", "registered-models/create", ALICE, { name: "fraud" });
    const before = await call("POST", "model-versions/create", RITA, { name: "credit", source: "s3://b/m" });
    expect(before.status).toBe(403);
    await call("POST", "registered-models/permissions/create", ALICE, {
      name: "credit",
      username: "rita",
      permission: "EDIT",
    });
    expect((await call("POST", "model-versions/create", RITA, { name: "credit", source: "s3://b/m" })).status).toBe(
      200,
    );
    expect((await call("POST", "model-versions/create", RITA, { name: "fraud", source: "s3://b/m" })).status).toBe(403);
    // filter_search_registered_models: a NO_PERMISSIONS grant hides the model from rita's searches.
    await call("POST", "registered-models/permissions/create", ALICE, {
      name: "fraud",
      username: "rita",
      permission: "NO_PERMISSIONS",
    });
    const names = (
      (await call("GET", "registered-models/search?max_results=1000", RITA)).json.registered_models as {
        name: string;
      }[]
    ).map((m) => m.name);
    expect(names).toContain("credit");
    expect(names).not.toContain("fraud");
    // ... and its versions from rita's model-version searches.
    expect((await call("POST", "model-versions/create", ALICE, { name: "fraud", source: "s3://b/f1" })).status).toBe(
      200,
    );
    const versionsOf = async (auth: string) =>
      (
        (await call("GET", "model-versions/search?max_results=1000", auth)).json.model_versions as { name: string }[]
      ).map((v) => v.name);
    expect(await versionsOf(ALICE)).toContain("fraud");
    expect(await versionsOf(RITA)).not.toContain("fraud");
    const record = await call("GET", "users/get?username=rita", RITA);
    expect((record.json.user as { registered_model_permissions: unknown[] }).registered_model_permissions).toEqual([
      expect.objectContaining({ name: "credit", permission: "EDIT" }),
      expect.objectContaining({ name: "fraud", permission: "NO_PERMISSIONS" }),
    ]);
  });

  it("MANAGE does not make a writer an approver: Production and champion stay approver-only", async () => {
    // alice created the model, so she holds MANAGE on it; her role is writer.
    await call("POST", "model-versions/create", ALICE, { name: "credit", source: "s3://b/m2" });
    const prod = await call("POST", "model-versions/transition-stage", ALICE, {
      name: "credit",
      version: "1",
      stage: "Production",
    });
    expect(prod.status).toBe(403);
    expect(prod.json.error_code).toBe("PERMISSION_DENIED");
    const champion = await call("POST", "registered-models/alias", ALICE, {
      name: "credit",
      alias: "champion",
      version: "1",
    });
    expect(champion.status).toBe(403);
    const version = await call("GET", "model-versions/get?name=credit&version=1", ALICE);
    expect((version.json.model_version as { current_stage: string }).current_stage).toBe("None");
    // Staging is not promotion: MANAGE (or EDIT) suffices.
    const staging = await call("POST", "model-versions/transition-stage", ALICE, {
      name: "credit",
      version: "1",
      stage: "Staging",
    });
    expect(staging.status).toBe(200);
    // An approver user may promote.
    await call("POST", "users/create", ADMIN, { username: "ann", password: "ann-password", role: "approver" });
    const byApprover = await call("POST", "registered-models/alias", basic("ann", "ann-password"), {
      name: "credit",
      alias: "champion",
      version: "1",
    });
    expect(byApprover.status).toBe(200);
  });

  it("rename_registered_model_permission — grants follow a renamed model; a bearer-token rename too", async () => {
    await call("POST", "registered-models/create", ALICE, { name: "before-rename" });
    await call("POST", "registered-models/permissions/create", ALICE, {
      name: "before-rename",
      username: "bob",
      permission: "READ",
    });
    await call("POST", "registered-models/rename", ALICE, { name: "before-rename", new_name: "after-rename" });
    const moved = await call("GET", "registered-models/permissions/get?name=after-rename&username=alice", ALICE);
    expect(moved.json.registered_model_permission).toMatchObject({ name: "after-rename", permission: "MANAGE" });
    expect(
      (await call("POST", "model-versions/create", BOB, { name: "after-rename", source: "s3://b/x" })).status,
    ).toBe(403);
    const admin = (await server.stores.tokens.create({ name: "ops", role: "admin" })).token;
    await call("POST", "registered-models/rename", `Bearer ${admin}`, {
      name: "after-rename",
      new_name: "renamed-again",
    });
    const grants = await server.stores.users.listPermissions({
      resource: "registered_model",
      resourceId: "renamed-again",
    });
    expect(grants.map((g) => `${g.username}:${g.permission}`).sort()).toEqual(["alice:MANAGE", "bob:READ"]);
  });

  it("delete_can_manage_registered_model_permission — grants die with the model's name", async () => {
    await call("POST", "registered-models/create", ALICE, { name: "short-lived" });
    expect((await call("DELETE", "registered-models/delete", ALICE, { name: "short-lived" })).status).toBe(200);
    const left = await server.stores.users.listPermissions({ resource: "registered_model", resourceId: "short-lived" });
    expect(left).toEqual([]);
  });

  it("filter_search_experiments / filter_search_registered_models — a page that lost hidden items is refilled", async () => {
    await call("POST", "users/create", ADMIN, { username: "pat", password: "pat-password-1", role: "reader" });
    const PAT = basic("pat", "pat-password-1");
    const hide = async (kind: "experiment" | "model", id: string) =>
      kind === "experiment"
        ? call("POST", "experiments/permissions/create", ALICE, {
            experiment_id: id,
            username: "pat",
            permission: "NO_PERMISSIONS",
          })
        : call("POST", "registered-models/permissions/create", ALICE, {
            name: id,
            username: "pat",
            permission: "NO_PERMISSIONS",
          });
    for (let i = 0; i < 6; i++) {
      const e = await call("POST", "experiments/create", ALICE, { name: `paging-${i}` });
      if ([1, 2, 4].includes(i)) await hide("experiment", e.json.experiment_id as string);
      await call("POST", "registered-models/create", ALICE, { name: `paging-model-${i}` });
      if ([0, 1, 2].includes(i)) await hide("model", `paging-model-${i}`);
    }
    // Walk every page of two as pat: each page but the last is full; every readable object shows once.
    const walk = async (page: (token: string | undefined) => Promise<{ items: string[]; token?: string }>) => {
      const pages: string[][] = [];
      let token: string | undefined;
      do {
        const next = await page(token);
        pages.push(next.items);
        token = next.token;
      } while (token !== undefined && pages.length < 10);
      return pages;
    };
    const experiments = await walk(async (token) => {
      const res = await call("POST", "experiments/search", PAT, {
        filter: "name LIKE 'paging-%'",
        order_by: ["name ASC"],
        max_results: 2,
        ...(token === undefined ? {} : { page_token: token }),
      });
      expect(res.status).toBe(200);
      return {
        items: ((res.json.experiments ?? []) as { name: string }[]).map((e) => e.name),
        ...(typeof res.json.next_page_token === "string" ? { token: res.json.next_page_token } : {}),
      };
    });
    expect(experiments[0]).toEqual(["paging-0", "paging-3"]);
    expect(experiments.flat()).toEqual(["paging-0", "paging-3", "paging-5"]);
    const models = await walk(async (token) => {
      const query = `filter=${encodeURIComponent("name LIKE 'paging-model-%'")}&order_by=${encodeURIComponent("name ASC")}&max_results=2`;
      const res = await call(
        "GET",
        `registered-models/search?${query}${token === undefined ? "" : `&page_token=${token}`}`,
        PAT,
      );
      expect(res.status).toBe(200);
      return {
        items: ((res.json.registered_models ?? []) as { name: string }[]).map((m) => m.name),
        ...(typeof res.json.next_page_token === "string" ? { token: res.json.next_page_token } : {}),
      };
    });
    expect(models[0]).toEqual(["paging-model-3", "paging-model-4"]);
    expect(models.flat()).toEqual(["paging-model-3", "paging-model-4", "paging-model-5"]);
    // Alice, who hides nothing from herself, pages through all six as before.
    const all = await call("POST", "experiments/search", ALICE, { filter: "name LIKE 'paging-%'", max_results: 10 });
    expect((all.json.experiments as unknown[]).length).toBe(6);
  });
});
