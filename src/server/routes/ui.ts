import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyReply } from "fastify";
import { NotFoundError } from "../../errors.js";
import type { RoutePlugin } from "../app-deps.js";

/** Paths that belong to an API: a miss there is the API's 404, never the UI's page. */
const API_PREFIXES = [
  "/api/",
  "/ajax-api/",
  "/v1/",
  "/v2/",
  "/metrics",
  "/health",
  "/version",
  "/ping",
  "/invocations",
  "/get-online-features",
  "/push",
  "/materialize",
];

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>keel</title></head>
<body><h1>keel</h1><p>The web UI is not built in this installation. Run <code>npm run build</code> and restart
<code>keel server</code>; the API is served as usual.</p></body></html>`;

/**
 * Where the built UI is: next to the compiled server (`dist/ui`), or, when the server runs from
 * source, the repository's `dist/ui`.
 */
export function defaultUiDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, "../../ui"), path.resolve(here, "../../../dist/ui")];
  return candidates.find((dir) => existsSync(path.join(dir, "index.html"))) ?? candidates[0]!;
}

export function isApiPath(urlPath: string): boolean {
  return API_PREFIXES.some((p) => urlPath === p.replace(/\/$/, "") || urlPath.startsWith(p));
}

async function fileIn(dir: string, urlPath: string): Promise<string | undefined> {
  const file = path.resolve(dir, "." + decodeURIComponent(urlPath));
  // `..` cannot climb out of the UI's directory.
  if (!file.startsWith(dir + path.sep)) return undefined;
  const s = await stat(file).catch(() => undefined);
  return s?.isFile() === true ? file : undefined;
}

async function sendIndex(reply: FastifyReply, dir: string): Promise<FastifyReply> {
  const html = await readFile(path.join(dir, "index.html")).catch(() => undefined);
  // index.html names the current hashed assets: always revalidated, so a deploy shows at once.
  return reply
    .header("cache-control", "no-cache")
    .type("text/html; charset=utf-8")
    .send(html ?? NOT_BUILT);
}

/**
 * The web UI at `/`: its static files (hashed assets cached for a year, immutable), and
 * index.html for every client route, so a reload or a shared link opens the same page. Paths of
 * the APIs keep their JSON 404; files are public (the UI asks for a token, the API checks it).
 */
export const uiRoutes: RoutePlugin = (app, deps) => {
  const dir = path.resolve(deps.uiDir ?? defaultUiDir());
  app.get("/*", { config: { role: "none" } }, async (req, reply) => {
    const urlPath = req.url.split("?")[0] ?? "/";
    if (isApiPath(urlPath)) throw new NotFoundError(`no endpoint ${req.method} ${urlPath}`);
    if (urlPath === "/" || urlPath === "/index.html") return sendIndex(reply, dir);
    const file = await fileIn(dir, urlPath);
    if (file !== undefined) {
      const type = CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream";
      const hashed = urlPath.startsWith("/assets/");
      return reply
        .header("cache-control", hashed ? "public, max-age=31536000, immutable" : "no-cache")
        .type(type)
        .send(await readFile(file));
    }
    // A missing file (it has an extension) is a 404; anything else is a client route.
    if (path.extname(urlPath) !== "") throw new NotFoundError(`no file ${urlPath}`);
    return sendIndex(reply, dir);
  });
};
