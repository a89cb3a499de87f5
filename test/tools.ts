import { accessSync, constants } from "node:fs";
import path from "node:path";

/** Tools some tests run to check keel's output the way their users' tools read it. */
const TOOLS = {
  promtool: { candidates: ["promtool"], install: "apt-get install prometheus" },
  chromium: { candidates: ["/usr/bin/chromium", "chromium"], install: "apt-get install chromium" },
  nginx: { candidates: ["/usr/sbin/nginx", "nginx"], install: "apt-get install nginx" },
  "redis-server": { candidates: ["/usr/bin/redis-server", "redis-server"], install: "apt-get install redis-server" },
} as const;

export type TestTool = keyof typeof TOOLS;

export interface ToolCheck {
  /** The executable to run. */
  readonly path: string;
  /** The tool is missing and not required: skip the tests that need it. */
  readonly skip: boolean;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function find(candidate: string): string | undefined {
  if (path.isAbsolute(candidate)) return executable(candidate) ? candidate : undefined;
  return (process.env.PATH ?? "")
    .split(path.delimiter)
    .filter((dir) => dir !== "")
    .map((dir) => path.join(dir, candidate))
    .find(executable);
}

/**
 * Where `tool` is. When it is missing, tests that need it skip with a printed reason on a
 * developer's machine, and fail when KEEL_REQUIRE_TEST_TOOLS=1 (CI, after installing the tools).
 */
export function requireTool(tool: TestTool): ToolCheck {
  const { candidates, install } = TOOLS[tool];
  for (const candidate of candidates) {
    const found = find(candidate);
    if (found !== undefined) return { path: found, skip: false };
  }
  const missing = `${tool} is not installed (${install})`;
  if (process.env.KEEL_REQUIRE_TEST_TOOLS === "1") {
    throw new Error(`${missing}, and KEEL_REQUIRE_TEST_TOOLS=1 requires it`);
  }
  console.warn(`skipping the tests that need ${tool}: ${missing}; KEEL_REQUIRE_TEST_TOOLS=1 makes this a failure`);
  return { path: tool, skip: true };
}
