import { UnavailableError } from "../../errors.js";
import type { AuditRecord } from "../../store/index.js";
import type { AuditRecordJson, AuditVerificationJson, WhoAmIJson } from "../../wire/index.js";
import type { RoutePlugin } from "../app-deps.js";
import { Input } from "../input.js";

function auditRecordJson(r: AuditRecord): AuditRecordJson {
  return {
    seq: r.seq,
    time: r.time,
    actor: r.actor,
    action: r.action,
    target_type: r.targetType,
    target_id: r.targetId,
    before: r.before,
    after: r.after,
    prev_hash: r.prevHash,
    hash: r.hash,
  };
}

/**
 * The audit log, read-only (`/api/keel/audit`, newest first, and `/api/keel/audit/verify`), and
 * `/api/keel/whoami`, which the web UI asks to show the caller's role and hide what it may not do.
 */
export const keelAuditRoutes: RoutePlugin = (app, { stores, config }) => {
  const auditLog = () => {
    if (stores.audit === undefined) throw new UnavailableError("this server has no audit log configured");
    return stores.audit;
  };

  app.get("/api/keel/audit", async (req) => {
    const input = Input.of(req);
    const optional = (field: string) => {
      const v = input.string(field);
      return v === undefined || v === "" ? {} : { [field]: v };
    };
    const beforeSeq = input.integer("before_seq", { min: 1 });
    const limit = input.integer("limit", { min: 1, max: 1000 }) ?? 100;
    const { actor, action, target_type, target_id } = {
      ...optional("actor"),
      ...optional("action"),
      ...optional("target_type"),
      ...optional("target_id"),
    } as Record<string, string | undefined>;
    const rows = await auditLog().list({
      ...(actor === undefined ? {} : { actor }),
      ...(action === undefined ? {} : { action }),
      ...(target_type === undefined ? {} : { targetType: target_type }),
      ...(target_id === undefined ? {} : { targetId: target_id }),
      ...(beforeSeq === undefined ? {} : { beforeSeq }),
      newestFirst: true,
      limit,
    });
    return { records: rows.map(auditRecordJson) };
  });

  app.get("/api/keel/audit/verify", async (): Promise<AuditVerificationJson> => {
    const v = await auditLog().verifyAuditChain();
    return v.ok ? { ok: true, rows: v.rows } : { ok: false, rows: v.rows, broken_at: v.brokenAt, reason: v.reason };
  });

  app.get("/api/keel/whoami", (req): WhoAmIJson => {
    const p = req.principal;
    if (!config.authEnabled || p === undefined) return { auth_enabled: config.authEnabled, name: null, role: "admin" };
    return { auth_enabled: true, name: p.name, role: p.role };
  });
};
