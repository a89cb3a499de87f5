import { createHash } from "node:crypto";
import { readdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { DataIntegrityError, KeelError } from "../../src/errors.js";
import type { ArtifactStore } from "../../src/store/artifacts.js";
import type { MakeStores, TestStores } from "./backends.js";

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KeelError) return e.code;
    throw e;
  }
  return "OK";
}

const enc = (s: string) => new TextEncoder().encode(s);
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

function findFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? findFiles(p) : [p];
  });
}

/** The ArtifactStore contract, run against every metadata backend (the path index lives there). */
export function runArtifactStoreSuite(name: string, make: MakeStores, artifactRoot: (t: TestStores) => string): void {
  describe(`ArtifactStore (file system) with ${name}`, () => {
    let open: TestStores | undefined;
    afterEach(async () => {
      await open?.close();
      open = undefined;
    });
    async function store(): Promise<ArtifactStore> {
      open = await make();
      return open.stores.artifacts;
    }

    it("stores blobs by sha256, once, and reads them back verified", async () => {
      const a = await store();
      const b1 = await a.putBlob(enc("model bytes"));
      expect(b1).toEqual({ sha256: sha("model bytes"), size: 11 });
      // a stream in two chunks hashes to the same blob
      expect(await a.putBlob(Readable.from([enc("model "), enc("bytes")]))).toEqual(b1);
      expect(new TextDecoder().decode(await a.getBlob(b1.sha256))).toBe("model bytes");
      expect(await a.hasBlob(b1.sha256)).toBe(true);
      expect(await a.hasBlob(sha("other"))).toBe(false);
      const root = artifactRoot(open as TestStores);
      expect(findFiles(path.join(root, "blobs"))).toHaveLength(1);
      expect(findFiles(path.join(root, "tmp"))).toHaveLength(0);
      expect(await code(a.getBlob("not-a-sha"))).toBe("INVALID_PARAMETER_VALUE");
      expect(await code(a.getBlob(sha("missing")))).toBe("DATA_LOSS");
    });

    it("refuses a tampered artifact with a clear error", async () => {
      const a = await store();
      await a.putFile("0/run1/artifacts/model.json", enc('{"trees":[]}'));
      const [blob] = findFiles(path.join(artifactRoot(open as TestStores), "blobs"));
      writeFileSync(blob as string, '{"trees":[1]}');
      const err = await a.getFile("0/run1/artifacts/model.json").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataIntegrityError);
      expect((err as Error).message).toContain("0/run1/artifacts/model.json");
      expect((err as Error).message).toContain("checksum mismatch");
    });

    it("keeps a tree of named files with sizes, replaces and deletes them", async () => {
      const a = await store();
      const run = "1/abc/artifacts";
      await a.putFile(`${run}/model/model.json`, enc("{}"));
      await a.putFile(`${run}/model/MLmodel`, enc("flavors: {}\n"));
      await a.putFile(`${run}/metrics.csv`, enc("a,b\n1,2\n"));
      await a.putFile(`${run}/plots/roc/roc.png`, enc("png"));
      await a.putFile("1/abd/artifacts/x.txt", enc("sibling run"));
      expect(await a.list(run)).toEqual([
        { path: `${run}/model`, isDir: true },
        { path: `${run}/plots`, isDir: true },
        { path: `${run}/metrics.csv`, isDir: false, fileSize: 8 },
      ]);
      expect(await a.list(`${run}/model/`)).toEqual([
        { path: `${run}/model/MLmodel`, isDir: false, fileSize: 12 },
        { path: `${run}/model/model.json`, isDir: false, fileSize: 2 },
      ]);
      expect(await a.list("")).toEqual([{ path: "1", isDir: true }]);
      expect(await a.list("no/such/dir")).toEqual([]);
      await a.putFile(`${run}/metrics.csv`, enc("a\n"));
      expect(new TextDecoder().decode(await a.getFile(`${run}/metrics.csv`))).toBe("a\n");
      expect(await a.statFile(`${run}/metrics.csv`)).toEqual({ sha256: sha("a\n"), size: 2 });
      // a LIKE wildcard in a name matches only itself
      await a.putFile("1/a_c/artifacts/y.txt", enc("y"));
      expect((await a.list("1")).map((e) => e.path)).toEqual(["1/a_c", "1/abc", "1/abd"]);
      expect(await a.deletePath(`${run}/model`)).toBe(2);
      expect(await code(a.getFile(`${run}/model/model.json`))).toBe("RESOURCE_DOES_NOT_EXIST");
      expect(await code(a.deletePath(`${run}/model`))).toBe("RESOURCE_DOES_NOT_EXIST");
    });

    it("refuses paths that could leave the store", async () => {
      const a = await store();
      for (const bad of ["../etc/passwd", "a/../../b", "/abs/path", "a//b", "./a", "a\\..\\b", "C:/x", "a/\0/b", ""]) {
        expect(await code(a.putFile(bad, enc("x"))), JSON.stringify(bad)).toBe("INVALID_PARAMETER_VALUE");
        expect(await code(a.getFile(bad)), JSON.stringify(bad)).toBe("INVALID_PARAMETER_VALUE");
      }
      expect(await code(a.list("../"))).toBe("INVALID_PARAMETER_VALUE");
    });
  });
}
