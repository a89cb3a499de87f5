import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { DataIntegrityError, KeelError } from "../../src/errors.js";
import type { ArtifactStore } from "../../src/store/artifacts.js";
import type { ArtifactFixture, BlobProbe } from "./artifact-fixtures.js";

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
const sha = (b: string | Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Reads a stream to its end or its error, keeping the bytes that arrived. */
async function drain(stream: Readable): Promise<{ bytes: Buffer; error: unknown }> {
  const parts: Buffer[] = [];
  try {
    for await (const c of stream) parts.push(c as Buffer);
    return { bytes: Buffer.concat(parts), error: undefined };
  } catch (error) {
    return { bytes: Buffer.concat(parts), error };
  }
}

/** `n` bytes of a fixed pseudo-random sequence (a 32-bit LCG), the same on every run. */
function pseudoRandom(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** The ArtifactStore contract, run against every blob backend and metadata backend (the path index lives there). */
export function runArtifactStoreSuite(name: string, make: () => Promise<ArtifactFixture>): void {
  describe(`ArtifactStore on ${name}`, () => {
    let open: ArtifactFixture | undefined;
    afterEach(async () => {
      await open?.open.close();
      open = undefined;
    });
    async function store(): Promise<{ a: ArtifactStore; probe: BlobProbe }> {
      open = await make();
      return { a: open.open.stores.artifacts, probe: open.probe };
    }

    it("stores blobs by sha256, once, and reads them back verified", async () => {
      const { a, probe } = await store();
      const b1 = await a.putBlob(enc("model bytes"));
      expect(b1).toEqual({ sha256: sha("model bytes"), size: 11 });
      // a stream in two chunks hashes to the same blob
      expect(await a.putBlob(Readable.from([enc("model "), enc("bytes")]))).toEqual(b1);
      // so do two writers of the same bytes at once
      await Promise.all([a.putBlob(enc("model bytes")), a.putBlob(Readable.from([enc("model bytes")]))]);
      expect(new TextDecoder().decode(await a.getBlob(b1.sha256))).toBe("model bytes");
      expect(await a.hasBlob(b1.sha256)).toBe(true);
      expect(await a.hasBlob(sha("other"))).toBe(false);
      expect(await probe.blobs()).toEqual(new Map([[b1.sha256, 11]]));
      expect(await probe.strays()).toEqual([]);
      expect(await code(a.getBlob("not-a-sha"))).toBe("INVALID_PARAMETER_VALUE");
      expect(await code(a.getBlob(sha("missing")))).toBe("DATA_LOSS");
    });

    it("refuses a tampered artifact with a clear error, whole or streamed", async () => {
      const { a, probe } = await store();
      const model = pseudoRandom(300_000);
      const stored = await a.putFile("0/run1/artifacts/model.json", model);
      await probe.overwrite(
        stored.sha256,
        model.map((b, i) => (i === 299_999 ? b ^ 1 : b)),
      );
      const err = await a.getFile("0/run1/artifacts/model.json").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataIntegrityError);
      expect((err as Error).message).toContain("0/run1/artifacts/model.json");
      expect((err as Error).message).toContain("checksum mismatch");
      // A stream fails before it has delivered every byte, so no reader mistakes it for whole.
      const streamed = await drain((await a.getFileStream("0/run1/artifacts/model.json")).stream);
      expect(streamed.error).toBeInstanceOf(DataIntegrityError);
      expect(streamed.bytes.length).toBeLessThan(model.length);
      await probe.remove(stored.sha256);
      const gone = await a.getFile("0/run1/artifacts/model.json").catch((e: unknown) => e);
      expect(gone).toBeInstanceOf(DataIntegrityError);
      expect((gone as Error).message).toContain(`missing from the artifact store ${a.location}`);
      expect(await code(a.getFileStream("0/run1/artifacts/model.json"))).toBe("DATA_LOSS");
    });

    it("streams a large model in and out unchanged (multipart on S3)", async () => {
      const { a, probe } = await store();
      const model = pseudoRandom(12 * 1024 * 1024 + 17);
      const chunks = Array.from({ length: 13 }, (_, i) => model.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024));
      const stored = await a.putFile("2/big/artifacts/model.onnx", Readable.from(chunks));
      expect(stored).toEqual({ sha256: sha(model), size: model.length });
      expect((await probe.blobs()).get(stored.sha256)).toBe(model.length);
      expect(await probe.strays()).toEqual([]);
      const file = await a.getFileStream("2/big/artifacts/model.onnx");
      expect({ sha256: file.sha256, size: file.size }).toEqual(stored);
      const back = await drain(file.stream);
      expect(back.error).toBeUndefined();
      expect(sha(back.bytes)).toBe(stored.sha256);
      expect(Buffer.compare(Buffer.from(await a.getFile("2/big/artifacts/model.onnx")), Buffer.from(model))).toBe(0);
    });

    it("keeps a tree of named files with sizes, replaces and deletes them", async () => {
      const { a } = await store();
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
      expect(await code(a.getFileStream(`${run}/model/model.json`))).toBe("RESOURCE_DOES_NOT_EXIST");
      expect(await code(a.deletePath(`${run}/model`))).toBe("RESOURCE_DOES_NOT_EXIST");
    });

    it("refuses paths that could leave the store", async () => {
      const { a } = await store();
      for (const bad of ["../etc/passwd", "a/../../b", "/abs/path", "a//b", "./a", "a\\..\\b", "C:/x", "a/\0/b", ""]) {
        expect(await code(a.putFile(bad, enc("x"))), JSON.stringify(bad)).toBe("INVALID_PARAMETER_VALUE");
        expect(await code(a.getFile(bad)), JSON.stringify(bad)).toBe("INVALID_PARAMETER_VALUE");
      }
      expect(await code(a.list("../"))).toBe("INVALID_PARAMETER_VALUE");
    });
  });
}
