import { readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "vite";
import { REPO } from "../cli/helpers.js";

/** Builds the web UI as `npm run build` does, into `outDir`, with Vite's manifest for the size check. */
export async function buildUi(outDir: string): Promise<void> {
  await build({
    configFile: path.join(REPO, "ui/vite.config.ts"),
    logLevel: "error",
    build: { outDir, emptyOutDir: true, manifest: true },
  });
}

interface ManifestChunk {
  readonly file: string;
  readonly imports?: readonly string[];
  readonly css?: readonly string[];
  readonly isEntry?: boolean;
}

/**
 * What the browser downloads to show the first page (`/`, the experiments list): the entry, its
 * static imports and CSS, and the page's own chunk with its imports. Bytes after gzip, per file.
 */
export function firstPageFiles(outDir: string): { file: string; gzipBytes: number }[] {
  const manifest = JSON.parse(readFileSync(path.join(outDir, ".vite/manifest.json"), "utf8")) as Record<
    string,
    ManifestChunk
  >;
  const files = new Set<string>();
  const visit = (key: string) => {
    const chunk = manifest[key];
    if (chunk === undefined) throw new Error(`no chunk ${key} in the UI's manifest`);
    if (files.has(chunk.file)) return;
    files.add(chunk.file);
    for (const css of chunk.css ?? []) files.add(css);
    for (const i of chunk.imports ?? []) visit(i);
  };
  visit("index.html");
  visit("src/pages/experiments.tsx");
  files.add("index.html");
  return [...files].map((file) => ({ file, gzipBytes: gzipSync(readFileSync(path.join(outDir, file))).length }));
}
