import fc from "fast-check";
import { execFileSync } from "node:child_process";
import { deserialize } from "node:v8";
import { copyFileSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readPlainCsvInParallel, readPlainCsvOnWorker } from "../../src/data/csv-parallel.js";
import { sortEachColumn } from "../../src/data/sort.js";
import { parseCsvPart, readPlainCsv } from "../../src/data/csv-reader.js";
import { readTable } from "../../src/data/index.js";
import type { Frame } from "../../src/data/index.js";
import { REPO_ROOT, ensureBuilt } from "../built.js";

const dir = mkdtempSync(join(tmpdir(), "keel-csv-"));

/** A Frame as plain data, with -0 and NaN spelled out so toEqual tells them apart. */
function plain(f: Frame): unknown {
  const arr = (a: ArrayLike<number>) => Array.from(a, (v) => (Object.is(v, -0) ? "-0" : Number.isNaN(v) ? "NaN" : v));
  return {
    nRows: f.nRows,
    columns: f.columns.map((c) => ({
      ...c,
      ...(c.kind === "numeric" ? { values: arr(c.values) } : { codes: arr(c.codes) }),
      ...(c.valid === undefined ? {} : { valid: arr(c.valid) }),
    })),
  };
}

/** The Frame DuckDB reads: the same bytes under a .tsv name, which readTable always gives DuckDB (it sniffs the comma). */
async function viaDuckdb(path: string): Promise<Frame> {
  const tsv = path.replace(/\.csv$/, ".tsv");
  copyFileSync(path, tsv);
  return readTable(tsv, { format: "csv" });
}

let fileNo = 0;
function csvFile(text: string | Buffer): string {
  const path = join(dir, `f${fileNo++}.csv`);
  writeFileSync(path, text);
  return path;
}

describe("readPlainCsv", () => {
  const same: [string, string | Buffer][] = [
    ["numbers, nulls and text", "id,amount,flag,city\nA1,10,yes,Oslo\nA2,,no,\nA3,2.5,yes,Rome\n"],
    [
      "quoted fields: commas, doubled quotes, newlines, quoted numbers, quoted empty",
      'a,b,c\n"1","x,""y""",""\n2,"p\nq",z\n',
    ],
    ["CRLF line ends and no final newline", "a,b\r\n1,u\r\n2,v"],
    ["a byte-order mark", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("a,b\n1,x\n")])],
    ["an all-empty column is text", "a,b\n1,\n2,\n"],
    ["text after numbers makes the column text", "a,b\n1,5\n2,hello\n3,7\n"],
    ["integer -0 is 0 (BIGINT), in a DOUBLE column it stays -0", "a,b,c\n-0,-0,x\n1,0.5,y\n"],
    [
      "digits past exactness, exponents, big integers",
      "a,b\n12345678901234567890,0.1234567890123456789\n-9007199254740993,3.0e-5\n1e300,-2.5E-310\n",
    ],
    ["UTF-8 text, repeated", "a,b\n1,é\n2,日本\n3,é\n4,日本\n"],
    ["all text", "a,b\nx,y\nz,w\n"],
    ["NA is text", "a,b\n1,NA\n2,3\n"],
    ["text with spaces kept", "a,b\n1,x \n3, y\n"],
    // Records the one-pass path takes, mixed with ones it hands to splitRecord.
    [
      "plain records between empty, quoted, exponent and 16-digit fields",
      'a,b,c\n1.5,x,-0\n,y,2\n-0.0,"z",3\n1e2,x,4\n1234567890.123456,w,5\n-12.25,v,-7\n7.25,u,8\n',
    ],
    ["plain records with CRLF line ends", "a,b,c\r\n1.5,x,-3\r\n2,y,0.25\r\n-0.5,z,7\r\n"],
    [
      "an identifier in order, then a repeat and a value out of order",
      "id,v\nA1,1\nA2,2\nA3,3\nA2,4\nA0,5\nA3,6\nA4,7\n",
    ],
    ["identifiers in order that are prefixes of each other", "id,v\nA,1\nAB,2\nABC,3\nB,4\nAB,5\n"],
  ];
  for (const [what, text] of same) {
    it(`reads as DuckDB does: ${what}`, async () => {
      const path = csvFile(text);
      const fast = readPlainCsv(path);
      expect(fast).toBeDefined();
      expect(plain(fast as Frame)).toEqual(plain(await viaDuckdb(path)));
    });
  }

  const declined: [string, string][] = [
    ["leading zeros (DuckDB keeps them as text)", "a,b\n007,1\n8,2\n"],
    ["padded numbers", "a,b\n1, 2\n3,4 \n"],
    ["a date column", "a,b\n1,2024-01-05\n2,2024-02-01\n"],
    ["a header that could be data", "a,2020\n1,2\n"],
    ["semicolons", "a;b\n1;2\n"],
    ["ragged rows", "a,b\n1,2\n3\n"],
    ["single-quoted fields", "a,b\n1,'x'\n"],
    ["backslash escapes", 'a,b\n1,"x\\"y"\n'],
  ];
  for (const [what, text] of declined) {
    it(`leaves to DuckDB: ${what}`, async () => {
      const path = csvFile(text);
      expect(readPlainCsv(path)).toBeUndefined();
      // And the caller's reading still works.
      await expect(readTable(path)).resolves.toBeDefined();
    });
  }

  it("skipIdentifiers: leaves out text columns of a distinct value in every row, and names them", () => {
    const rows = Array.from({ length: 30 }, (_, i) => {
      const id = `u${(i * 7) % 30}`; // distinct, not in order
      const repeated = i === 29 ? "u0" : id; // one repeat
      const withNull = i === 3 ? "" : id; // one empty
      return [id, repeated, withNull, String(1000 + i), i % 2 === 0 ? "a" : "b"].join(",");
    });
    const path = csvFile(["id,repeated,with_null,number_id,kind", ...rows].join("\n") + "\n");
    const all = readPlainCsv(path) as Frame;
    const skipped = readPlainCsv(path, { skipIdentifiers: true }) as Frame;
    expect(skipped.identifiers).toEqual(["id"]);
    expect(plain({ nRows: skipped.nRows, columns: skipped.columns })).toEqual(
      plain({ nRows: all.nRows, columns: all.columns.filter((c) => c.name !== "id") }),
    );
    expect(all.identifiers).toBeUndefined();
    // Fewer rows than an identifier needs: kept.
    const few = rows.slice(0, 19).map((r) => r.split(",").slice(0, 2).join(","));
    expect(
      (readPlainCsv(csvFile(["id,v", ...few].join("\n") + "\n"), { skipIdentifiers: true }) as Frame).identifiers,
    ).toBeUndefined();
  });

  it("leaves bytes that are not UTF-8 to DuckDB, in a value seen once or repeated", () => {
    const bad = Buffer.from([0x78, 0xff, 0x79]);
    for (const rows of [1, 3]) {
      const lines = Array.from({ length: rows }, (_, i) =>
        Buffer.concat([Buffer.from(`${i},`), bad, Buffer.from("\n")]),
      );
      expect(readPlainCsv(csvFile(Buffer.concat([Buffer.from("a,b\n1,ok\n"), ...lines])))).toBeUndefined();
    }
  });

  it("reads the repository's CSV fixtures as DuckDB does", async () => {
    const files = [
      "test/fixtures/data",
      "test/fixtures/drift",
      "test/fixtures/learn",
      "test/fixtures/evaluate",
    ].flatMap((d) =>
      readdirSync(d)
        .filter((f) => f.endsWith(".csv"))
        .map((f) => join(d, f)),
    );
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) {
      const copy = csvFile(Buffer.from(await import("node:fs").then((fs) => fs.readFileSync(f))));
      const fast = readPlainCsv(copy);
      expect(fast, f).toBeDefined();
      expect(plain(fast as Frame), f).toEqual(plain(await viaDuckdb(copy)));
    }
  });

  it("reads generated tables of numbers, text and nulls as DuckDB does", async () => {
    const cell = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => String(v)),
      fc.integer({ min: -1e6, max: 1e6 }).map(String),
      fc.constantFrom("", "RENT", "own", 'say "hi"', "a,b", "ü", "x\ny"),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(cell, cell, cell), { minLength: 1, maxLength: 40 }), async (rows) => {
        const quote = (v: string) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
        const path = csvFile(["p,q,r", ...rows.map((r) => r.map(quote).join(","))].join("\n") + "\n");
        const fast = readPlainCsv(path);
        if (fast === undefined) return;
        expect(plain(fast)).toEqual(plain(await viaDuckdb(path)));
      }),
      { numRuns: 40 },
    );
  });

  it("grows past its first size guess and across read blocks", async () => {
    const n = 450_000;
    const lines = ["id,v,s"];
    for (let i = 0; i < n; i++)
      lines.push(`${i % 7 === 0 ? `"r${i}"` : `r${i}`},${(i * 0.37).toFixed(3)},${i % 3 === 0 ? "" : `k${i % 5}`}`);
    const path = csvFile(lines.join("\n") + "\n");
    const fast = readPlainCsv(path);
    expect(fast?.nRows).toBe(n);
    expect(plain(fast as Frame)).toEqual(plain(await viaDuckdb(path)));
  });

  describe("in two halves", () => {
    // The second half parsed on this thread: the same merge as with a worker.
    const inThread = (path: string, range: { start: number; end: number }) =>
      Promise.resolve(parseCsvPart(path, range, []));
    const table = (n: number, row: (i: number) => string) =>
      csvFile(["id,v,s", ...Array.from({ length: n }, (_, i) => row(i))].join("\n") + "\n");

    it("merges numbers, nulls and dictionaries (values new in the second half too) as one pass reads them", async () => {
      const path = table(
        300_000,
        (i) => `r${i},${i % 11 === 0 ? "" : (i / 7).toFixed(4)},${i < 150_000 ? `a${i % 3}` : `b${i % 4}`}`,
      );
      const halves = await readPlainCsvInParallel(path, inThread);
      expect(halves?.nRows).toBe(300_000);
      expect(plain(halves as Frame)).toEqual(plain(readPlainCsv(path) as Frame));
    });

    it("reads the file whole when the halves meet inside a quoted field", async () => {
      // Every line end in the middle of the file is inside one long quoted field.
      const rows = Array.from({ length: 100_000 }, (_, i) => `r${i},${i},x`);
      const quoted = `q,1,"${"line\n".repeat(200_000)}end"`;
      const path = csvFile(["id,v,s", ...rows, quoted, ...rows].join("\n") + "\n");
      const frame = await readPlainCsvInParallel(path, inThread);
      expect(frame?.nRows).toBe(200_001);
      expect(plain(frame as Frame)).toEqual(plain(readPlainCsv(path) as Frame));
    });

    it("reads a column as text when only the second half holds text", async () => {
      const path = table(300_000, (i) => `r${i},${i < 299_990 ? String(i) : "many"},k`);
      const frame = await readPlainCsvInParallel(path, inThread);
      const v = frame?.columns[1];
      if (v?.kind !== "categorical") throw new Error("v is not text");
      // (DuckDB's sniffer, which samples the first 20,480 rows, refuses this file.)
      expect(v.dictionary.length).toBe(299_991);
      expect(v.dictionary[v.codes[299_995] as number]).toBe("many");
      expect(v.dictionary[v.codes[12_345] as number]).toBe("12345");
      expect(plain(frame as Frame)).toEqual(plain(readPlainCsv(path) as Frame));
    });
  });

  describe("whole on another thread", () => {
    // The worker's readPlainCsv run on this thread.
    const inThread = (path: string) => Promise.resolve(readPlainCsv(path));
    const table = (n: number, row: (i: number) => string) =>
      csvFile(["id,v,s", ...Array.from({ length: n }, (_, i) => row(i))].join("\n") + "\n");

    it("gives the worker's Frame; a failed worker and a small file read on this thread", async () => {
      const big = table(300_000, (i) => `r${i},${i % 11 === 0 ? "" : (i / 7).toFixed(4)},k${i % 5}`);
      let ran = 0;
      const counted = (path: string) => {
        ran++;
        return inThread(path);
      };
      expect(plain((await readPlainCsvOnWorker(big, {}, counted)) as Frame)).toEqual(plain(readPlainCsv(big) as Frame));
      expect(ran).toBe(1);
      const failed = await readPlainCsvOnWorker(big, {}, () => {
        ran++;
        return Promise.reject(new Error("worker exited"));
      });
      expect(ran).toBe(2);
      expect(plain(failed as Frame)).toEqual(plain(readPlainCsv(big) as Frame));
      const small = table(10, (i) => `r${i},${i},k`);
      expect(plain((await readPlainCsvOnWorker(small, {}, counted)) as Frame)).toEqual(
        plain(readPlainCsv(small) as Frame),
      );
      expect(ran).toBe(2);
    });

    it("the compiled reader's own worker threads give the same Frames, identifier strings and all", () => {
      ensureBuilt();
      const big = table(300_000, (i) => `r${String(i).padStart(6, "0")},${i % 11 === 0 ? "" : i / 8},k${i % 5}é`);
      // A child process runs dist/, whose workers import the compiled reader; it counts the
      // workers that start and the ones that fail (a failure would fall back to its own thread).
      const script = `
        import { serialize } from "node:v8";
        import { readPlainCsvInParallel, readPlainCsvOnWorker, warmCsvWorker } from ${JSON.stringify(`${REPO_ROOT}/dist/data/csv-parallel.js`)};
        let started = 0;
        const failed = [];
        process.on("worker", (w) => {
          started++;
          w.on("error", (e) => failed.push(String(e)));
        });
        // The first read takes the warm worker: four reads, four workers.
        warmCsvWorker([process.argv[2]]);
        const whole = await readPlainCsvOnWorker(process.argv[2]);
        const sorted = await readPlainCsvOnWorker(process.argv[2], { sorted: true });
        const halves = await readPlainCsvInParallel(process.argv[2]);
        const noIds = await readPlainCsvOnWorker(process.argv[2], { skipIdentifiers: true });
        process.stdout.write(serialize({ whole, sorted, halves, noIds, started, failed }));`;
      // A file, not --input-type=module: workers inherit the flag and would read their source as ESM.
      const file = join(dir, "read-on-workers.mjs");
      writeFileSync(file, script);
      const out = deserialize(execFileSync(process.execPath, [file, big], { maxBuffer: 1 << 28 })) as {
        whole: Frame;
        sorted: Frame;
        halves: Frame;
        noIds: Frame;
        started: number;
        failed: string[];
      };
      expect(out.failed).toEqual([]);
      expect(out.started).toBe(4);
      expect(out.noIds.identifiers).toEqual(["id"]);
      expect(out.noIds.columns.map((c) => c.name)).toEqual(["v", "s"]);
      const here = readPlainCsv(big) as Frame;
      // A few dictionary values first: a diff of 300k-value columns takes minutes to print.
      const heads = (f: Frame) => f.columns.map((c) => (c.kind === "categorical" ? c.dictionary.slice(0, 3) : []));
      for (const f of [out.whole, out.sorted, out.halves]) expect(heads(f)).toEqual(heads(here));
      expect(plain(out.whole)).toEqual(plain(here));
      expect(plain(out.halves)).toEqual(plain(here));
      expect(plain(out.sorted)).toEqual(plain(sortEachColumn(readPlainCsv(big) as Frame)));
    });

    it("a worker is warmed only for a CSV worth a thread, and one no read takes does not keep the process alive", () => {
      ensureBuilt();
      const small = table(10, (i) => `r${i},${i},k`);
      const big = table(300_000, (i) => `r${i},${i},k${i % 5}`);
      const script = `import { warmCsvWorker } from ${JSON.stringify(`${REPO_ROOT}/dist/data/csv-parallel.js`)};
        let started = 0;
        process.on("worker", () => started++);
        // The "worker" event comes a turn of the event loop after the worker is created.
        const turn = () => new Promise((resolve) => setTimeout(resolve, 20));
        warmCsvWorker(["--current", process.argv[2], "missing.csv"]);
        await turn();
        const afterSmall = started;
        warmCsvWorker([process.argv[3]]);
        await turn();
        process.stdout.write(afterSmall + " " + started);`;
      const file = join(dir, "warm-unused.mjs");
      writeFileSync(file, script);
      expect(execFileSync(process.execPath, [file, small, big], { timeout: 10_000, encoding: "utf8" })).toBe("0 1");
    });

    it("sorted: the worker's sorted columns as they come; sorted here when read here", async () => {
      const big = table(300_000, (i) => `r${i},${i % 11 === 0 ? "" : ((i * 7919) % 1000) / 7},k${i % 5}`);
      const expected = plain(sortEachColumn(readPlainCsv(big) as Frame));
      const v = (readPlainCsv(big) as Frame).columns[1];
      if (v?.kind !== "numeric") throw new Error("v");
      // The file's order is not sorted: the check can fail.
      const head = Array.from(v.values.subarray(1, 100));
      expect(head).not.toEqual([...head].sort((a, b) => a - b));
      const sortedBy = (path: string, options: { sorted?: boolean }) =>
        Promise.resolve(options.sorted === true ? sortEachColumn(readPlainCsv(path) as Frame) : readPlainCsv(path));
      expect(plain((await readPlainCsvOnWorker(big, { sorted: true }, sortedBy)) as Frame)).toEqual(expected);
      const failed = await readPlainCsvOnWorker(big, { sorted: true }, () =>
        Promise.reject(new Error("worker exited")),
      );
      expect(plain(failed as Frame)).toEqual(expected);
      expect(plain(await readTable(big, { threads: "this", sortedColumns: true }))).toEqual(expected);
    });
  });
});
