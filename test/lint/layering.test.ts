import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

interface Violation {
  readonly from: string;
  readonly to: string;
  readonly rule: { readonly name: string };
}

// A small src/ tree with one deliberate breach of each rule, and imports the table allows.
const tree: Record<string, string> = {
  "src/errors.ts": "export class KeelError extends Error {}\n",
  "src/data/index.ts": 'export type { Frame } from "./a.js";\n',
  "src/data/a.ts": 'import type { Row } from "./b.js";\nexport type Frame = Row[];\n',
  "src/data/b.ts": 'import type { Frame } from "./a.js";\nexport type Row = { frame?: Frame };\n',
  "src/learn/index.ts": 'export { train } from "./train.js";\n',
  "src/learn/keel-model.ts": "export const format = 1;\n",
  "src/learn/train.ts":
    'import type { Frame } from "../data/index.js";\nimport { KeelError } from "../errors.js";\nimport { format } from "./keel-model.js";\n' +
    "export function train(f: Frame): number {\n  if (f.length === 0) throw new KeelError();\n  return format;\n}\n",
  "src/pipeline/index.ts": 'import { format } from "../learn/keel-model.js";\nexport const used = format;\n',
  "src/server/index.ts": "export interface RunJson { id: string }\n",
  "src/stats/index.ts": 'import type { RunJson } from "../server/index.js";\nexport type Stat = RunJson;\n',
  "src/helpers.ts": 'export { KeelError } from "./errors.js";\n',
  "src/client/index.ts": 'import type { RunJson } from "../server/index.js";\nexport type Run = RunJson;\n',
};

let dir: string;
let violations: Violation[];
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "keel-layering-"));
  writeFileSync(
    path.join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext" }, include: ["src"] }),
  );
  for (const [file, text] of Object.entries(tree)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  const depcruise = spawnSync(
    path.join(REPO, "node_modules/.bin/depcruise"),
    ["src", "--config", path.join(REPO, ".dependency-cruiser.cjs"), "--output-type", "json"],
    { cwd: dir, encoding: "utf8" },
  );
  expect(depcruise.error).toBeUndefined();
  expect(depcruise.stderr).toBe("");
  violations = (JSON.parse(depcruise.stdout) as { summary: { violations: Violation[] } }).summary.violations;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("layering (.dependency-cruiser.cjs, run by npm run lint)", () => {
  it("reports an upward import, a deep import, client→server, a type-only cycle and a file outside the table, and nothing else", () => {
    const found = violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
    expect(found).toEqual([
      "layer-client: src/client/index.ts → src/server/index.ts",
      "layer-stats: src/stats/index.ts → src/server/index.ts",
      "module-not-in-table: src/helpers.ts → src/errors.ts",
      "no-cycles: src/data/a.ts → src/data/b.ts",
      "not-through-index: src/pipeline/index.ts → src/learn/keel-model.ts",
    ]);
  });
});
