import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyReply, FastifyRequest } from "fastify";
import { NotFoundError } from "../../errors.js";
import type { RoutePlugin } from "../app-deps.js";

/**
 * The UI's client routes (ui/src/main.tsx): each answers with index.html, so a reload or a shared
 * link opens the same page. Only these and the built files are the UI's; every other path is the
 * APIs', with their own 401, 404 and 414.
 */
const PAGES = ["experiments", "runs", "compare", "models", "monitoring", "endpoints", "audit", "review", "decisions"];

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

async function fileIn(dir: string, urlPath: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  const file = path.resolve(dir, "." + decoded);
  // `..` cannot climb out of the directory.
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
 * The web UI at `/`: index.html for the root and every client route, and the built files under
 * `/assets/` (hashed names, cached for a year, immutable). Files are public: the UI asks for a
 * token, the API checks it.
 */
export const uiRoutes: RoutePlugin = (app, deps) => {
  const dir = path.resolve(deps.uiDir ?? defaultUiDir());
  const open = { config: { role: "none" as const } };
  const index = async (_req: FastifyRequest, reply: FastifyReply) => sendIndex(reply, dir);
  app.get("/", open, index);
  app.get("/index.html", open, index);
  for (const page of PAGES) {
    app.get(`/${page}`, open, index);
    app.get(`/${page}/*`, open, index);
  }
  app.get("/assets/*", open, async (req, reply) => {
    const urlPath = req.url.split("?")[0] ?? "/";
    const file = await fileIn(path.join(dir, "assets"), urlPath.slice("/assets".length));
    if (file === undefined) throw new NotFoundError(`no file ${urlPath}`);
    return reply
      .header("cache-control", "public, max-age=31536000, immutable")
      .type(CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream")
      .send(await readFile(file));
  });
};
