import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function newestMtime(p: string): number {
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(p).map((e) => newestMtime(path.join(p, e))));
}

/**
 * For tests of the compiled code (what a user runs, and what worker threads import): `npm install`
 * builds dist/ (the `prepare` script); rebuild here only when src/ is newer.
 */
export function ensureBuilt(): void {
  const main = path.join(REPO_ROOT, "dist/cli/main.js");
  if (existsSync(main) && statSync(main).mtimeMs >= newestMtime(path.join(REPO_ROOT, "src"))) return;
  execFileSync(
    process.execPath,
    [path.join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    { cwd: REPO_ROOT, stdio: "inherit" },
  );
}
