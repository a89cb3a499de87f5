/** Where a model came from: the exact bytes of its data and the commit of the code that trained it. */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { NotFoundError } from "../errors.js";

/** sha256 of a file's bytes, streamed. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  try {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  } catch (cause) {
    throw new NotFoundError(`data file ${file} cannot be read`, { cause, details: { field: "data", value: file } });
  }
  return hash.digest("hex");
}

/**
 * The git commit checked out in `dir` (the pipeline definition's directory), or undefined when
 * `dir` is not inside a git work tree or git is not installed.
 */
export function gitCommit(dir: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile("git", ["rev-parse", "HEAD"], { cwd: dir, timeout: 5000 }, (error, stdout) => {
      const sha = String(stdout).trim();
      resolve(error === null && /^[0-9a-f]{40,64}$/.test(sha) ? sha : undefined);
    });
  });
}
