import type { FastifyInstance, FastifyRequest } from "fastify";
import { AuthenticationError, PermissionError } from "../errors.js";
import { ROLES, isRole, roleAllows } from "../store/index.js";
import type { Role } from "../store/index.js";
import { specError } from "../spec-fields.js";
import { basicPrincipal, installPasswordAuth, isBasicAuth, isProbePath } from "./password-auth.js";
import type { PasswordAuthOptions } from "./password-auth.js";

export { ROLES };
export type { Role };

/** Who is calling, once their token checked out. */
export interface Principal {
  readonly tokenId: string;
  readonly name: string;
  readonly role: Role;
  /** `user` when the caller signed in with a username and password (HTTP Basic); a bearer token otherwise. */
  readonly kind?: "token" | "user";
}

/** Looks a presented bearer token up; `undefined` when unknown or revoked. */
export interface TokenVerifier {
  verify(token: string): Promise<Principal | undefined>;
}

export function parseRole(value: string, field = "role"): Role {
  if (!isRole(value)) {
    throw specError(field, value, `must be one of ${ROLES.join(", ")}`);
  }
  return value;
}

export function roleAtLeast(have: Role, need: Role): boolean {
  return roleAllows(have, need);
}

/** Default role of a route: reads need reader, anything that may change state needs writer. */
export function defaultRole(method: string): Role {
  return method === "GET" || method === "HEAD" || method === "OPTIONS" ? "reader" : "writer";
}

/** Stages and aliases that put a model in front of customers: only an approver may move one there. */
export function stageNeedsApprover(stage: string): boolean {
  return stage.toLowerCase() === "production";
}

export function aliasNeedsApprover(alias: string): boolean {
  return alias.toLowerCase() === "champion";
}

/**
 * Version tags that record a gate result or a judge's calibration decide what may be promoted, so
 * writing them needs the approver role, like moving the alias they unlock.
 */
export function tagNeedsApprover(key: string): boolean {
  return key.startsWith("keel.gate.") || key.startsWith("keel.judge.");
}

/** `Authorization: Bearer <token>` → the token, or an error naming what is wrong with the header. */
export function bearerToken(header: string | undefined): string {
  if (header === undefined || header === "") {
    throw new AuthenticationError("authentication required: send the header 'Authorization: Bearer <token>'");
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (m === null || m[1] === undefined) {
    throw new AuthenticationError("Authorization header must be 'Bearer <token>'");
  }
  return m[1];
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** Least role a caller needs for this route when auth is on; default from the method. */
    role?: Role | "none";
  }
  interface FastifyRequest {
    /** Set when auth is on and the caller's token was accepted. */
    principal?: Principal;
    /** Whether auth is on for this server. */
    authEnabled: boolean;
  }
}

/** Throws 403 unless auth is off or the caller holds at least `need`. */
export function requireRole(req: FastifyRequest, need: Role, what: string): void {
  if (!req.authEnabled) return;
  const p = req.principal;
  if (p === undefined) throw new AuthenticationError("authentication required: send 'Authorization: Bearer <token>'");
  if (!roleAtLeast(p.role, need)) {
    throw new PermissionError(`${what} requires role ${need}; token '${p.name}' has role ${p.role}`, {
      details: { required: need, role: p.role },
    });
  }
}

/**
 * When auth is on, every route needs a valid bearer token or, with a user store, a username and
 * password (HTTP Basic), except routes marked `role: "none"` and the probes when `openProbes`;
 * and at least the route's role. Handlers may ask for more (e.g. approver for Production).
 */
export function installAuth(
  app: FastifyInstance,
  enabled: boolean,
  verifier: TokenVerifier | undefined,
  options: PasswordAuthOptions = {},
): void {
  app.decorateRequest("principal", undefined);
  app.decorateRequest("authEnabled", enabled);
  // With auth off no hook is installed: every request (predictions above all) skips an async step.
  if (!enabled) return;
  installPasswordAuth(app, options);
  app.addHook("onRequest", async (req, reply) => {
    // Route-level setting: `app.get(path, { config: { role: "admin" } }, handler)`.
    const role = req.routeOptions.config.role;
    if (role === "none") return;
    if (options.openProbes === true && isProbePath(req.url)) return;
    if (isBasicAuth(req.headers.authorization) || (options.users !== undefined && !req.headers.authorization)) {
      req.principal = await basicPrincipal(req.headers.authorization, options.users, reply);
      // A password user's access to one experiment or model is decided once the body is read.
      if (options.objectAccess?.covers(req) === true) return;
      requireRole(req, role ?? defaultRole(req.method), `${req.method} ${req.url.split("?")[0] ?? ""}`);
      return;
    }
    const need = role ?? defaultRole(req.method);
    const token = bearerToken(req.headers.authorization);
    if (verifier === undefined) throw new AuthenticationError("auth is on but this server has no token store");
    const principal = await verifier.verify(token);
    if (principal === undefined) throw new AuthenticationError("invalid or revoked token");
    req.principal = principal;
    requireRole(req, need, `${req.method} ${req.url.split("?")[0] ?? ""}`);
  });
}
