import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AuthenticationError } from "../errors.js";
import type { Role } from "../store/index.js";

/** Checks a username and password (HTTP Basic); `undefined` for an unknown user or a wrong password. */
export interface PasswordVerifier {
  authenticate(
    username: string,
    password: string,
  ): Promise<{ readonly username: string; readonly role: Role } | undefined>;
}

/** Per-object permissions of password users on MLflow routes (see object-permissions.ts). */
export interface ObjectAccess {
  /** Whether this route's access is decided per object (experiment, run, registered model). */
  covers(req: FastifyRequest): boolean;
  /** Throws 403 unless the signed-in user's permission on the request's object allows the route. */
  check(req: FastifyRequest): Promise<void>;
  /**
   * After a successful response: e.g. the creator of an experiment gets MANAGE on it, a search
   * drops what the user may not read. Returns the payload to send.
   */
  after(req: FastifyRequest, status: number, payload: unknown): Promise<unknown>;
}

export interface PasswordAuthOptions {
  readonly users?: PasswordVerifier;
  /** Probes and `/metrics` answer without credentials (the default; off with `probesRequireAuth`). */
  readonly openProbes?: boolean;
  readonly objectAccess?: ObjectAccess;
}

/** Load balancers and Prometheus call these without credentials, as MLflow leaves `/health` open. */
const PROBE_PATHS = [
  /^\/ping$/,
  /^\/health$/,
  /^\/version$/,
  /^\/metrics$/,
  /^\/v2\/health\/(live|ready)$/,
  /^\/v2\/models\/[^/]+(\/versions\/[^/]+)?\/ready$/,
];

export function isProbePath(url: string): boolean {
  const path = url.split("?")[0] ?? "";
  return PROBE_PATHS.some((p) => p.test(path));
}

export function isBasicAuth(header: string | undefined): boolean {
  return header !== undefined && /^Basic\s/i.test(header);
}

/** `Basic base64(user:password)` → its parts, or an error naming what is wrong with the header. */
export function basicCredentials(header: string): { username: string; password: string } {
  const m = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  const decoded = m?.[1] === undefined ? "" : Buffer.from(m[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0) throw new AuthenticationError("Authorization header must be 'Basic base64(username:password)'");
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The signed-in user, or 401 with `WWW-Authenticate: Basic` so clients know to send a password. */
export async function basicPrincipal(
  header: string | undefined,
  users: PasswordVerifier | undefined,
  reply: FastifyReply,
): Promise<{ tokenId: string; name: string; role: Role; kind: "user" }> {
  reply.header("WWW-Authenticate", 'Basic realm="keel"');
  if (header === undefined || header === "") {
    throw new AuthenticationError(
      "authentication required: send 'Authorization: Basic base64(username:password)' or 'Authorization: Bearer <token>'",
    );
  }
  if (users === undefined) throw new AuthenticationError("this server has no users; sign in with a bearer token");
  const { username, password } = basicCredentials(header);
  const user = await users.authenticate(username, password);
  if (user === undefined) throw new AuthenticationError("invalid username or password");
  reply.removeHeader("WWW-Authenticate");
  return { tokenId: `user:${user.username}`, name: user.username, role: user.role, kind: "user" };
}

/** Hooks that apply password users' per-object permissions once the request body is parsed. */
export function installPasswordAuth(app: FastifyInstance, options: PasswordAuthOptions): void {
  const access = options.objectAccess;
  if (access === undefined) return;
  app.addHook("preHandler", async (req) => {
    if (req.principal?.kind === "user" && access.covers(req)) await access.check(req);
  });
  app.addHook("onSend", async (req, reply, payload) => {
    if (req.principal?.kind === "user" && reply.statusCode < 300) return access.after(req, reply.statusCode, payload);
    return payload;
  });
}
