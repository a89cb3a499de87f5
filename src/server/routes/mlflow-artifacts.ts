import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Readable } from "node:stream";
import { artifactStorePath } from "../../tracking/index.js";
import type { RoutePlugin } from "../app-deps.js";
import { Input } from "../input.js";
import { mlflowRoute } from "./mlflow-common.js";

const PROXY = "/api/2.0/mlflow-artifacts/artifacts";
/** Downloads up to this size are read and verified whole before they are sent. */
const WHOLE_DOWNLOAD_MAX = 16 * 1024 * 1024;
/** The path after the route's prefix; Fastify has already percent-decoded it. */
function wildcard(req: FastifyRequest): string {
  return (req.params as { "*": string })["*"];
}

function baseName(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? p : p.slice(i + 1);
}

/**
 * MLflow's artifact proxy (`mlflow-artifacts:/` URIs resolve to these routes): upload with PUT,
 * download with GET, list a directory, delete; plus the tracking API's `artifacts/list` of a run.
 */
export const mlflowArtifactRoutes: RoutePlugin = async (app, { stores }) => {
  const artifacts = stores.artifacts;
  if (artifacts === undefined) return;

  // Uploads stream straight into the store, whatever their content type (MLflow sends none).
  await app.register((scope: FastifyInstance, _opts, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_req, payload, next) => next(null, payload));
    scope.put(`${PROXY}/*`, async (req) => {
      const body = req.body as Readable | undefined;
      await artifacts.putFile(wildcard(req), body ?? new Uint8Array(0));
      return {};
    });
    done();
  });

  // A small file is verified whole before the first byte goes out, so corruption is a clean
  // DATA_LOSS response; a large one is streamed (never whole in memory) and a corrupted one is cut
  // off before its last bytes, since the stream verifies the checksum before releasing them.
  app.get(`${PROXY}/*`, async (req, reply) => {
    const filePath = wildcard(req);
    reply.type("application/octet-stream");
    if ((await artifacts.statFile(filePath)).size <= WHOLE_DOWNLOAD_MAX) {
      const bytes = await artifacts.getFile(filePath);
      return reply.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }
    const file = await artifacts.getFileStream(filePath);
    return reply.header("content-length", file.size).send(file.stream);
  });

  app.get(PROXY, async (req) => {
    const dir = Input.of(req).string("path") ?? "";
    const entries = await artifacts.list(dir.replace(/^\/+|\/+$/g, ""));
    // MLflow's proxy lists names relative to the directory asked for.
    return {
      files: entries.map((e) =>
        e.isDir
          ? { path: baseName(e.path), is_dir: true }
          : { path: baseName(e.path), is_dir: false, file_size: e.fileSize },
      ),
    };
  });

  app.delete(`${PROXY}/*`, async (req) => {
    await artifacts.deletePath(wildcard(req));
    return {};
  });

  mlflowRoute(app, "GET", "/artifacts/list", async (input) => {
    const run = await stores.tracking.getRun(input.requiredStringOf("run_id", "run_uuid"));
    const root = artifactStorePath(run.info.artifactUri);
    const sub = (input.string("path") ?? "").replace(/^\/+|\/+$/g, "");
    const entries = await artifacts.list(sub === "" ? root : `${root}/${sub}`);
    // The tracking API lists paths relative to the run's artifact root.
    return {
      root_uri: run.info.artifactUri,
      files: entries.map((e) => {
        const rel = e.path.slice(root.length + 1);
        return e.isDir ? { path: rel, is_dir: true } : { path: rel, is_dir: false, file_size: e.fileSize };
      }),
    };
  });
};
