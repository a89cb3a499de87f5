import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { REPO } from "../cli/helpers.js";

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** The nginx configuration docs/deploy.md gives (the block inside nginx's `http { }`). */
export function documentedNginxBlock(): string {
  const doc = readFileSync(path.join(REPO, "docs/deploy.md"), "utf8");
  const m = /```nginx\n([\s\S]*?)```/.exec(doc);
  if (m === null) throw new Error("docs/deploy.md has no nginx block");
  return m[1]!;
}

export interface RunningNginx {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Runs nginx as this user (`-p dir -c conf`, every path in `dir`) with the documented block,
 * its upstream servers replaced by `upstreams` and its `listen` by a free port.
 */
export async function startNginx(nginx: string, dir: string, upstreams: readonly string[]): Promise<RunningNginx> {
  const port = await freePort();
  const block = documentedNginxBlock()
    .replace(/^\s*server \d+\.\d+\.\d+\.\d+:\d+ (.*);$/gm, "")
    .replace(
      /upstream keel \{\n/,
      `upstream keel {\n${upstreams.map((u) => `    server ${u} max_fails=2 fail_timeout=5s;`).join("\n")}\n`,
    )
    .replace(/listen \d+;/, `listen 127.0.0.1:${port};`);
  for (const d of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(path.join(dir, d), { recursive: true });
  const conf = `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${block}
}
`;
  const file = path.join(dir, "nginx.conf");
  writeFileSync(file, conf);
  const child: ChildProcess = spawn(nginx, ["-p", dir, "-c", file], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
    try {
      await fetch(`${url}/health`);
      break;
    } catch {
      if (i > 200) throw new Error(`nginx did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGQUIT");
      await exited;
    },
  };
}
